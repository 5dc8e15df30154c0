// The pure parts of the stream-query plan check (source/plan_check.hh):
// judging EXPLAIN JSON, recovering the keyset shape from SQL, the advice.
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE unit_plan_check
#include <boost/test/unit_test.hpp>

#include <stdexcept>

#include "source/plan_check.hh"
#include "source/queries.hh"

using namespace provledger::source;
using Strings = std::vector<std::string>;

namespace {

// EXPLAIN (FORMAT JSON) output of PostgreSQL 15 (trimmed to the fields read).
constexpr const char* kSeqScanPlan = R"json([{"Plan": {"Node Type": "Limit", "Plans": [
  {"Node Type": "Sort", "Sort Key": ["spans.start_time", "spans.span_id"], "Plans": [
    {"Node Type": "Seq Scan", "Relation Name": "spans", "Alias": "spans",
     "Filter": "((op_id IS NOT NULL) AND (ROW(start_time, span_id) > ROW(...)))"}]}]}}])json";
constexpr const char* kIndexPlan = R"json([{"Plan": {"Node Type": "Limit", "Plans": [
  {"Node Type": "Index Scan", "Index Name": "spans_start_idx", "Relation Name": "spans",
   "Index Cond": "((ROW(start_time, span_id) > ROW(('1970-01-01'::timestamptz), ''::text)) AND (start_time <= '2023-11-14'::timestamptz))"}]}}])json";
// A full scan of the primary key, forced by enable_seqscan=off: no index condition.
constexpr const char* kFullIndexPlan = R"json([{"Plan": {"Node Type": "Limit", "Plans": [
  {"Node Type": "Sort", "Plans": [
    {"Node Type": "Index Scan", "Index Name": "receipts_pkey", "Relation Name": "receipts",
     "Filter": "(ROW(created_at, receipt_id) > ROW(...))"}]}]}}])json";
// An index on another column that happens to share a prefix with the key.
constexpr const char* kOtherIndexPlan = R"json([{"Plan": {"Node Type": "Limit", "Plans": [
  {"Node Type": "Bitmap Heap Scan", "Relation Name": "ledger_entries", "Recheck Cond": "(ts_ms_old > 5)", "Plans": [
    {"Node Type": "Bitmap Index Scan", "Index Name": "x", "Index Cond": "(ts_ms_old > 5)"}]}]}}])json";
constexpr const char* kMsIndexPlan = R"json([{"Plan": {"Node Type": "Limit", "Plans": [
  {"Node Type": "Index Scan", "Index Name": "ledger_entries_ts_idx", "Relation Name": "ledger_entries",
   "Index Cond": "((ts_ms >= ('1700000000000000'::bigint / 1000)) AND (ts_ms <= ('1'::bigint / 1000)))",
   "Filter": "(ROW((ts_ms * 1000), entry_uuid) > ROW(...))"}]}}])json";

}  // namespace

BOOST_AUTO_TEST_CASE(judge_plan) {
  PlanVerdict v = JudgePlan(kSeqScanPlan, "start_time");
  BOOST_TEST(!v.indexed);
  BOOST_TEST(v.path == "Limit -> Sort -> Seq Scan on spans");
  v = JudgePlan(kIndexPlan, "start_time");
  BOOST_TEST(v.indexed);
  BOOST_TEST(v.path == "Limit -> Index Scan using spans_start_idx on spans");
  BOOST_TEST(!JudgePlan(kIndexPlan, "span_id_x").indexed);
  BOOST_TEST(!JudgePlan(kFullIndexPlan, "created_at").indexed);
  BOOST_TEST(!JudgePlan(kOtherIndexPlan, "ts_ms").indexed);
  BOOST_TEST(JudgePlan(kOtherIndexPlan, "").indexed);   // key unknown: any index condition
  BOOST_TEST(JudgePlan(kMsIndexPlan, "ts_ms").indexed);
  BOOST_TEST(JudgePlan(kMsIndexPlan, "TS_MS").indexed);
  BOOST_CHECK_THROW(JudgePlan("not json", "x"), std::invalid_argument);
  BOOST_CHECK_THROW(JudgePlan("[]", "x"), std::invalid_argument);
  BOOST_CHECK_THROW(JudgePlan(R"({"Plan": {}})", "x"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(shape_and_advice_of_the_default_queries) {
  KeysetShape s = ParseKeysetShape(kDefaultSpansQuery);
  BOOST_TEST(s.table == "spans");
  BOOST_TEST(s.order_by == (Strings{"start_time", "span_id"}), boost::test_tools::per_element());
  BOOST_TEST(s.not_null == (Strings{"op_id"}), boost::test_tools::per_element());
  BOOST_TEST(IndexAdvice(s) == "CREATE INDEX CONCURRENTLY ON spans (start_time, span_id) WHERE op_id IS NOT NULL;");

  s = ParseKeysetShape(kDefaultReceiptsQuery);
  BOOST_TEST(IndexAdvice(s) == "CREATE INDEX CONCURRENTLY ON receipts (created_at, receipt_id);");
  s = ParseKeysetShape(kDefaultAnchoredQuery);
  BOOST_TEST(IndexAdvice(s) ==
             "CREATE INDEX CONCURRENTLY ON receipts (anchored_at, receipt_id) WHERE anchored_at IS NOT NULL;");
}

BOOST_AUTO_TEST_CASE(shape_of_other_queries) {
  // Aliases, schema, quoted identifiers, direction, comments and strings.
  KeysetShape s = ParseKeysetShape(
      "SELECT r.a, 'FROM x ORDER BY y' FROM ledger.\"Entries\" AS r -- ORDER BY z\n"
      "WHERE r.\"Sealed\" IS NOT NULL AND (r.ts, r.id) > ($1, $2) AND r.ts <= $3 "
      "ORDER BY r.ts ASC, r.\"Id\" LIMIT $4");
  BOOST_TEST(s.table == "ledger.\"Entries\"");
  BOOST_TEST(s.order_by == (Strings{"ts", "Id"}), boost::test_tools::per_element());
  BOOST_TEST(s.not_null == (Strings{"Sealed"}), boost::test_tools::per_element());
  BOOST_TEST(IndexAdvice(s) == "CREATE INDEX CONCURRENTLY ON ledger.\"Entries\" (ts, \"Id\") WHERE \"Sealed\" IS NOT NULL;");

  // A join: the table is not known; the columns are.
  s = ParseKeysetShape("SELECT a FROM t JOIN u ON t.k = u.k WHERE x > $1 ORDER BY t.ts, t.id LIMIT $4");
  BOOST_TEST(s.table.empty());
  BOOST_TEST(IndexAdvice(s) == "create an index on (ts, id) of the table the query reads");

  // An expression in ORDER BY: no columns.
  s = ParseKeysetShape("SELECT a FROM t WHERE x > $1 ORDER BY ts_ms * 1000, id LIMIT $4");
  BOOST_TEST(s.order_by.empty());
  BOOST_TEST(s.key_column().empty());
  BOOST_TEST(IndexAdvice(s).find("ORDER BY columns") != std::string::npos);

  // ORDER BY inside a subquery is not the outer one; IS NOT NULL under OR is not top level.
  s = ParseKeysetShape("SELECT * FROM (SELECT * FROM t ORDER BY q) s WHERE (a IS NOT NULL OR b) ORDER BY s.ts, s.id");
  BOOST_TEST(s.table.empty());
  BOOST_TEST(s.not_null.empty());
  BOOST_TEST(s.order_by == (Strings{"ts", "id"}), boost::test_tools::per_element());
}
