// Integration tests of how a poll is bounded and stopped, against a real
// PostgreSQL: max_rows_per_poll (catch-up in several polls, PollResult::more,
// complete_upto = cursor.ts - 1), SetReadLimit (backpressure: receipts and
// spans capped, the anchored stream not), RequestStop/ClearStop (a statement
// in flight cancelled, the stop flag checked between pages), and the
// anchored-before-created decode error.
#define BOOST_TEST_MODULE integration_poll_control
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>

#include "common.hh"
#include "pq/connection.hh"
#include "source/flags_source.hh"
#include "source/ledger_source.hh"
#include "source/queries.hh"
#include "source/trace_source.hh"

using namespace provledger;
using namespace provledger::itest;
using namespace provledger::source;
using namespace std::chrono_literals;

namespace provledger {
inline std::ostream& operator<<(std::ostream& os, ErrorKind k) { return os << ErrorKindName(k); }
}  // namespace provledger

namespace {

constexpr Micros kT0 = 1'700'000'000'000'000;   // 2023-11-14T22:13:20Z
constexpr Micros kMs = 1000;
constexpr Micros kSec = 1'000'000;

int K(ErrorKind k) { return static_cast<int>(k); }
bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }
using Strings = std::vector<std::string>;

template <class Row>
Strings Ids(const std::vector<Row>& v) {
  Strings out;
  for (const auto& r : v) {
    if constexpr (std::is_same_v<Row, SpanRow>) {
      out.push_back(r.span_id);
    } else {
      out.push_back(r.receipt_id);
    }
  }
  return out;
}

SourceOptions Opts(std::int64_t max_rows = 0, CapturedLog* log = nullptr) {
  SourceOptions o;
  if (max_rows > 0) o.max_rows_per_poll = max_rows;
  if (log) o.log = log->Fn();
  return o;
}

template <class Batch, class Src>
Batch PollOk(Src& s, bool* more = nullptr) {
  PollResult r = s.Poll();
  BOOST_TEST_REQUIRE(r.report.success, "poll failed: " << r.report.error);
  auto* b = std::get_if<Batch>(&r.batch);
  BOOST_TEST_REQUIRE(b != nullptr);
  if (more) *more = r.more;
  return std::move(*b);
}

// 12 receipts r00..r11; timestamps chosen so that a 5-row limit cuts inside
// a group of rows sharing one timestamp at both cuts (r04|r05 and r09|r10).
//   index: 0  1  2  3  4  5  6  7  8  9  10 11
//   sec:   1  1  2  3  4  4  4  5  6  7  7  8
constexpr int kSecs[12] = {1, 1, 2, 3, 4, 4, 4, 5, 6, 7, 7, 8};
std::string RxId(int i) { return (i < 10 ? "r0" : "r") + std::to_string(i); }

}  // namespace

// ---------------------------------------------------------------- max rows

BOOST_AUTO_TEST_CASE(ledger_max_rows_per_poll_splits_catch_up) {
  for (const std::int64_t page : {1000, 2, 5}) {   // page bigger, smaller than, equal to the limit
    BOOST_TEST_CONTEXT("batch_size " << page) {
      const std::string db = NewReferenceDb("maxrows");
      std::vector<Rx> rows;
      for (int i = 0; i < 12; ++i) rows.push_back({RxId(i), "acme", kT0 + kSecs[i] * kSec});
      // Three anchored rows only: that stream is exhausted on the first poll.
      for (int i : {0, 5, 9}) rows[static_cast<std::size_t>(i)].anchored_us = rows[static_cast<std::size_t>(i)].created_us + 3 * kMs;
      InsertReference(db, rows);
      SetClock(db, kT0 + 3600 * kSec);
      const Micros horizon = kT0 + 3600 * kSec - 5000 * kMs;
      config::Ledger cfg = LedgerConfig(db);
      cfg.queries.clock = kFakeClockQuery;
      cfg.batch_size = page;
      LedgerSource src(cfg, Opts(5));

      std::map<std::string, int> seen;
      Strings order;
      bool more = false;
      PollResult r = src.Poll();
      BOOST_TEST_REQUIRE(r.report.success, r.report.error);
      BOOST_TEST(r.more);
      BOOST_TEST(r.report.rows_read == 8u);   // 5 receipts + 3 anchored
      LedgerBatch b = std::get<LedgerBatch>(r.batch);
      BOOST_TEST(Ids(b.receipts) == (Strings{"r00", "r01", "r02", "r03", "r04"}), boost::test_tools::per_element());
      BOOST_TEST(b.receipts_complete_upto == kT0 + 4 * kSec - 1, "r05, r06 share r04's timestamp");
      BOOST_TEST(Ids(b.anchored) == (Strings{"r00", "r05", "r09"}), boost::test_tools::per_element());
      BOOST_TEST(b.anchored_complete_upto == horizon, "each stream limited independently");
      BOOST_TEST(b.queue_depth.value() == 9);
      for (const auto& x : b.receipts) ++seen[x.receipt_id], order.push_back(x.receipt_id);

      b = PollOk<LedgerBatch>(src, &more);
      BOOST_TEST(more);
      BOOST_TEST(Ids(b.receipts) == (Strings{"r05", "r06", "r07", "r08", "r09"}), boost::test_tools::per_element());
      BOOST_TEST(b.receipts_complete_upto == kT0 + 7 * kSec - 1, "r10 shares r09's timestamp");
      BOOST_TEST(b.anchored.empty());
      BOOST_TEST(b.anchored_complete_upto == horizon);
      BOOST_TEST(b.queue_depth.value() == 9, "queue depth is read on every poll");
      for (const auto& x : b.receipts) ++seen[x.receipt_id], order.push_back(x.receipt_id);

      b = PollOk<LedgerBatch>(src, &more);
      BOOST_TEST(!more);
      BOOST_TEST(Ids(b.receipts) == (Strings{"r10", "r11"}), boost::test_tools::per_element());
      BOOST_TEST(b.receipts_complete_upto == horizon);
      for (const auto& x : b.receipts) ++seen[x.receipt_id], order.push_back(x.receipt_id);

      b = PollOk<LedgerBatch>(src, &more);
      BOOST_TEST(!more);
      BOOST_TEST(b.receipts.empty());

      BOOST_TEST(seen.size() == 12u);
      for (const auto& [id, n] : seen) BOOST_TEST(n == 1, id);
      BOOST_TEST(std::is_sorted(order.begin(), order.end()));
    }
  }
}

BOOST_AUTO_TEST_CASE(ledger_limit_exactly_reached_reports_more_once) {
  // 10 rows, limit 5: the second poll ends on the limit with nothing left;
  // it still says more (it cannot know), and the third poll returns nothing.
  const std::string db = NewReferenceDb("exact");
  std::vector<Rx> rows;
  for (int i = 0; i < 10; ++i) rows.push_back({RxId(i), "acme", kT0 + i * kSec});
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  LedgerSource src(cfg, Opts(5));
  bool more = false;
  BOOST_TEST(PollOk<LedgerBatch>(src, &more).receipts.size() == 5u);
  BOOST_TEST(more);
  LedgerBatch b = PollOk<LedgerBatch>(src, &more);
  BOOST_TEST(b.receipts.size() == 5u);
  BOOST_TEST(more);
  BOOST_TEST(b.receipts_complete_upto == kT0 + 9 * kSec - 1);
  b = PollOk<LedgerBatch>(src, &more);
  BOOST_TEST(b.receipts.empty());
  BOOST_TEST(!more);
  BOOST_TEST(b.receipts_complete_upto == kT0 + 3595 * kSec);
}

BOOST_AUTO_TEST_CASE(anchored_stream_limited_on_its_own) {
  const std::string db = NewReferenceDb("anchlim");
  std::vector<Rx> rows;
  for (int i = 0; i < 7; ++i) {
    Rx r{RxId(i), "acme", kT0 + i * kSec};
    r.anchored_us = kT0 + 100 * kSec + (i / 3) * kSec;   // 3, 3, 1 rows share an instant
    rows.push_back(r);
  }
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  LedgerSource src(cfg, Opts(4));
  bool more = false;
  LedgerBatch b = PollOk<LedgerBatch>(src, &more);
  BOOST_TEST(more);
  BOOST_TEST(b.receipts.size() == 4u);
  BOOST_TEST(Ids(b.anchored) == (Strings{"r00", "r01", "r02", "r03"}), boost::test_tools::per_element());
  BOOST_TEST(b.anchored_complete_upto == kT0 + 101 * kSec - 1);
  b = PollOk<LedgerBatch>(src, &more);
  BOOST_TEST(!more);
  BOOST_TEST(Ids(b.receipts) == (Strings{"r04", "r05", "r06"}), boost::test_tools::per_element());
  BOOST_TEST(Ids(b.anchored) == (Strings{"r04", "r05", "r06"}), boost::test_tools::per_element());
  BOOST_TEST(b.anchored_complete_upto == kT0 + 3595 * kSec);
}

BOOST_AUTO_TEST_CASE(trace_max_rows_per_poll_splits_catch_up) {
  const std::string db = NewReferenceDb("tracemax");
  std::vector<Sx> spans;
  for (int i = 0; i < 12; ++i) {
    spans.push_back({"t" + std::to_string(i), RxId(i), "acme", "op-" + std::to_string(i),
                     kT0 + kSecs[i] * kSec, std::nullopt});
  }
  InsertSpansReference(db, spans);
  SetClock(db, kT0 + 3600 * kSec);
  config::TraceStore cfg = TraceConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.batch_size = 3;
  TraceSource src(cfg, Opts(5));
  std::map<std::string, int> seen;
  bool more = false;
  TraceBatch b = PollOk<TraceBatch>(src, &more);
  BOOST_TEST(more);
  BOOST_TEST(Ids(b.spans) == (Strings{"r00", "r01", "r02", "r03", "r04"}), boost::test_tools::per_element());
  BOOST_TEST(b.complete_upto == kT0 + 4 * kSec - 1);
  for (const auto& s : b.spans) ++seen[s.span_id];
  b = PollOk<TraceBatch>(src, &more);
  BOOST_TEST(more);
  BOOST_TEST(b.complete_upto == kT0 + 7 * kSec - 1);
  for (const auto& s : b.spans) ++seen[s.span_id];
  b = PollOk<TraceBatch>(src, &more);
  BOOST_TEST(!more);
  BOOST_TEST(Ids(b.spans) == (Strings{"r10", "r11"}), boost::test_tools::per_element());
  BOOST_TEST(b.complete_upto == kT0 + 3595 * kSec);
  for (const auto& s : b.spans) ++seen[s.span_id];
  BOOST_TEST(seen.size() == 12u);
  for (const auto& [id, n] : seen) BOOST_TEST(n == 1, id);
}

BOOST_AUTO_TEST_CASE(override_returning_more_than_the_limit_is_refused) {
  const std::string db = NewReferenceDb("overlimit");
  std::vector<Rx> rows;
  for (int i = 0; i < 6; ++i) rows.push_back({RxId(i), "acme", kT0 + i * kSec});
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.queries.receipts = std::string(kDefaultReceiptsQuery) + " + 1";   // LIMIT $4 + 1
  LedgerSource src(cfg, Opts(3));
  PollResult r = src.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.errors[K(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(Contains(r.report.error, "more rows than the limit"), r.report.error);
  BOOST_TEST((src.cursors().receipts.ts == kMinMicros));
}

// ---------------------------------------------------------------- read limit

BOOST_AUTO_TEST_CASE(read_limit_caps_receipts_not_anchored) {
  const std::string db = NewReferenceDb("readlimit");
  std::vector<Rx> rows;
  for (int i = 1; i <= 10; ++i) {
    Rx r{RxId(i), "acme", kT0 + i * kSec};
    r.anchored_us = r.created_us + 500 * kMs;
    rows.push_back(r);
  }
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  const Micros horizon = kT0 + 3595 * kSec;
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  LedgerSource src(cfg, Opts());

  src.SetReadLimit(kT0 + 5 * kSec);   // exactly on r05
  bool more = true;
  LedgerBatch b = PollOk<LedgerBatch>(src, &more);
  BOOST_TEST(!more);
  BOOST_TEST(Ids(b.receipts) == (Strings{"r01", "r02", "r03", "r04", "r05"}), boost::test_tools::per_element());
  BOOST_TEST(b.receipts_complete_upto == kT0 + 5 * kSec);
  BOOST_TEST(b.anchored.size() == 10u, "the anchored stream ignores the read limit");
  BOOST_TEST(b.anchored_complete_upto == horizon);
  BOOST_TEST(b.queue_depth.has_value());

  // Lower than the cursor: nothing read, nothing lost.
  src.SetReadLimit(kT0 + 2 * kSec);
  b = PollOk<LedgerBatch>(src);
  BOOST_TEST(b.receipts.empty());
  BOOST_TEST(b.receipts_complete_upto == kT0 + 2 * kSec);

  src.SetReadLimit(kT0 + 8 * kSec + 1);
  b = PollOk<LedgerBatch>(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"r06", "r07", "r08"}), boost::test_tools::per_element());
  BOOST_TEST(b.receipts_complete_upto == kT0 + 8 * kSec + 1);

  // Later than the horizon: the horizon wins.
  src.SetReadLimit(kT0 + 7200 * kSec);
  b = PollOk<LedgerBatch>(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"r09", "r10"}), boost::test_tools::per_element());
  BOOST_TEST(b.receipts_complete_upto == horizon);

  src.SetReadLimit(kMaxMicros);
  InsertReference(db, {{"r11", "acme", kT0 + 11 * kSec}});
  b = PollOk<LedgerBatch>(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"r11"}), boost::test_tools::per_element());
  BOOST_TEST(b.receipts_complete_upto == horizon);
}

BOOST_AUTO_TEST_CASE(read_limit_with_max_rows) {
  // Both bounds at once: the limit decides what may be read, max_rows how
  // much of it per poll.
  const std::string db = NewReferenceDb("limitmax");
  std::vector<Rx> rows;
  for (int i = 0; i < 10; ++i) rows.push_back({RxId(i), "acme", kT0 + i * kSec});
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  LedgerSource src(cfg, Opts(3));
  src.SetReadLimit(kT0 + 4 * kSec);
  bool more = false;
  LedgerBatch b = PollOk<LedgerBatch>(src, &more);
  BOOST_TEST(more);
  BOOST_TEST(Ids(b.receipts) == (Strings{"r00", "r01", "r02"}), boost::test_tools::per_element());
  BOOST_TEST(b.receipts_complete_upto == kT0 + 2 * kSec - 1);
  b = PollOk<LedgerBatch>(src, &more);
  BOOST_TEST(!more);
  BOOST_TEST(Ids(b.receipts) == (Strings{"r03", "r04"}), boost::test_tools::per_element());
  BOOST_TEST(b.receipts_complete_upto == kT0 + 4 * kSec);
}

BOOST_AUTO_TEST_CASE(read_limit_caps_spans) {
  const std::string db = NewReferenceDb("spanlimit");
  std::vector<Sx> spans;
  for (int i = 1; i <= 6; ++i) {
    spans.push_back({"t", RxId(i), "acme", "op-" + std::to_string(i), kT0 + i * kSec, std::nullopt});
  }
  InsertSpansReference(db, spans);
  SetClock(db, kT0 + 3600 * kSec);
  config::TraceStore cfg = TraceConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  TraceSource src(cfg, Opts());
  src.SetReadLimit(kT0 + 3 * kSec + 500 * kMs);
  TraceBatch b = PollOk<TraceBatch>(src);
  BOOST_TEST(Ids(b.spans) == (Strings{"r01", "r02", "r03"}), boost::test_tools::per_element());
  BOOST_TEST(b.complete_upto == kT0 + 3 * kSec + 500 * kMs);
  src.SetReadLimit(kMaxMicros);
  b = PollOk<TraceBatch>(src);
  BOOST_TEST(Ids(b.spans) == (Strings{"r04", "r05", "r06"}), boost::test_tools::per_element());
  BOOST_TEST(b.complete_upto == kT0 + 3595 * kSec);
}

// ---------------------------------------------------------------- stop

BOOST_AUTO_TEST_CASE(request_stop_cancels_a_running_query) {
  const std::string db = NewReferenceDb("stop");
  std::vector<Rx> rows;
  for (int i = 0; i < 12; ++i) rows.push_back({RxId(i), "acme", kT0 + kSecs[i] * kSec});
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  // Every page after the first sleeps test_sleep.secs (an InitPlan, run once per page).
  Server().Exec(db, "CREATE TABLE test_sleep (secs float8 NOT NULL); INSERT INTO test_sleep VALUES (5)");
  config::Ledger cfg = LedgerConfig(db, "stopme");
  cfg.queries.clock = kFakeClockQuery;
  cfg.conn.statement_timeout_ms = 20000;   // the stop, not a timeout, ends the sleep
  cfg.batch_size = 4;
  cfg.queries.receipts =
      "SELECT receipt_id, tenant_id, op_id, region, policy_version, kid, version, body::text, "
      "content_hash, (extract(epoch FROM created_at) * 1000000)::bigint FROM receipts "
      "WHERE (created_at, receipt_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
      "AND created_at <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
      "AND (SELECT count(*) FROM test_sleep, pg_sleep(CASE WHEN $2::text = '' THEN 0 ELSE test_sleep.secs END)) >= 0 "
      "ORDER BY created_at, receipt_id LIMIT $4::bigint";
  CapturedLog log;
  LedgerSource src(cfg, Opts(0, &log));

  std::atomic<bool> sleeping{false};
  std::chrono::steady_clock::time_point stop_at{};
  std::thread stopper([&] {
    RawSession admin("postgres");
    const std::string q = "SELECT count(*) FROM pg_stat_activity WHERE datname = " + Lit(db) +
                          " AND application_name = 'provledger_exporter' AND wait_event = 'PgSleep'";
    for (int i = 0; i < 250 && admin.Scalar(q) == "0"; ++i) std::this_thread::sleep_for(20ms);
    sleeping = admin.Scalar(q) != "0";
    stop_at = std::chrono::steady_clock::now();
    src.RequestStop();   // from another thread while Poll() runs
  });
  const auto started = std::chrono::steady_clock::now();
  PollResult r = src.Poll();
  const auto returned = std::chrono::steady_clock::now();
  stopper.join();
  BOOST_TEST_REQUIRE(sleeping.load(), "the receipts query never reached pg_sleep");
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.error == "stopped");
  BOOST_TEST(r.report.errors[K(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(r.report.errors[K(ErrorKind::kTimeout)] == 0u);
  BOOST_TEST(std::holds_alternative<std::monostate>(r.batch));
  BOOST_TEST(!r.more);
  const double after_stop = std::chrono::duration<double>(returned - stop_at).count();
  BOOST_TEST(after_stop < 4.0, "Poll returned " << after_stop << " s after RequestStop");
  BOOST_TEST(std::chrono::duration<double>(returned - started).count() < 5.0);
  BOOST_TEST((src.cursors().receipts.ts == kMinMicros), "a stopped poll does not move the cursors");
  BOOST_TEST(src.last_error() == "stopped");

  // Still stopped until ClearStop: fails at once, no query.
  const auto t = std::chrono::steady_clock::now();
  r = src.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.error == "stopped");
  BOOST_TEST((std::chrono::steady_clock::now() - t < 1s));

  // Re-armed: the same source (and connection) reads everything, once.
  Server().Exec(db, "UPDATE test_sleep SET secs = 0");
  src.ClearStop();
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  Strings want;
  for (int i = 0; i < 12; ++i) want.push_back(RxId(i));
  BOOST_TEST(Ids(std::get<LedgerBatch>(r.batch).receipts) == want, boost::test_tools::per_element());
  BOOST_TEST(log.Count("connected to database") == 1, "the cancel kept the connection: " << log.All());
  BOOST_TEST(PollOk<LedgerBatch>(src).receipts.empty());
}

BOOST_AUTO_TEST_CASE(stop_flag_checked_between_pages) {
  // RequestStop() while the first page is being decoded (from the source's
  // own log callback, so deterministic; no statement is running then, so the
  // cancel finds nothing): the second page, which would sleep 3 s, must
  // never be sent.
  const std::string db = NewReferenceDb("stoppage");
  std::vector<Rx> rows;
  for (int i = 0; i < 6; ++i) rows.push_back({RxId(i), "acme", kT0 + i * kSec});
  rows[1].tenant = std::string(300, 't');   // a bad row on page 1 (tenant too long)
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  Server().Exec(db, "CREATE TABLE test_sleep (secs float8 NOT NULL); INSERT INTO test_sleep VALUES (3)");
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.conn.statement_timeout_ms = 20000;
  cfg.batch_size = 3;
  cfg.queries.receipts =
      "SELECT receipt_id, tenant_id, op_id, region, policy_version, kid, version, body::text, "
      "content_hash, (extract(epoch FROM created_at) * 1000000)::bigint FROM receipts "
      "WHERE (created_at, receipt_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
      "AND created_at <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
      "AND (SELECT count(*) FROM test_sleep, pg_sleep(CASE WHEN $2::text = '' THEN 0 ELSE test_sleep.secs END)) >= 0 "
      "ORDER BY created_at, receipt_id LIMIT $4::bigint";
  LedgerSource* self = nullptr;
  int bad_rows_logged = 0;
  SourceOptions o;
  o.log = [&](LogLevel, std::string_view m, const LogFields&) {
    if (m != "bad row skipped") return;
    ++bad_rows_logged;
    if (self) self->RequestStop();
  };
  LedgerSource src(cfg, o);
  self = &src;
  const auto t = std::chrono::steady_clock::now();
  PollResult r = src.Poll();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  BOOST_TEST_REQUIRE(bad_rows_logged == 1, "the stop was requested during page 1");
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.error == "stopped");
  BOOST_TEST(r.report.errors[K(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 0u, "a failed poll's decode counts are dropped");
  BOOST_TEST(took < 2.0, "page 2 (3 s sleep) was queried: the poll took " << took << " s");
  BOOST_TEST((src.cursors().receipts.ts == kMinMicros));

  self = nullptr;
  Server().Exec(db, "UPDATE test_sleep SET secs = 0");
  src.ClearStop();
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ids(std::get<LedgerBatch>(r.batch).receipts) == (Strings{"r00", "r02", "r03", "r04", "r05"}),
             boost::test_tools::per_element());
  BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 1u);
}

BOOST_AUTO_TEST_CASE(request_stop_cancels_flags_and_trace_queries) {
  const std::string db = NewReferenceDb("stopother");
  SetClock(db, kT0 + 3600 * kSec);
  InsertSpansReference(db, {{"t", "s1", "acme", "op-1", kT0, std::nullopt}});

  config::TraceStore tc = TraceConfig(db);
  tc.conn.statement_timeout_ms = 20000;
  tc.queries.clock = "SELECT now_us FROM test_clock, pg_sleep(5)";
  TraceSource ts(tc, Opts());
  config::Flags fc;
  fc.kind = config::FlagsKind::kSql;
  fc.name = "flags";
  fc.conn.dsn = Server().Dsn(db);
  fc.conn.statement_timeout_ms = 20000;
  fc.query = "SELECT 'acme', 'f', 50::float8 FROM pg_sleep(5)";
  FlagsSqlSource fs(fc, Opts());

  auto run = [&](Source& s) {
    std::thread stopper([&] {
      RawSession admin("postgres");
      const std::string q = "SELECT count(*) FROM pg_stat_activity WHERE datname = " + Lit(db) +
                            " AND application_name = 'provledger_exporter' AND wait_event = 'PgSleep'";
      for (int i = 0; i < 250 && admin.Scalar(q) == "0"; ++i) std::this_thread::sleep_for(20ms);
      s.RequestStop();
    });
    const auto t = std::chrono::steady_clock::now();
    PollResult r = s.Poll();
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    stopper.join();
    BOOST_TEST(!r.report.success, s.name());
    BOOST_TEST(r.report.error == "stopped", s.name());
    BOOST_TEST(took < 4.9, s.name() << " took " << took << " s");
  };
  run(ts);
  run(fs);

  ts.ClearStop();
  fs.ClearStop();
  // Without the sleep: both work again.
  tc.queries.clock = kFakeClockQuery;
  TraceSource ts2(tc, Opts());
  ts2.SetCursors(ts.cursors());
  BOOST_TEST(Ids(PollOk<TraceBatch>(ts2).spans) == (Strings{"s1"}), boost::test_tools::per_element());
}

// ---------------------------------------------------------------- decode

BOOST_AUTO_TEST_CASE(anchored_before_created_is_a_decode_error) {
  const std::string db = NewReferenceDb("anchbefore");
  Rx good{"g1", "acme", kT0 + 1 * kSec};
  good.anchored_us = good.created_us + 10 * kMs;
  Rx bad{"b1", "acme", kT0 + 2 * kSec};
  bad.anchored_us = bad.created_us - 250 * kMs;   // clock skew between writers
  Rx zero{"z1", "acme", kT0 + 3 * kSec};
  zero.anchored_us = zero.created_us;             // zero latency is fine
  InsertReference(db, {good, bad, zero});
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db, "skew");
  cfg.queries.clock = kFakeClockQuery;
  CapturedLog log;
  LedgerSource src(cfg, Opts(0, &log));
  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 1u);
  const LedgerBatch& b = std::get<LedgerBatch>(r.batch);
  BOOST_TEST(b.receipts.size() == 3u, "the receipt itself is fine");
  BOOST_TEST(Ids(b.anchored) == (Strings{"g1", "z1"}), boost::test_tools::per_element());
  BOOST_TEST(log.Count("bad row skipped") == 1, log.All());
  BOOST_TEST(log.Count("anchored before created") == 1, log.All());
  BOOST_TEST(log.Count("stream=anchored") == 1, log.All());
  BOOST_TEST(src.cursors().anchored.id == "z1");
  // Not read again.
  r = src.Poll();
  BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 0u);
}

// ---------------------------------------------------------------- page sink

namespace {

// Collects what a PageSink receives, page by page.
struct PageLog {
  std::vector<LedgerBatch> ledger;
  std::vector<TraceBatch> traces;
  PageSink Fn() {
    return [this](Batch&& b) {
      if (auto* l = std::get_if<LedgerBatch>(&b)) ledger.push_back(std::move(*l));
      if (auto* t = std::get_if<TraceBatch>(&b)) traces.push_back(std::move(*t));
    };
  }
  Strings Receipts() const {
    Strings out;
    for (const auto& p : ledger) for (const auto& r : p.receipts) out.push_back(r.receipt_id);
    return out;
  }
  Strings Anchored() const {
    Strings out;
    for (const auto& p : ledger) for (const auto& r : p.anchored) out.push_back(r.receipt_id);
    return out;
  }
  Strings Spans() const {
    Strings out;
    for (const auto& p : traces) for (const auto& s : p.spans) out.push_back(s.span_id);
    return out;
  }
};

Strings FirstIds(int n) {
  Strings out;
  for (int i = 0; i < n; ++i) out.push_back(RxId(i));
  return out;
}

// The receipts query of the reference schema, failing (division by zero,
// SQLSTATE 22012) for every page whose cursor id is >= a row of test_fail.
constexpr const char* kFailingReceiptsQuery =
    "SELECT receipt_id, tenant_id, op_id, region, policy_version, kid, version, body::text, "
    "content_hash, (extract(epoch FROM created_at) * 1000000)::bigint FROM receipts "
    "WHERE (created_at, receipt_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
    "AND created_at <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
    "AND NOT EXISTS (SELECT 1 FROM test_fail f WHERE $2::text >= f.from_id AND 1 / f.zero = 1) "
    "ORDER BY created_at, receipt_id LIMIT $4::bigint";

}  // namespace

BOOST_AUTO_TEST_CASE(sink_pages_stay_delivered_when_a_later_page_fails) {
  // 12 receipts (all anchored), pages of 3. Page 3 of the receipts stream
  // fails: pages 1-2 were handed to the sink and their cursor committed; the
  // next poll continues at r06: every row exactly once, in order.
  const std::string db = NewReferenceDb("sinkfail");
  std::vector<Rx> rows;
  for (int i = 0; i < 12; ++i) {
    rows.push_back({RxId(i), "acme", kT0 + i * kSec});
    rows.back().anchored_us = kT0 + i * kSec + 7 * kMs;
  }
  rows[4].tenant = std::string(300, 't');   // a bad row on page 2: counted, and delivered past
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  Server().Exec(db, "CREATE TABLE test_fail (from_id text NOT NULL, zero int NOT NULL);"
                    "INSERT INTO test_fail VALUES ('r05', 0)");
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.queries.receipts = kFailingReceiptsQuery;
  cfg.batch_size = 3;
  CapturedLog log;
  LedgerSource src(cfg, Opts(0, &log));
  PageLog pages;
  src.SetSink(pages.Fn());

  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(!r.report.success);
  BOOST_TEST(Contains(r.report.error, "receipts query"), r.report.error);
  BOOST_TEST(Contains(r.report.error, "division by zero"), r.report.error);
  BOOST_TEST(r.report.errors[K(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(r.report.rows_read == 6u, "the delivered pages' rows are counted");
  BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 1u, "the delivered bad row is counted");
  BOOST_TEST(std::holds_alternative<std::monostate>(r.batch));
  BOOST_TEST_REQUIRE(pages.ledger.size() == 2u);
  BOOST_TEST(pages.Receipts() == (Strings{"r00", "r01", "r02", "r03", "r05"}), boost::test_tools::per_element());
  for (const auto& p : pages.ledger) {
    BOOST_TEST(p.source == "ledger");
    BOOST_TEST(p.region == "eu-west");
    BOOST_TEST(p.receipts_complete_upto == kMinMicros, "a page moves no horizon");
    BOOST_TEST(p.anchored_complete_upto == kMinMicros);
    BOOST_TEST(!p.queue_depth.has_value());
    BOOST_TEST(!p.proofs_last_ts.has_value());
  }
  BOOST_TEST(src.cursors().receipts.ts == kT0 + 5 * kSec);
  BOOST_TEST(src.cursors().receipts.id == "r05");
  BOOST_TEST((src.cursors().anchored.ts == kMinMicros), "the anchored stream was not reached");

  // Still failing: nothing new is delivered, the cursor stays.
  r = src.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.rows_read == 0u);
  BOOST_TEST(pages.ledger.size() == 2u);

  Server().Exec(db, "DELETE FROM test_fail");
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(r.report.rows_read == 6u + 12u);
  LedgerBatch fin = std::get<LedgerBatch>(r.batch);
  BOOST_TEST(fin.receipts.empty(), "rows went to the sink");
  BOOST_TEST(fin.anchored.empty());
  const Micros horizon = kT0 + 3600 * kSec - 5000 * kMs;
  BOOST_TEST(fin.receipts_complete_upto == horizon);
  BOOST_TEST(fin.anchored_complete_upto == horizon);
  BOOST_TEST(fin.queue_depth.value() == 0);
  Strings want = FirstIds(12);
  want.erase(want.begin() + 4);   // the bad row
  BOOST_TEST(pages.Receipts() == want, boost::test_tools::per_element());
  BOOST_TEST(pages.Anchored() == want, boost::test_tools::per_element());
  BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 1u, "r04 on the anchored stream");
  BOOST_TEST(src.cursors().receipts.id == "r11");
  BOOST_TEST(src.cursors().anchored.id == "r11");

  // Nothing new: no page, nothing twice.
  const std::size_t n = pages.ledger.size();
  BOOST_TEST(PollOk<LedgerBatch>(src).receipts.empty());
  BOOST_TEST(pages.ledger.size() == n);

  // Without the sink the collecting behaviour is back.
  src.SetSink({});
  rows = {{"r12", "acme", kT0 + 12 * kSec}};
  InsertReference(db, rows);
  BOOST_TEST(Ids(PollOk<LedgerBatch>(src).receipts) == (Strings{"r12"}), boost::test_tools::per_element());
  BOOST_TEST(pages.ledger.size() == n);
}

BOOST_AUTO_TEST_CASE(sink_request_stop_after_k_pages_then_continue) {
  // RequestStop() from the sink after page 2 (a reload or shutdown arriving
  // while pages are applied): the poll ends "stopped", pages 1-2 stay
  // delivered and committed (what StopThreads carries over), and after
  // ClearStop the next poll delivers the rest, each row once.
  const std::string db = NewReferenceDb("sinkstop");
  std::vector<Rx> rows;
  for (int i = 0; i < 10; ++i) rows.push_back({RxId(i), "acme", kT0 + kSecs[i] * kSec});
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.batch_size = 3;
  LedgerSource src(cfg, Opts());
  PageLog pages;
  LedgerCursors seen_in_sink;
  src.SetSink([&](Batch&& b) {
    pages.Fn()(std::move(b));
    seen_in_sink = src.cursors();   // cursors() include the page during the call
    if (pages.ledger.size() == 2) src.RequestStop();
  });
  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(!r.report.success);
  BOOST_TEST(r.report.error == "stopped");
  BOOST_TEST(r.report.rows_read == 6u);
  BOOST_TEST(pages.Receipts() == FirstIds(6), boost::test_tools::per_element());
  BOOST_TEST(seen_in_sink.receipts.id == "r05");
  BOOST_TEST((src.cursors().receipts == seen_in_sink.receipts));

  src.ClearStop();
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(pages.Receipts() == FirstIds(10), boost::test_tools::per_element());
  BOOST_TEST(std::get<LedgerBatch>(r.batch).receipts.empty());
}

BOOST_AUTO_TEST_CASE(sink_that_throws_keeps_the_cursor_before_its_page) {
  // The sink (the engine) throws on spans page 2: that page's cursor is put
  // back, so the next poll delivers page 2 again (it was not applied).
  const std::string db = NewReferenceDb("sinkthrow");
  std::vector<Sx> spans;
  for (int i = 0; i < 8; ++i) {
    spans.push_back({"t" + std::to_string(i), RxId(i), "acme", "op-" + std::to_string(i), kT0 + i * kSec,
                     std::nullopt});
  }
  InsertSpansReference(db, spans);
  SetClock(db, kT0 + 3600 * kSec);
  config::TraceStore cfg = TraceConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.batch_size = 3;
  TraceSource src(cfg, Opts());
  PageLog pages;
  int calls = 0;
  src.SetSink([&](Batch&& b) {
    if (++calls == 2) throw std::runtime_error("engine refused the page");
    pages.Fn()(std::move(b));
  });
  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(!r.report.success);
  BOOST_TEST(Contains(r.report.error, "engine refused the page"), r.report.error);
  BOOST_TEST(r.report.rows_read == 3u);
  BOOST_TEST(pages.Spans() == FirstIds(3), boost::test_tools::per_element());
  BOOST_TEST(src.cursors().spans.id == "r02");

  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(pages.Spans() == FirstIds(8), boost::test_tools::per_element());
  for (const auto& p : pages.traces) BOOST_TEST(p.complete_upto == kMinMicros);
  TraceBatch fin = std::get<TraceBatch>(r.batch);
  BOOST_TEST(fin.spans.empty());
  BOOST_TEST(fin.complete_upto == kT0 + 3600 * kSec - cfg.out_of_order_ms * 1000);
}

BOOST_AUTO_TEST_CASE(queue_depth_interval_skips_the_count_and_zero_counts_every_poll) {
  const std::string db = NewReferenceDb("qdepth");
  InsertReference(db, {{"r00", "acme", kT0}, {"r01", "acme", kT0 + kSec}});
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  BOOST_TEST(config::Ledger{}.queue_depth_interval_ms == 30000, "the documented default");
  cfg.queue_depth_interval_ms = 3600 * 1000;
  LedgerSource hourly(cfg, Opts());
  cfg.queue_depth_interval_ms = 0;
  LedgerSource every(cfg, Opts());
  BOOST_TEST(PollOk<LedgerBatch>(hourly).queue_depth.value() == 2, "the first poll measures");
  BOOST_TEST(PollOk<LedgerBatch>(every).queue_depth.value() == 2);
  InsertReference(db, {{"r02", "acme", kT0 + 2 * kSec}});
  BOOST_TEST(!PollOk<LedgerBatch>(hourly).queue_depth.has_value(), "skipped: the engine keeps the last value");
  BOOST_TEST(PollOk<LedgerBatch>(every).queue_depth.value() == 3);
  // A poll that fails after the count does not count as a measurement.
  Server().Exec(db, "CREATE TABLE test_div (n int NOT NULL); INSERT INTO test_div VALUES (0)");
  cfg.queue_depth_interval_ms = 3600 * 1000;
  cfg.queries.proofs_last = "SELECT max(v) FROM (SELECT 1 / n AS v FROM test_div) d";
  LedgerSource failing(cfg, Opts());
  BOOST_TEST(!failing.Poll().report.success);
  Server().Exec(db, "UPDATE test_div SET n = 1");
  BOOST_TEST(PollOk<LedgerBatch>(failing).queue_depth.value() == 3);
  BOOST_TEST(!PollOk<LedgerBatch>(failing).queue_depth.has_value());
}

BOOST_AUTO_TEST_CASE(prepared_statements_once_per_connection) {
  const std::string db = NewReferenceDb("prepared");
  config::Connection conf;
  conf.dsn = Server().Dsn(db);
  pq::Connection c(pq::OptionsFromConfig(conf));
  const std::string q = "SELECT $1::bigint + 1";
  for (int i = 0; i < 3; ++i) BOOST_TEST(c.ExecPrepared(q, {std::int64_t{i}}).int64(0, 0) == i + 1);
  BOOST_TEST(c.ExecPrepared("SELECT count(*) FROM pg_prepared_statements").int64(0, 0) == 2,
             "one statement per distinct SQL, the count query included");
  // The server forgot them (DISCARD ALL, e.g. a pooler): prepared again, once.
  c.Exec("DISCARD ALL");
  BOOST_TEST(c.ExecPrepared(q, {std::int64_t{41}}).int64(0, 0) == 42);
  // Errors are those of Exec: same kind, same server message.
  std::string plain, prepared;
  try {
    c.Exec("SELEC 1");
  } catch (const pq::PqError& e) {
    plain = e.what();
    BOOST_TEST(e.kind() == ErrorKind::kQuery);
  }
  try {
    c.ExecPrepared("SELEC 1");
  } catch (const pq::PqError& e) {
    prepared = e.what();
    BOOST_TEST(e.kind() == ErrorKind::kQuery);
  }
  BOOST_TEST(!plain.empty());
  BOOST_TEST(prepared == plain);
  BOOST_TEST(c.ExecPrepared(q, {std::int64_t{1}}).int64(0, 0) == 2, "the connection is still usable");
  // A new connection (a reconnect) prepares its own.
  pq::Connection c2(pq::OptionsFromConfig(conf));
  BOOST_TEST(c2.ExecPrepared("SELECT count(*) FROM pg_prepared_statements").int64(0, 0) == 1);
}

BOOST_AUTO_TEST_CASE(prepared_statements_false_prepares_nothing) {
  // For poolers that cannot keep prepared statements: every statement is
  // sent with its text (PQexecParams / PQsendQueryParams), same results.
  const std::string db = NewReferenceDb("unprepared");
  config::Connection conf;
  conf.dsn = Server().Dsn(db);
  conf.prepared_statements = false;
  pq::Connection c(pq::OptionsFromConfig(conf));
  const std::string q = "SELECT $1::bigint + 1";
  for (int i = 0; i < 3; ++i) BOOST_TEST(c.ExecPrepared(q, {std::int64_t{i}}).int64(0, 0) == i + 1);
  c.SendPrepared(q, {std::int64_t{9}});
  BOOST_TEST(c.GetResult().int64(0, 0) == 10);
  BOOST_TEST(c.ExecPrepared("SELECT count(*) FROM pg_prepared_statements").int64(0, 0) == 0);
}

BOOST_AUTO_TEST_CASE(pipelined_statement_send_get_and_abandon) {
  const std::string db = NewReferenceDb("pipeline");
  config::Connection conf;
  conf.dsn = Server().Dsn(db);
  pq::Connection c(pq::OptionsFromConfig(conf));
  c.SendPrepared("SELECT $1::bigint * 2", {std::int64_t{21}});
  BOOST_TEST(c.in_flight());
  BOOST_CHECK_THROW(c.ExecPrepared("SELECT 1"), pq::PqError);   // one statement at a time
  c.Consume();
  BOOST_TEST(c.GetResult().int64(0, 0) == 42);
  BOOST_TEST(!c.in_flight());
  // Errors come from GetResult, like ExecPrepared's.
  c.SendPrepared("SELECT 1 / $1::int", {std::int64_t{0}});
  try {
    c.GetResult();
    BOOST_ERROR("division by zero not reported");
  } catch (const pq::PqError& e) {
    BOOST_TEST(Contains(e.what(), "division by zero"), e.what());
    BOOST_TEST(e.kind() == ErrorKind::kQuery);
  }
  // Abandon: a long statement is cancelled and drained, the connection stays usable.
  const auto t = std::chrono::steady_clock::now();
  c.SendPrepared("SELECT pg_sleep($1::float8)", {std::string("5")});
  std::this_thread::sleep_for(100ms);
  c.Abandon();
  BOOST_TEST(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count() < 3.0);
  BOOST_TEST(!c.in_flight());
  BOOST_TEST(c.ExecPrepared("SELECT 7::bigint").int64(0, 0) == 7);
}

BOOST_AUTO_TEST_CASE(pipelined_pages_same_rows_as_one_page_at_a_time) {
  // Pages of 2 over 9 receipts (three share a timestamp across a page cut):
  // the pipelined read returns the rows of the plain read, each once; a
  // contract violation on a later page still fails the read and leaves the
  // connection usable (the statement sent ahead is abandoned).
  const std::string db = NewReferenceDb("pipepages");
  std::vector<Rx> rows;
  for (int i = 0; i < 9; ++i) rows.push_back({RxId(i), "acme", kT0 + kSecs[i] * kSec});
  InsertReference(db, rows);
  config::Connection conf;
  conf.dsn = Server().Dsn(db);
  pq::Connection c(pq::OptionsFromConfig(conf));
  for (bool pipeline : {false, true}) {
    BOOST_TEST_CONTEXT("pipeline " << pipeline) {
      detail::StreamSpec spec{kDefaultReceiptsQuery, "receipts", 10, 9, 0, kT0 + 3600 * kSec, 2, 0, nullptr,
                              pipeline};
      StreamCursor cur;
      Strings ids;
      int pages = 0;
      const auto read = detail::ReadStream(
          c, spec, cur, [&](const pq::Result& r, int i) { ids.emplace_back(r.text(i, 0)); }, [&] { ++pages; });
      BOOST_TEST(read.rows == 9u);
      BOOST_TEST(pages == 5);
      BOOST_TEST(ids == FirstIds(9), boost::test_tools::per_element());
      BOOST_TEST(cur.id == "r08");
      BOOST_TEST(!c.in_flight());
    }
  }
  // Rows after the horizon on page 2: refused; the page-3 statement sent ahead is dropped.
  detail::StreamSpec bad{kDefaultReceiptsQuery, "receipts", 10, 9, 0, kT0 + 3600 * kSec, 2, 0, nullptr, true};
  bad.sql = "SELECT receipt_id, tenant_id, op_id, region, policy_version, kid, version, body::text, content_hash, "
            "CASE WHEN receipt_id = 'r02' THEN 9000000000000000000 ELSE "
            "(extract(epoch FROM created_at) * 1000000)::bigint END FROM receipts "
            "WHERE (created_at, receipt_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
            "AND created_at <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
            "ORDER BY created_at, receipt_id LIMIT $4::bigint";
  StreamCursor cur;
  try {
    detail::ReadStream(c, bad, cur, [](const pq::Result&, int) {});
    BOOST_ERROR("contract violation not reported");
  } catch (const pq::PqError& e) {
    BOOST_TEST(Contains(e.what(), "after the horizon"), e.what());
  }
  BOOST_TEST(!c.in_flight());
  BOOST_TEST(c.ExecPrepared("SELECT 1::bigint").int64(0, 0) == 1);
}
