// The database stops and starts again under a running source: polls fail
// with kConnect while it is down, cursors stay, and after the restart the
// next poll returns exactly the rows not yet returned. Its own binary
// (own server) because it stops the server.
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE integration_outage
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "common.hh"
#include "source/ledger_source.hh"
#include "source/trace_source.hh"

using namespace provledger;
using namespace provledger::itest;
using namespace provledger::source;

namespace provledger {
inline std::ostream& operator<<(std::ostream& os, ErrorKind k) { return os << ErrorKindName(k); }
namespace source {
inline std::ostream& operator<<(std::ostream& os, const StreamCursor& c) { return os << c.ts << "/" << c.id; }
}  // namespace source
}  // namespace provledger

namespace {
constexpr Micros kT0 = 1'700'000'000'000'000;
constexpr Micros kMs = 1000;
int K(ErrorKind k) { return static_cast<int>(k); }

std::vector<std::string> Ids(const LedgerBatch& b) {
  std::vector<std::string> out;
  for (const auto& r : b.receipts) out.push_back(r.receipt_id);
  return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(database_stopped_mid_run_nothing_lost_nothing_twice) {
  const std::string db = NewReferenceDb("outage");
  SetClock(db, kT0 + 3600LL * 1000000);
  InsertReference(db, {{"o1", "acme", kT0 + 1 * kMs}, {"o2", "acme", kT0 + 2 * kMs}, {"o3", "acme", kT0 + 3 * kMs}});
  config::Ledger cfg = LedgerConfig(db, "eu");
  cfg.queries.clock = kFakeClockQuery;
  cfg.conn.connect_timeout_ms = 2000;
  CapturedLog log;
  SourceOptions o;
  o.log = log.Fn();
  LedgerSource src(cfg, o);
  config::TraceStore tcfg = TraceConfig(db, "tr");
  tcfg.queries.clock = kFakeClockQuery;
  TraceSource traces(tcfg, o);

  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ids(std::get<LedgerBatch>(r.batch)) == (std::vector<std::string>{"o1", "o2", "o3"}),
             boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(traces.Poll().report.success);
  const LedgerCursors before = src.cursors();

  // Written after the last poll, before the outage.
  InsertReference(db, {{"o4", "acme", kT0 + 4 * kMs}, {"o5", "acme", kT0 + 5 * kMs}});
  Server().Stop();

  for (int i = 0; i < 2; ++i) {   // the open connection dies, then reconnects are refused
    const auto t = std::chrono::steady_clock::now();
    r = src.Poll();
    BOOST_TEST(!r.report.success);
    BOOST_TEST(r.report.errors[K(ErrorKind::kConnect)] == 1u, r.report.error);
    BOOST_TEST(std::holds_alternative<std::monostate>(r.batch));
    BOOST_TEST(src.cursors().receipts == before.receipts);
    BOOST_TEST(src.cursors().anchored == before.anchored);
    BOOST_TEST((std::chrono::steady_clock::now() - t < std::chrono::seconds(4)));
    PollResult tr = traces.Poll();
    BOOST_TEST(tr.report.errors[K(ErrorKind::kConnect)] == 1u, tr.report.error);
  }

  Server().Start();
  InsertReference(db, {{"o6", "acme", kT0 + 6 * kMs}, {"o7", "acme", kT0 + 7 * kMs}});
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ids(std::get<LedgerBatch>(r.batch)) == (std::vector<std::string>{"o4", "o5", "o6", "o7"}),
             boost::test_tools::per_element());
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success);
  BOOST_TEST(Ids(std::get<LedgerBatch>(r.batch)).empty());
  BOOST_TEST(traces.Poll().report.success);
  BOOST_TEST(log.Count("connection lost") == 2, log.All());
}

BOOST_AUTO_TEST_CASE(database_down_at_start) {
  const std::string db = NewReferenceDb("downstart");
  SetClock(db, kT0 + 3600LL * 1000000);
  InsertReference(db, {{"d1", "acme", kT0}});
  Server().Stop();
  config::Ledger cfg = LedgerConfig(db, "late");
  cfg.queries.clock = kFakeClockQuery;
  LedgerSource src(cfg, SourceOptions{});
  PollResult r = src.Poll();
  BOOST_TEST(r.report.errors[K(ErrorKind::kConnect)] == 1u);
  BOOST_TEST(!r.report.error.empty());
  Server().Start();
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ids(std::get<LedgerBatch>(r.batch)) == (std::vector<std::string>{"d1"}), boost::test_tools::per_element());
}
