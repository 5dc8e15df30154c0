// Does a stream query use an index on its keyset? A keyset poll costs what
// the new rows cost only when PostgreSQL can start at the cursor through an
// index on the keyset columns; without one, every poll reads the whole table
// (a sequential scan, or a full index scan filtered row by row).
//
// CheckStreamPlan runs EXPLAIN (never EXPLAIN ANALYZE: the query is planned,
// not run) with representative parameters: the cursor one minute before the
// database clock, the horizon at the clock, the page limit. The plan is
// "indexed" when some node has an Index Cond that names the query's first
// ORDER BY column (or, when that is not a plain column, any Index Cond).
// When the plan PostgreSQL chooses is not indexed, it is planned again with
// enable_seqscan off (in a transaction that is rolled back): a plan that then
// is indexed means an index exists and the planner only prefers a scan at the
// table's current size (a small table): not reported. Still not indexed: no
// index can serve the keyset, and the finding says so, with the chosen plan's
// nodes and an index that would serve it (IndexAdvice).
//
// The pure parts (JudgePlan, ParseKeysetShape, IndexAdvice) are tested
// without a database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/rows.hh"
#include "pq/connection.hh"

namespace provledger::source {

struct PlanVerdict {
  bool indexed = false;
  // The plan's top node down to the first node that reads a table, e.g.
  // "Limit -> Sort -> Seq Scan on spans".
  std::string path;
};

// Judges the JSON of EXPLAIN (FORMAT JSON). `key_column` is the first ORDER BY
// column (lower case, unqualified) or "" when unknown. Throws
// std::invalid_argument when `json` is not an EXPLAIN JSON document.
PlanVerdict JudgePlan(std::string_view json, std::string_view key_column);

// What a simple stream query reads, recovered from its SQL text: the table
// after the outer FROM (when it is one table, no join), the ORDER BY columns
// (when each is a plain column) and the top-level "col IS NOT NULL" terms of
// the WHERE clause (an index may be partial on them).
struct KeysetShape {
  std::string table;                    // "" when not one plain table
  std::vector<std::string> order_by;    // empty when an item is not a plain column
  std::vector<std::string> not_null;    // columns with a top-level IS NOT NULL
  std::string key_column() const { return order_by.empty() ? std::string() : order_by.front(); }
};
KeysetShape ParseKeysetShape(std::string_view sql);

// The advice of a finding: "CREATE INDEX CONCURRENTLY ON spans (start_time,
// span_id) WHERE op_id IS NOT NULL;" when the shape is complete, else a
// sentence naming the columns (or the ORDER BY) the index must cover.
std::string IndexAdvice(const KeysetShape& shape);

struct PlanFinding {
  std::string query;       // "receipts", "anchored", "spans"
  bool unindexed = false;  // no index on the keyset can serve the query
  std::string plan;        // PlanVerdict::path of the plan PostgreSQL chose
  std::string advice;      // IndexAdvice (set when unindexed)
};

// EXPLAINs `sql` (a stream query: $1 after_us, $2 after_id, $3 upto_us,
// $4 limit) on `c` as described above, with $1 = now_us - 60 s (a whole
// second), $2 = "", $3 = now_us, $4 = limit. Throws pq::PqError when EXPLAIN
// fails (the query does not parse, the connection is lost); the transaction
// is rolled back in any case.
PlanFinding CheckStreamPlan(pq::Connection& c, std::string_view query, std::string_view sql, Micros now_us,
                            std::int64_t limit);

}  // namespace provledger::source
