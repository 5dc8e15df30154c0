// Validated configuration. Every field has its default here; the YAML loader
// (config/load.hh) fills what the file sets and rejects anything else.
// Durations are milliseconds (suffix _ms). Pure structs: no yaml-cpp types leak out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/rows.hh"

namespace provledger::config {

// SQL a ledger runs. Empty = the built-in default for the reference schema
// (source/queries.hh). Parameters and result columns are documented in the
// README ("Queries") and in source/queries.hh.
struct LedgerQueries {
  std::string clock;        // -> now_us bigint
  std::string receipts;     // ($1 after_us, $2 after_id, $3 upto_us, $4 limit)
  std::string anchored;     // ($1 after_us, $2 after_id, $3 upto_us, $4 limit)
  std::string queue_depth;  // -> depth bigint
  std::string proofs_last;  // -> proved_at_us bigint (NULL when none)
};

struct TraceQueries {
  std::string clock;
  std::string spans;        // ($1 after_us, $2 after_span_id, $3 upto_us, $4 limit)
};

struct Connection {
  std::string dsn;                  // libpq conninfo string or URI, without password
  std::string password_file;        // optional: file holding the password
  std::string password_env;         // optional: environment variable holding it
  std::int64_t connect_timeout_ms = 5000;
  std::int64_t statement_timeout_ms = 10000;
  // Prepare each statement once per connection (PQprepare). false: send every
  // statement with PQexecParams, for poolers that cannot keep prepared
  // statements (PgBouncer in transaction pooling mode before 1.21).
  bool prepared_statements = true;
};

// Where a value is in the config file (1-based; 0 = not set there), for the
// messages of checks made after loading (--config.check-live).
struct Position {
  int line = 0;
  int column = 0;
};
// Key ("dsn", "receipts", "query", ...) -> its value's position; the source's
// own mapping is at key "".
using Positions = std::map<std::string, Position>;

struct Ledger {
  std::string name;                 // unique source name, used as the `source` label
  std::string region;               // `region` label of this ledger's series
  Connection conn;
  std::int64_t out_of_order_ms = 5000;   // rows committed later than this after their timestamp are missed
  // Rows per keyset page. One page (rows + its PGresult with receipt bodies,
  // ~0.7 KB per receipt) is what a poll holds in memory at a time; 5000 costs
  // one round trip per 5000 rows, paid only by catch-up polls.
  std::int64_t batch_size = 5000;
  // The queue-depth count(*) runs at most once per this interval (0 = every
  // poll); in between anchor_queue_depth keeps the last measured value.
  std::int64_t queue_depth_interval_ms = 30000;
  LedgerQueries queries;
  // How this ledger's anchor_hash is made. kRfc6962: the reference schema's
  // definition (config/schema/ledger.sql, docs/evidence.md), so evidence
  // bundles carry inclusion proofs the verifier checks. kOpaque: the hash
  // follows another rule; bundles carry it as is and the verifier reports
  // the receipt-to-anchor step as "unproven", never "ok".
  enum class AnchorRoot { kRfc6962, kOpaque };
  AnchorRoot anchor_root = AnchorRoot::kRfc6962;
  int line = 0;                     // position in the config file, for messages
  Positions positions;              // of the mapping (""), dsn and each query set
};

enum class TraceKind { kPostgres, kOtlpFile };

// kind: otlp_file: the OpenTelemetry Collector's file exporter output
// (README "OTLP file trace store").
struct OtlpFile {
  std::string path;                      // the live file; rotated siblings are name-<timestamp>.ext beside it
  std::string compression;               // "" or "zstd" (the exporter's length-prefixed zstd messages)
  std::string tenant_attribute = "provledger.tenant";
  std::string op_id_attribute = "provledger.op_id";
  std::string attested_hash_attribute = "provledger.attested_hash";
  std::vector<std::string> span_names;   // only spans with one of these names; empty = all
  std::int64_t max_line_bytes = 16 * 1024 * 1024;   // a longer line (message) is refused
};

struct TraceStore {
  std::string name;
  TraceKind kind = TraceKind::kPostgres;
  Connection conn;                       // kPostgres
  OtlpFile otlp;                         // kOtlpFile
  std::int64_t out_of_order_ms = 30000;  // spans are written when they end
  std::int64_t batch_size = 5000;        // rows per keyset page (see Ledger::batch_size)
  TraceQueries queries;
  int line = 0;
  Positions positions;              // of the mapping (""), dsn and each query set
};

enum class FlagsKind { kNone, kFile, kSql };

struct Flags {
  FlagsKind kind = FlagsKind::kNone;
  std::string name = "flags";
  std::string file;                 // kFile: path of flags.spec (YAML tenant -> feature -> percent)
  Connection conn;                  // kSql
  std::string query;                // kSql: -> tenant text, feature text, pct double precision
  Positions positions;              // of the mapping (""), dsn and query
};

struct Tenants {
  std::int64_t max = 10000;               // cap on distinct tenants exported
  std::vector<std::string> allow;         // ECMAScript regexes, full match; empty = all
  std::vector<std::string> deny;          // full-match regexes, applied after allow
  std::int64_t shard_index = 0;           // this replica's shard
  std::int64_t shard_total = 1;           // number of shards (1 = no sharding)
  std::int64_t max_name_bytes = 128;      // longer tenant names are decode errors
};

struct Coverage {
  std::int64_t window_ms = 3600 * 1000;   // 1h
  std::int64_t grace_ms = 120 * 1000;     // 2m receipt flush delay
};

struct Histogram {
  std::vector<double> anchor_latency_buckets_ms = {5, 10, 15, 20, 30, 50, 100, 250, 500};
  bool anchor_latency_per_tenant = true;
};

// Ramp recommendation thresholds (src/recommend, README "Ramp recommendations").
// Used by the coverage reporter and the ramp controller.
struct Recommend {
  double advance_min_coverage_pct = 99.5;     // advance at or above, with no divergence
  std::int64_t min_operations = 100;          // fewer settled operations: no coverage-based step
  double rollback_below_coverage_pct = 95.0;  // roll back below this coverage (0 disables)
  double rollback_drop_points = 2.0;          // roll back when coverage fell by more (negative disables)
  bool rollback_on_new_divergence = true;     // roll back when divergence appeared
  std::vector<double> steps = {10, 50, 100};  // ramp steps, strictly increasing, in (0, 100]
  int line = 0;                               // position of the `recommend` key (0 = not set)
};

struct Web {
  std::string listen_address = ":23473";
  std::string telemetry_path = "/metrics";
  std::int64_t max_requests = 40;         // concurrent HTTP worker threads
  std::string prometheus_url;             // optional: linked from the landing page
  std::string grafana_url;                // optional: the shipped dashboards linked from the landing page
};

// Evidence bundles (provledger_evidence, docs/evidence.md): JSON pointers
// (RFC 6901) masked in the receipt bodies copied into a bundle.
struct Evidence {
  std::vector<std::string> mask;                                     // every tenant
  std::vector<std::pair<std::string, std::vector<std::string>>> mask_by_tenant;   // tenant -> extra pointers

  // The async export API on the exporter's HTTP server (src/evidence_api,
  // docs/evidence.md "Async API"). Off unless enabled. Files are read once,
  // at start; a secret comes from a *_file path or a systemd credential name
  // (a file in $CREDENTIALS_DIRECTORY), exactly one of the two.
  struct Api {
    bool enabled = false;
    std::string tokens_file;              // bearer tokens (evidence_api/tokens.hh)
    std::string tokens_credential;
    std::string signing_key_file;         // Ed25519 private key (evidence/keys.hh)
    std::string signing_key_credential;
    std::string job_dir;                  // one directory per job: job.json + bundle.zip
    std::int64_t max_concurrent_jobs = 1;          // worker threads
    std::int64_t max_queued_jobs = 16;             // waiting jobs; more -> 429
    std::int64_t max_operations = 10000;           // per export
    std::int64_t max_request_bytes = 65536;        // POST body
    std::int64_t retention_ms = 24LL * 3600 * 1000;   // finished jobs are deleted after this
    std::int64_t max_disk_bytes = 1LL << 30;       // finished bundles in total; oldest deleted first
    std::int64_t statement_timeout_ms = 60000;     // each export query
    std::int64_t retry_after_ms = 30000;           // Retry-After of a 429
    int line = 0;                                  // position of `api`, for messages
  } api;
};

struct Config {
  std::string path;                       // file it was loaded from
  Web web;
  std::int64_t poll_interval_ms = 15000;
  std::string state_file;                 // empty = no state file
  std::int64_t state_max_divergence_keys = 1000000;
  std::int64_t log_bad_rows_per_minute = 10;   // rate limit of bad-row log lines per source
  // Rows one stream of a source reads per poll; a catch-up past it continues
  // in the next poll at once. 0 = no limit.
  std::int64_t max_rows_per_poll = 200000;
  Coverage coverage;
  Tenants tenants;
  Histogram histogram;
  Recommend recommend;
  std::vector<Ledger> ledgers;
  std::vector<TraceStore> trace_stores;
  Flags flags;
  Evidence evidence;
};

}  // namespace provledger::config
