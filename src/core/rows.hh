// Typed rows that sources hand to the pure core. No I/O, no third-party includes.
//
// Time is always Unix epoch microseconds (Micros) in UTC, whatever the
// database stores; queries convert (the default queries return epoch µs, so
// keyset cursors are exact for PostgreSQL timestamptz).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace provledger {

using Micros = std::int64_t;

inline constexpr Micros kMinMicros = INT64_MIN / 4;  // "nothing read yet"
inline constexpr Micros kMaxMicros = INT64_MAX / 4;  // "no limit"

// One receipt as read from a ledger's receipts table (already decoded and
// validated by decode::DecodeReceipt).
struct ReceiptRow {
  std::string receipt_id;
  std::string tenant;
  std::string op_id;
  std::string region;
  std::string policy_version;
  std::string kid;
  int version = 2;             // 1 (untyped JSON body) or 2 (typed body)
  std::string content_hash;
  Micros created_at = 0;
};

// A receipt that became anchored: one row per receipt, keyed by anchored_at.
struct AnchoredRow {
  std::string receipt_id;
  std::string tenant;
  Micros created_at = 0;
  Micros anchored_at = 0;
};

// One traced operation (a span carrying tenant and op_id).
struct SpanRow {
  std::string trace_id;
  std::string span_id;
  std::string tenant;
  std::string op_id;
  Micros start = 0;
  std::string attested_hash;   // the receipt hash the API recorded; may be empty
  std::string name;            // span name (the operation kind); "" when the spans query returns none
};

struct FlagRow {
  std::string tenant;
  std::string feature;
  double pct = 0;
};

// Poll error classes, the `kind` label of provledger_exporter_poll_errors_total.
enum class ErrorKind { kConnect = 0, kQuery = 1, kDecode = 2, kTimeout = 3 };
inline constexpr int kErrorKinds = 4;
const char* ErrorKindName(ErrorKind k);

enum class SourceKind { kLedger, kTraces, kFlags };
const char* SourceKindName(SourceKind k);

// What one ledger poll produced. Streams are keyset-read up to a horizon:
// every row whose timestamp is <= *_complete_upto has been delivered in this
// or an earlier batch (within the out-of-order bound).
struct LedgerBatch {
  std::string source;              // ledger name from the config
  std::string region;              // ledger region from the config
  std::vector<ReceiptRow> receipts;
  std::vector<AnchoredRow> anchored;
  std::optional<std::int64_t> queue_depth;    // receipts not yet anchored
  std::optional<double> proofs_last_ts;       // Unix seconds of newest notary proof
  Micros receipts_complete_upto = kMinMicros;
  Micros anchored_complete_upto = kMinMicros;
  // The receipts stream stopped short of its live horizon (now - out_of_order):
  // at the read limit or at max_rows_per_poll. Meaningful with a complete_upto.
  bool receipts_limited = false;
};

struct TraceBatch {
  std::string source;
  std::vector<SpanRow> spans;
  Micros complete_upto = kMinMicros;
  // The read stopped short of its live horizon (at the read limit or at
  // max_rows_per_poll). Meaningful with a complete_upto.
  bool limited = false;
};

// Flags replace the previous set of the same source wholesale.
struct FlagsBatch {
  std::string source;
  std::vector<FlagRow> flags;
};

// Health of one poll of one source, recorded by the poller.
struct PollReport {
  std::string source;
  SourceKind kind = SourceKind::kLedger;
  bool success = false;
  double duration_seconds = 0;
  std::uint64_t rows_read = 0;
  // Errors seen during this poll by kind (decode errors can accompany a success).
  std::uint64_t errors[kErrorKinds] = {0, 0, 0, 0};
  Micros finished_at = 0;          // exporter wall clock, epoch µs
  std::string error;               // last error text when !success (never holds a password)
  // Stream queries whose plan was checked during this poll (at connect, see
  // source/plan_check.hh): query name -> true when no index on its keyset
  // can serve it. Kept whether or not the poll succeeded.
  std::vector<std::pair<std::string, bool>> plans_unindexed;
};

}  // namespace provledger
