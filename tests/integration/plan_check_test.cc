// The stream-query plan check (source/plan_check.hh) on a real PostgreSQL:
// at connect, each source EXPLAINs its stream queries; a keyset that no index
// can serve is a warning with the plan and the CREATE INDEX to run, and
// provledger_exporter_query_plan_unindexed{source,query} 1.
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE integration_plan_check
#include <boost/test/unit_test.hpp>

#include <map>

#include "common.hh"
#include "compute/engine.hh"
#include "render/exposition.hh"
#include "source/ledger_source.hh"
#include "source/trace_source.hh"

using namespace provledger;
using namespace provledger::itest;
using namespace provledger::source;

namespace {

constexpr Micros kT0 = 1'700'000'000'000'000;
constexpr Micros kSec = 1'000'000;

std::map<std::string, bool> Plans(const PollResult& r) {
  BOOST_TEST_REQUIRE(r.report.success, "poll failed: " << r.report.error);
  return {r.report.plans_unindexed.begin(), r.report.plans_unindexed.end()};
}

SourceOptions Opts(CapturedLog& log) {
  SourceOptions o;
  o.log = log.Fn();
  return o;
}

// Enough rows that a sequential scan is what the planner would pick anyway.
void FillSpans(const std::string& db, int n) {
  Server().Exec(db, "INSERT INTO spans (trace_id, span_id, tenant_id, op_id, name, start_time, end_time) "
                    "SELECT 't' || g, 's' || g, 'acme', 'op' || g, 'op', "
                    "timestamptz 'epoch' + (1700000000 + g) * interval '1 second', "
                    "timestamptz 'epoch' + (1700000001 + g) * interval '1 second' "
                    "FROM generate_series(1, " + std::to_string(n) + ") g; ANALYZE spans");
}

}  // namespace

BOOST_AUTO_TEST_CASE(reference_schema_no_warning) {
  const std::string db = NewReferenceDb("planref");
  FillSpans(db, 2000);
  SetClock(db, kT0 + 3600 * kSec);
  CapturedLog log;
  config::Ledger lc = LedgerConfig(db, "l");
  lc.queries.clock = kFakeClockQuery;
  LedgerSource ls(lc, Opts(log));
  const auto lp = Plans(ls.Poll());
  BOOST_TEST(lp.size() == 2u);
  BOOST_TEST(lp.at("receipts") == false);
  BOOST_TEST(lp.at("anchored") == false);
  // Checked at connect only: the next poll on the same connection does not.
  BOOST_TEST(Plans(ls.Poll()).empty());

  config::TraceStore tc = TraceConfig(db, "t");
  tc.queries.clock = kFakeClockQuery;
  TraceSource ts(tc, Opts(log));
  const auto tp = Plans(ts.Poll());
  BOOST_TEST(tp.size() == 1u);
  BOOST_TEST(tp.at("spans") == false);
  BOOST_TEST(log.Count("cannot use an index") == 0, log.All());
  BOOST_TEST(log.Count("could not check") == 0, log.All());
}

BOOST_AUTO_TEST_CASE(spans_index_dropped_warns_with_the_create_index) {
  const std::string db = NewReferenceDb("plandrop");
  Server().Exec(db, "DROP INDEX spans_start_idx");
  FillSpans(db, 2000);
  SetClock(db, kT0 + 3600 * kSec);
  CapturedLog log;
  config::TraceStore tc = TraceConfig(db, "t");
  tc.queries.clock = kFakeClockQuery;
  TraceSource ts(tc, Opts(log));
  PollResult r = ts.Poll();
  const auto tp = Plans(r);
  BOOST_TEST(tp.at("spans") == true);
  BOOST_TEST(log.Count("cannot use an index on its keyset columns") == 1, log.All());
  BOOST_TEST(log.Count("source=t") >= 1);
  BOOST_TEST(log.Count("query=spans") == 1, log.All());
  BOOST_TEST(log.Count("index=CREATE INDEX CONCURRENTLY ON spans (start_time, span_id) WHERE op_id IS NOT NULL;") == 1,
             log.All());
  BOOST_TEST(log.Count("plan=Limit -> Sort -> Seq Scan on spans") == 1, log.All());

  // The metric, through the engine and the renderer.
  config::Config cfg;
  cfg.ledgers.push_back(LedgerConfig(db, "l"));
  cfg.trace_stores.push_back(tc);
  compute::Engine engine(compute::EngineOptions::FromConfig(cfg));
  engine.RecordPoll(r.report);
  const std::string text =
      render::RenderExposition(engine.MakeSnapshot(kT0), render::ProcessStats{}, render::BuildInfo{"v", "r"}).text;
  BOOST_TEST(text.find("provledger_exporter_query_plan_unindexed{source=\"t\",query=\"spans\"} 1\n") !=
                 std::string::npos,
             text);

  // Fixed with the advised statement (without CONCURRENTLY: one transaction here),
  // the next connection finds the index.
  Server().Exec(db, "CREATE INDEX ON spans (start_time, span_id) WHERE op_id IS NOT NULL");
  ts.Close();
  PollResult again = ts.Poll();
  BOOST_TEST(Plans(again).at("spans") == false);
  engine.RecordPoll(again.report);
  const std::string fixed =
      render::RenderExposition(engine.MakeSnapshot(kT0), render::ProcessStats{}, render::BuildInfo{"v", "r"}).text;
  BOOST_TEST(fixed.find("provledger_exporter_query_plan_unindexed{source=\"t\",query=\"spans\"} 0\n") !=
                 std::string::npos,
             fixed);
}

BOOST_AUTO_TEST_CASE(receipts_index_dropped_names_the_receipts_query) {
  const std::string db = NewReferenceDb("plandropr");
  Server().Exec(db, "DROP INDEX receipts_created_idx");
  SetClock(db, kT0 + 3600 * kSec);
  CapturedLog log;
  config::Ledger lc = LedgerConfig(db, "l");
  lc.queries.clock = kFakeClockQuery;
  LedgerSource ls(lc, Opts(log));
  const auto lp = Plans(ls.Poll());
  BOOST_TEST(lp.at("receipts") == true);
  BOOST_TEST(lp.at("anchored") == false);
  BOOST_TEST(log.Count("index=CREATE INDEX CONCURRENTLY ON receipts (created_at, receipt_id);") == 1, log.All());
}

BOOST_AUTO_TEST_CASE(millisecond_variant_indexed_on_the_ms_column_no_warning) {
  const std::string db = NewVariantDb("planms");
  SetClock(db, kT0 + 3600 * kSec);
  for (const bool coarse : {false, true}) {
    CapturedLog log;
    config::Ledger lc = LedgerConfig(db, "l");
    lc.queries = coarse ? CoarseVariantLedgerQueries() : VariantLedgerQueries();
    LedgerSource ls(lc, Opts(log));
    const auto lp = Plans(ls.Poll());
    BOOST_TEST(lp.at("receipts") == false);
    BOOST_TEST(lp.at("anchored") == false);
    config::TraceStore tc = TraceConfig(db, "t");
    tc.queries = coarse ? CoarseVariantTraceQueries() : VariantTraceQueries();
    TraceSource ts(tc, Opts(log));
    BOOST_TEST(Plans(ts.Poll()).at("spans") == false);
    BOOST_TEST(log.Count("cannot use an index") == 0, log.All());
  }
  // ... and without its index, the variant is found too.
  Server().Exec(db, "DROP INDEX trace_events_started_idx");
  CapturedLog log;
  config::TraceStore tc = TraceConfig(db, "t");
  tc.queries = VariantTraceQueries();
  TraceSource ts(tc, Opts(log));
  BOOST_TEST(Plans(ts.Poll()).at("spans") == true);
  BOOST_TEST(log.Count("index=CREATE INDEX CONCURRENTLY ON trace_events (started_ms, sid) WHERE operation IS NOT NULL;") ==
                 1,
             log.All());
}

BOOST_AUTO_TEST_CASE(a_query_that_cannot_be_explained_does_not_fail_the_poll_check) {
  // EXPLAIN of the override fails (the function does not exist): logged; the
  // poll then fails on the query itself, as without the check.
  const std::string db = NewReferenceDb("planbad");
  SetClock(db, kT0 + 3600 * kSec);
  CapturedLog log;
  config::TraceStore tc = TraceConfig(db, "t");
  tc.queries.clock = kFakeClockQuery;
  tc.queries.spans = "SELECT no_such_function($1, $2, $3, $4)";
  TraceSource ts(tc, Opts(log));
  PollResult r = ts.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.error.find("no_such_function") != std::string::npos, r.report.error);
  BOOST_TEST(log.Count("could not check the stream query's plan") == 1, log.All());
  BOOST_TEST(r.report.plans_unindexed.empty());
}
