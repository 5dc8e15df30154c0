// The hand-over between the report's reader threads and the Engine's thread:
// pages in order, polls delimited, the row bound, stopping, and the rounds
// that tell a ledger reader how far to read.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "report/readers.hh"

namespace provledger::report {
namespace {

source::Batch Spans(const std::string& first_op, int n) {
  TraceBatch b;
  for (int i = 0; i < n; ++i) b.spans.push_back({"t", "s", "acme", first_op + std::to_string(i), i, "", ""});
  return b;
}

source::PollResult Poll(std::uint64_t rows, bool more) {
  source::PollResult r;
  r.report.success = true;
  r.report.rows_read = rows;
  r.more = more;
  return r;
}

std::vector<std::string> Drain(PollQueue& q, source::PollResult* end) {
  std::vector<std::string> ops;
  *end = q.Next([&](const source::Batch& b) {
    for (const SpanRow& s : std::get<TraceBatch>(b).spans) ops.push_back(s.op_id);
  });
  return ops;
}

// Waits (bounded) for a condition another thread makes true.
template <typename F>
bool Eventually(F&& f) {
  for (int i = 0; i < 2000; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

BOOST_AUTO_TEST_CASE(poll_queue_delivers_pages_in_order_poll_by_poll) {
  PollQueue q(100);
  BOOST_TEST(q.PushPage(Spans("a", 2)));
  BOOST_TEST(q.PushPage(Spans("b", 1)));
  BOOST_TEST(q.PushEnd(Poll(3, true)));
  BOOST_TEST(q.PushPage(Spans("c", 1)));
  BOOST_TEST(q.PushEnd(Poll(1, false)));
  BOOST_TEST(q.rows() == 4u);
  source::PollResult end;
  BOOST_TEST(Drain(q, &end) == (std::vector<std::string>{"a0", "a1", "b0"}), boost::test_tools::per_element());
  BOOST_TEST(end.report.rows_read == 3u);
  BOOST_TEST(end.more);
  BOOST_TEST(Drain(q, &end) == (std::vector<std::string>{"c0"}), boost::test_tools::per_element());
  BOOST_TEST(!end.more);
  BOOST_TEST(q.rows() == 0u);
}

BOOST_AUTO_TEST_CASE(poll_queue_holds_at_most_max_rows_but_always_one_page) {
  PollQueue q(4);
  std::atomic<int> pushed{0};
  std::thread reader([&] {
    q.PushPage(Spans("big", 6));   // larger than the bound: taken, the queue was empty
    ++pushed;
    for (int i = 0; i < 3; ++i) {
      q.PushPage(Spans("p" + std::to_string(i) + "-", 2));
      ++pushed;
    }
    q.PushEnd(Poll(12, false));
    ++pushed;
  });
  BOOST_TEST(Eventually([&] { return pushed.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(pushed.load() == 1);   // 6 rows wait: the next page does not fit
  BOOST_TEST(q.rows() == 6u);
  std::vector<std::string> ops;
  std::size_t most = 0;
  const source::PollResult end = q.Next([&](const source::Batch& b) {
    for (const SpanRow& s : std::get<TraceBatch>(b).spans) ops.push_back(s.op_id);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));   // let the reader fill up
    most = std::max(most, q.rows());
  });
  reader.join();
  BOOST_TEST(most <= 4u);
  BOOST_TEST(ops.size() == 12u);
  BOOST_TEST(ops.front() == "big0");
  BOOST_TEST(ops.back() == "p2-1");
  BOOST_TEST(end.report.rows_read == 12u);
}

BOOST_AUTO_TEST_CASE(poll_queue_stop_wakes_both_sides) {
  PollQueue q(1);
  BOOST_TEST(q.PushPage(Spans("a", 1)));
  std::atomic<int> result{-1};
  std::thread reader([&] { result = q.PushPage(Spans("b", 1)) ? 1 : 0; });   // blocks: full
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(result.load() == -1);
  q.Stop();
  reader.join();
  BOOST_TEST(result.load() == 0);
  BOOST_TEST(!q.PushEnd(Poll(0, false)));

  PollQueue empty(10);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    empty.Stop();
  });
  source::PollResult end;
  BOOST_CHECK_THROW(Drain(empty, &end), std::runtime_error);
  stopper.join();
}

constexpr Micros kLast = 1000;

BOOST_AUTO_TEST_CASE(trace_rounds_wait_for_every_store_and_take_the_slowest) {
  TraceRounds rounds(2);
  std::optional<TraceRounds::Round> got;
  std::atomic<bool> done{false};
  std::thread ledger([&] {
    got = rounds.Wait(0, kLast);
    done = true;
  });
  rounds.Record(0, 300, false, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(!done.load());   // store 1 has not read round 0 yet
  rounds.Record(1, 200, false, false);
  ledger.join();
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got->spans_upto == 200);
  BOOST_TEST(!got->last);

  // Store 0 reads the day in its second poll; store 1 needs two more.
  rounds.Record(0, 1500, true, false);
  rounds.Record(1, 600, false, false);
  got = rounds.Wait(1, kLast);
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got->spans_upto == 600);
  BOOST_TEST(!got->last);
  rounds.Record(1, 1200, true, false);
  got = rounds.Wait(2, kLast);   // store 0 keeps its last position
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got->spans_upto == kLast);   // never past the day's last µs
  BOOST_TEST(got->last);
  // Earlier rounds stay answerable (a ledger reader may lag).
  BOOST_TEST(rounds.Wait(0, kLast)->spans_upto == 200);
}

BOOST_AUTO_TEST_CASE(trace_rounds_end_when_a_store_fails_or_falls_short) {
  TraceRounds failing(2);
  failing.Record(0, 100, false, false);
  failing.Record(1, 100, false, false);
  failing.Record(0, kMinMicros, true, true);   // store 0's second poll failed
  BOOST_TEST(failing.Wait(0, kLast).has_value());
  failing.Record(1, 400, false, false);
  BOOST_TEST(!failing.Wait(1, kLast).has_value());

  TraceRounds short_of_day(1);
  short_of_day.Record(0, 100, false, false);
  short_of_day.Record(0, 900, true, false);   // ended before the day's last µs: the run fails in round 1
  BOOST_TEST(short_of_day.Wait(0, kLast).has_value());
  BOOST_TEST(!short_of_day.Wait(1, kLast).has_value());

  TraceRounds stopped(1);
  std::optional<TraceRounds::Round> got = TraceRounds::Round{};
  std::thread ledger([&] { got = stopped.Wait(0, kLast); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stopped.Stop();
  ledger.join();
  BOOST_TEST(!got.has_value());
}

}  // namespace
}  // namespace provledger::report
