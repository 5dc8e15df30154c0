// An immutable picture of everything /metrics shows, produced by the pure
// core after each poll and published whole. Rendering reads only this.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/rows.hh"

namespace provledger::compute {

struct HistogramData {
  std::vector<std::uint64_t> bucket_counts;  // per configured upper bound, NOT cumulative
  std::uint64_t count = 0;                    // all observations (the +Inf bucket)
  double sum = 0;
};

struct TenantCoverage {
  std::string tenant;
  std::uint64_t settled_in_window = 0;   // denominator
  std::uint64_t with_receipt = 0;        // numerator (attested + divergent)
  double pct = 0;                         // 100 * with_receipt / settled_in_window
};

struct SettledCounts {
  std::uint64_t attested = 0;
  std::uint64_t missing = 0;
  std::uint64_t divergent = 0;
};

struct SourceHealth {
  std::string name;
  SourceKind kind = SourceKind::kLedger;
  bool up = false;
  bool polled = false;                     // at least one poll finished
  double last_success_seconds = 0;         // Unix seconds; 0 = never
  double last_poll_duration_seconds = 0;
  std::string last_error;                  // empty when the last poll succeeded
  std::uint64_t rows_read = 0;
  std::uint64_t errors[kErrorKinds] = {0, 0, 0, 0};
  HistogramData poll_duration;             // buckets: Snapshot::poll_duration_buckets
  // Stream query -> its keyset cannot use an index (last plan check; absent
  // until the query was checked).
  std::map<std::string, bool> plan_unindexed;
};

// The evidence export API's jobs (src/evidence_api), set by the app when the
// API is enabled; rendered only when `enabled`.
struct EvidenceJobStats {
  bool enabled = false;
  std::string api_path;         // "/api/v1/evidence/exports" (the landing page links it)
  std::uint64_t done = 0;       // jobs finished with a bundle, since the process started
  std::uint64_t failed = 0;     // jobs that failed (including those found unfinished at start)
  std::uint64_t rejected = 0;   // submissions refused because the queue was full (429)
  std::vector<double> duration_buckets;   // seconds
  HistogramData duration;                 // running -> done/failed, seconds
  std::uint64_t queued = 0;               // waiting for a worker
  std::uint64_t running = 0;
};

struct Snapshot {
  Micros now = 0;                          // when the snapshot was computed
  Micros window_end = kMinMicros;          // E: ops with span start in (E - window, E] are covered
  Micros window_start = kMinMicros;

  std::vector<TenantCoverage> coverage;                      // sorted by tenant; only tenants with settled ops in window
  std::map<std::string, std::uint64_t> divergence;           // tenant -> attest_divergence_count
  std::map<std::string, SettledCounts> settled;              // tenant -> attest_ops_settled_total by outcome

  std::vector<double> latency_bounds_ms;                     // histogram upper bounds
  bool latency_per_tenant = true;
  // (region, tenant) -> histogram; tenant is "" when latency_per_tenant is false.
  std::map<std::pair<std::string, std::string>, HistogramData> anchor_latency;

  std::map<std::string, std::int64_t> queue_depth;           // region -> anchor_queue_depth
  std::map<std::string, double> proofs_last_ts;              // region -> Unix seconds
  std::map<std::pair<std::string, std::string>, double> ramp;  // (tenant, feature) -> pct

  std::vector<SourceHealth> sources;                         // in config order
  std::vector<double> poll_duration_buckets;                 // seconds
  std::uint64_t tenants = 0;                                 // distinct tenants admitted
  std::uint64_t tenants_dropped = 0;                         // distinct tenants refused by the cap
  std::uint64_t pending_ops = 0;                             // traced ops not yet settled
  std::uint64_t window_ops = 0;                              // settled ops held for the coverage window
  std::uint64_t held_receipts = 0;                           // distinct receipt ids held for matching
  std::uint64_t state_write_errors = 0;                      // failed state-file writes (set by the app)
  EvidenceJobStats evidence_jobs;                            // set by the app
};

}  // namespace provledger::compute
