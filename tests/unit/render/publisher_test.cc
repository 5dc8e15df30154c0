// Publisher: never empty, swaps whole snapshots, readers always see a
// consistent (snapshot, exposition) pair while a writer publishes.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fixture.hh"
#include "render/publisher.hh"

namespace provledger::render {
namespace {

using namespace testing;

BOOST_AUTO_TEST_CASE(current_before_first_publish_is_the_empty_snapshot) {
  Publisher pub(GoldenBuild());
  const auto cur = pub.Current();
  BOOST_TEST_REQUIRE(cur != nullptr);
  BOOST_TEST(cur->snapshot.sources.empty());
  BOOST_TEST(HasLine(cur->exposition.text,
                     R"(provledger_exporter_build_info{version="0.1.0",revision="abcdef123456"} 1)"));
  BOOST_TEST(cur->exposition.text.find("process_cpu_seconds_total") != std::string::npos);
  BOOST_TEST(Gunzip(cur->exposition.gzip) == cur->exposition.text);
}

BOOST_AUTO_TEST_CASE(publish_replaces_and_old_readers_keep_theirs) {
  Publisher pub(GoldenBuild());
  const auto before = pub.Current();
  const auto published = pub.Publish(GoldenSnapshot());
  const auto after = pub.Current();
  BOOST_TEST(after.get() == published.get());
  BOOST_TEST(after.get() != before.get());
  BOOST_TEST(after->snapshot.sources.size() == 3u);
  BOOST_TEST(HasLine(after->exposition.text, R"(attest_coverage_pct{tenant="acme"} 98.5)"));
  BOOST_TEST(before->snapshot.sources.empty());  // a reader's copy is untouched
  pub.Publish(std::shared_ptr<const Published>{});  // null is ignored
  BOOST_TEST(pub.Current().get() == published.get());
}

BOOST_AUTO_TEST_CASE(concurrent_readers_see_consistent_pairs) {
  Publisher pub(GoldenBuild());
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<long> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto cur = pub.Current();
        const std::string want =
            "provledger_exporter_pending_operations " + std::to_string(cur->snapshot.pending_ops);
        if (!HasLine(cur->exposition.text, want)) ++bad;
        ++reads;
      }
    });
  }
  for (std::uint64_t i = 1; i <= 200; ++i) {
    compute::Snapshot s;
    s.pending_ops = i;
    pub.Publish(std::move(s));
  }
  stop = true;
  for (auto& t : readers) t.join();
  BOOST_TEST(bad.load() == 0);
  BOOST_TEST(reads.load() > 0);
  BOOST_TEST(pub.Current()->snapshot.pending_ops == 200u);
}

}  // namespace
}  // namespace provledger::render
