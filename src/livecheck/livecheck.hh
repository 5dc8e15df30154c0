// --config.check-live: the configuration checked against the live databases.
//
// After the file itself validates (as --config.check), every SQL source
// (ledgers, trace stores, the SQL flags source) is connected to and each of
// its queries, the configured override or the built-in default, is checked
// without being run for real:
// - it prepares (PQprepare) and is described (PQdescribePrepared): the
//   parameter count (4 for stream queries, none for the others) and the
//   result columns' count and types against the query contract (README,
//   "Queries"): timestamps bigint epoch microseconds (a timestamptz, a
//   numeric or an int4 is a problem), no bytea where text is read (its text
//   form is \x-escaped), integers for the queue depth, numbers for ramps;
// - stream queries are EXPLAINed as at run time (source/plan_check.hh): a
//   keyset no index can serve is a warning;
// - a few rows are read from the coverage window (clock - window - grace to
//   the horizon, at most 50): timestamps must look like microseconds (not
//   milliseconds or seconds), and the ledgers' content_hash values and the
//   trace stores' attested_hash values must have a common shape (hex case,
//   \x escape, length): otherwise no span can match a receipt and every
//   operation would be divergent.
// Problems and warnings are printed as FILE:LINE:COLUMN: anchored at the
// query's value in the file (at the source's mapping for a default query, at
// its dsn for a connection failure).
//
// Exit status (CheckConfigLive): 0 = no problem (warnings may be printed),
// 1 = the file is invalid or a live problem was found (also: a source cannot
// be reached).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace provledger::livecheck {

// What a result column must hold (README "Queries").
enum class ColKind {
  kText,     // any type with a usable text form (not bytea)
  kHash,     // as kText; its values' shapes are compared across sources
  kMicros,   // bigint epoch microseconds
  kInt,      // an integer type
  kNumber,   // an integer, floating point or numeric type
  kAny,
};
struct ColumnSpec {
  std::string_view name;
  ColKind kind;
};

// The result columns of query `query` ("clock", "receipts", "anchored",
// "queue_depth", "proofs_last", "spans", "flags"); empty for another name.
std::span<const ColumnSpec> Contract(std::string_view query);
// Parameters the exporter passes: 4 for stream queries, 0 for the others.
int ContractParams(std::string_view query);

// "" when a column of type `type_oid` (named `type_name`) satisfies `spec`,
// else the problem, with the fix when there is a usual one. Pure.
std::string CheckColumnType(const ColumnSpec& spec, unsigned type_oid, std::string_view type_name);

// The shape of a hash value's text: "hex/64" (lower-case hex digits, 64 of
// them), "HEX/64" (upper case), "bytea-escape/66" ("\x" + hex), "base64/44",
// "other/N". Two hashes can be equal only if their shapes are. Pure.
std::string HashShape(std::string_view value);

// True when `ts` (a timestamp read from a row) is too small by a factor of
// ~1000 or more to be epoch microseconds near `now_us`: milliseconds or
// seconds. Pure.
bool LooksCoarserThanMicros(std::int64_t ts, std::int64_t now_us);

// Loads `path`, checks it against the live databases; problems to `err`,
// warnings and the summary to `out`. Returns the exit status above.
int CheckConfigLive(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace provledger::livecheck
