// Golden test: the hand-built snapshot renders to exactly golden.prom. Any
// change of a name, label, bucket, HELP text or omission rule fails here.
// To accept an intended change: PROVLEDGER_UPDATE_GOLDEN=1 rewrites the file
// (the test still fails that run, so an update is never silent), then review
// the diff.
#include <cstdlib>
#include <fstream>

#include <boost/test/unit_test.hpp>

#include "fixture.hh"
#include "render/exposition.hh"

namespace provledger::render {
namespace {

using namespace testing;

BOOST_AUTO_TEST_CASE(golden_exposition) {
  const Exposition e = RenderExposition(GoldenSnapshot(), GoldenProcess(), GoldenBuild());
  if (const char* update = std::getenv("PROVLEDGER_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(PROVLEDGER_GOLDEN_PATH, std::ios::binary) << e.text;
    BOOST_FAIL("golden file rewritten: " PROVLEDGER_GOLDEN_PATH "; review the diff and rerun");
  }
  const std::string golden = ReadFile(PROVLEDGER_GOLDEN_PATH);
  if (e.text != golden) {
    // Show the first differing line rather than two long strings.
    const auto got = Lines(e.text);
    const auto want = Lines(golden);
    for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
      const std::string g = i < got.size() ? got[i] : "<missing>";
      const std::string w = i < want.size() ? want[i] : "<missing>";
      if (g != w) {
        BOOST_ERROR("line " << (i + 1) << ": got  [" << g << "]\n want [" << w << "]");
        break;
      }
    }
  }
  BOOST_TEST(e.text == golden);
}

// The golden is rendered twice from two separately built snapshots: same
// bytes (no hidden nondeterminism such as unordered maps or clocks).
BOOST_AUTO_TEST_CASE(rendering_is_deterministic) {
  const auto a = RenderExposition(GoldenSnapshot(), GoldenProcess(), GoldenBuild());
  auto shuffled = GoldenSnapshot();
  std::swap(shuffled.sources[0], shuffled.sources[2]);
  std::swap(shuffled.coverage[0], shuffled.coverage[1]);
  const auto b = RenderExposition(shuffled, GoldenProcess(), GoldenBuild());
  BOOST_TEST(a.text == b.text);
  BOOST_TEST(a.gzip == b.gzip);
}

}  // namespace
}  // namespace provledger::render
