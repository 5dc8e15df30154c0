// RenderExposition: gzip of the same bytes, series count, and promtool's
// verdict on what we render.
#include <random>

#include <boost/test/unit_test.hpp>
#include <prometheus/text_serializer.h>

#include "fixture.hh"
#include "render/exposition.hh"
#include "render/metrics.hh"

namespace provledger::render {
namespace {

using namespace testing;

BOOST_AUTO_TEST_CASE(gzip_round_trip_equals_text) {
  const Exposition e = RenderExposition(GoldenSnapshot(), ReadProcessStats(), GoldenBuild());
  BOOST_TEST_REQUIRE(e.gzip.size() > 18u);
  BOOST_TEST(static_cast<unsigned char>(e.gzip[0]) == 0x1fu);  // gzip magic
  BOOST_TEST(static_cast<unsigned char>(e.gzip[1]) == 0x8bu);
  BOOST_TEST(e.gzip.size() < e.text.size());
  BOOST_TEST(Gunzip(e.gzip) == e.text);
}

BOOST_AUTO_TEST_CASE(gzip_handles_empty_and_large_inputs) {
  BOOST_TEST(Gunzip(GzipCompress("")).empty());
  std::string big;
  std::mt19937 rng(42);
  for (int i = 0; i < 3'000'000; ++i) big.push_back(static_cast<char>(rng()));  // incompressible
  const std::string z = GzipCompress(big);
  BOOST_TEST(z.size() > big.size() / 2);
  BOOST_TEST(Gunzip(z) == big);
}

BOOST_AUTO_TEST_CASE(series_counts_sample_lines) {
  compute::Snapshot s;
  s.divergence = {{"a", 1}, {"b", 2}};                      // 2
  s.latency_bounds_ms = {5, 10};
  s.anchor_latency[{"eu", "a"}] = Hist({1, 1}, 0, 10);      // 2 buckets + +Inf + sum + count = 5
  // + tenants, tenants_dropped, state_write_errors, pending_operations,
  //   window_operations, held_receipts, build_info = 7
  const Exposition e = RenderExposition(s, ProcessStats{}, GoldenBuild());
  BOOST_TEST(e.series == 14u);
}

// The health families (and process_*) must pass promtool's lint as they are,
// including source names that need escaping and UTF-8.
BOOST_AUTO_TEST_CASE(promtool_accepts_health_and_process_families) {
  compute::Snapshot s = GoldenSnapshot();
  s.sources[1].name = "we\\ird \"src\"\nline-Z\xC3\xBCrich";
  const auto families = RenderFamilies(s, ReadProcessStats(), GoldenBuild());
  std::vector<prometheus::MetricFamily> health;
  for (const auto& f : families) {
    if (f.name.rfind("provledger_exporter_", 0) == 0 || f.name.rfind("process_", 0) == 0) {
      health.push_back(f);
    }
  }
  BOOST_TEST(health.size() == 25u);  // 15 health + 4 evidence API + 6 process
  const std::string text = prometheus::TextSerializer().Serialize(health);
  const auto r = RunPromtool(text);
  BOOST_TEST(r.exit_code == 0, "promtool said:\n" << r.output << "\non:\n" << text);
  BOOST_TEST(r.output.empty(), r.output);
}

// The whole exposition parses; the only lint findings are the seed's
// contract names, which we keep on purpose (a counter without _total, a
// millisecond histogram).
BOOST_AUTO_TEST_CASE(promtool_parses_the_whole_exposition) {
  const Exposition e = RenderExposition(GoldenSnapshot(), ReadProcessStats(), GoldenBuild());
  const auto r = RunPromtool(e.text);
  BOOST_TEST((r.exit_code == 0 || r.exit_code == 3), "promtool exit " << r.exit_code << ":\n" << r.output);
  for (const auto& l : Lines(r.output)) {
    if (l.empty()) continue;
    const bool known = l.rfind("attest_divergence_count ", 0) == 0 ||
                       l.rfind("ledger_anchor_latency_ms ", 0) == 0;
    BOOST_TEST(known, "unexpected promtool finding: " << l);
  }
}

// promtool really does reject a broken exposition (so the checks above can fail).
BOOST_AUTO_TEST_CASE(promtool_rejects_garbage) {
  const auto r = RunPromtool("foo{a=\"b} 1\n");
  BOOST_TEST(r.exit_code != 0);
}

}  // namespace
}  // namespace provledger::render
