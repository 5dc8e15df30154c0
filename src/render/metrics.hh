// The one list of every metric provledger_exporter exposes: name, type and
// HELP text. Rendering (families.cc), the golden test and the README read
// names from here; nothing else spells a metric name.
//
// Contract:
// - Names are the seed's and common.md's, exactly; changing one breaks every
//   dashboard and rule, and the golden test.
// - HELP states the unit and that values come from the last poll (the
//   exposition is rendered once per poll, never per scrape).
// - prometheus-cpp 1.0.1 writes HELP unescaped, so HELP must not contain a
//   backslash or a newline; this is checked at compile time below.
// - Order of kMetrics is the order of families in the exposition.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include <prometheus/metric_type.h>

namespace provledger::render {

struct MetricDef {
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
};

using prometheus::MetricType;

// Business metrics (seed contract).
inline constexpr MetricDef kCoveragePct{
    "attest_coverage_pct", MetricType::Gauge,
    "Percent (0-100) of settled traced operations in the coverage window (span start in "
    "(E - window, E], E = now - grace once every source is read that far, see "
    "provledger_exporter_coverage_window_end_timestamp_seconds) that have a receipt in any "
    "ledger; no sample for a tenant without settled operations in the window; from the last poll."};
inline constexpr MetricDef kDivergenceCount{
    "attest_divergence_count", MetricType::Counter,
    "Operations whose span's attested hash differs from the ledger receipt's content hash, or "
    "whose receipt_id has different content hashes in two ledgers; each counted once ever; "
    "count, from the last poll."};
inline constexpr MetricDef kOpsSettled{
    "attest_ops_settled_total", MetricType::Counter,
    "Traced operations that settled (left the grace period), by outcome: attested (receipt "
    "found, hashes agree), missing (no receipt), divergent (hashes differ); count, from the "
    "last poll."};
inline constexpr MetricDef kAnchorLatency{
    "ledger_anchor_latency_ms", MetricType::Histogram,
    "Milliseconds from a receipt's creation to its anchoring (anchored_at - created_at), one "
    "observation per anchored receipt; from the last poll."};
inline constexpr MetricDef kQueueDepth{
    "anchor_queue_depth", MetricType::Gauge,
    "Receipts in the region's ledger not yet anchored; count, from the last poll."};
inline constexpr MetricDef kProofsLastTs{
    "proofs_last_ts", MetricType::Gauge,
    "Unix time in seconds of the newest notary proof in the region's ledger; from the last "
    "poll."};
inline constexpr MetricDef kFlagRampPct{
    "flag_ramp_pct", MetricType::Gauge,
    "Rollout percent (0-100) of a feature for a tenant, from the flags source; from the last "
    "poll."};

// Exporter health.
inline constexpr MetricDef kSourceUp{
    "provledger_exporter_source_up", MetricType::Gauge,
    "1 if the last poll of the source succeeded, 0 if it failed or none has finished yet; "
    "from the last poll."};
inline constexpr MetricDef kPollDuration{
    "provledger_exporter_poll_duration_seconds", MetricType::Histogram,
    "Wall-clock seconds each poll of the source took, successful or not; from the last poll."};
inline constexpr MetricDef kPollErrors{
    "provledger_exporter_poll_errors_total", MetricType::Counter,
    "Poll errors of the source by kind: connect, query, decode (bad rows, skipped), timeout; "
    "count, from the last poll."};
inline constexpr MetricDef kLastPollSuccess{
    "provledger_exporter_last_poll_success_timestamp_seconds", MetricType::Gauge,
    "Unix time in seconds when the source's last successful poll finished; absent until one "
    "succeeds; from the last poll."};
inline constexpr MetricDef kRowsRead{
    "provledger_exporter_rows_read_total", MetricType::Counter,
    "Rows read from the source since the exporter started; count, from the last poll."};
inline constexpr MetricDef kQueryPlanUnindexed{
    "provledger_exporter_query_plan_unindexed", MetricType::Gauge,
    "1 if the source's stream query (query: receipts, anchored, spans) cannot use an index on "
    "its keyset columns, so every poll reads the whole table; 0 if it can; from EXPLAIN at the "
    "last poll that connected; absent until checked."};
inline constexpr MetricDef kTenants{
    "provledger_exporter_tenants", MetricType::Gauge,
    "Distinct tenants admitted (after allow/deny patterns, shard and cap); count, from the "
    "last poll."};
inline constexpr MetricDef kTenantsDropped{
    "provledger_exporter_tenants_dropped_total", MetricType::Counter,
    "Distinct tenants refused because the tenant cap (tenants.max) was reached; their rows are "
    "not exported; count, from the last poll."};
inline constexpr MetricDef kStateWriteErrors{
    "provledger_exporter_state_write_errors_total", MetricType::Counter,
    "Failed writes of the state file (state_file) since the exporter started; the last good file "
    "stays in place; count, as of the last poll."};
inline constexpr MetricDef kPendingOps{
    "provledger_exporter_pending_operations", MetricType::Gauge,
    "Traced operations seen but not yet settled (still inside the grace period); count, from "
    "the last poll."};
inline constexpr MetricDef kWindowOps{
    "provledger_exporter_window_operations", MetricType::Gauge,
    "Settled operations held in memory for the coverage window (start in (E - window, E]); "
    "count, from the last poll."};
inline constexpr MetricDef kHeldReceipts{
    "provledger_exporter_held_receipts", MetricType::Gauge,
    "Distinct receipt ids held in memory while an unsettled operation or a cross-ledger copy "
    "could still need them; count, from the last poll."};
inline constexpr MetricDef kHeapInUse{
    "provledger_exporter_heap_inuse_bytes", MetricType::Gauge,
    "Bytes of heap in use by the exporter's allocations (glibc mallinfo2: uordblks + hblkhd, "
    "arena chunks in use plus mmapped blocks; freed memory kept by malloc is not counted); "
    "read at the last poll."};
inline constexpr MetricDef kWindowEnd{
    "provledger_exporter_coverage_window_end_timestamp_seconds", MetricType::Gauge,
    "Unix time in seconds of the end of the coverage window (now - grace, held back to what "
    "every source has read); absent until known; from the last poll."};
inline constexpr MetricDef kEvidenceJobs{
    "provledger_exporter_evidence_jobs_total", MetricType::Counter,
    "Evidence export jobs of the async API since the exporter started, by outcome: done (bundle "
    "written), failed (error, or found unfinished at start), rejected (refused with 429, queue "
    "full); count, as of the last poll."};
inline constexpr MetricDef kEvidenceJobDuration{
    "provledger_exporter_evidence_job_duration_seconds", MetricType::Histogram,
    "Wall-clock seconds from a job's start to its end (done or failed), for jobs that ran in this "
    "process; as of the last poll."};
inline constexpr MetricDef kEvidenceJobsQueued{
    "provledger_exporter_evidence_jobs_queued", MetricType::Gauge,
    "Evidence export jobs waiting for a worker (the queue length); count, as of the last poll."};
inline constexpr MetricDef kEvidenceJobsRunning{
    "provledger_exporter_evidence_jobs_running", MetricType::Gauge,
    "Evidence export jobs running now; count, as of the last poll."};
inline constexpr MetricDef kBuildInfo{
    "provledger_exporter_build_info", MetricType::Gauge,
    "Constant 1, labelled with the exporter's version and git revision."};

// Process metrics, read from /proc when the exposition is rendered (once per poll).
inline constexpr MetricDef kProcessCpu{
    "process_cpu_seconds_total", MetricType::Counter,
    "Total user and system CPU time spent in seconds; read at the last poll."};
inline constexpr MetricDef kProcessResident{
    "process_resident_memory_bytes", MetricType::Gauge,
    "Resident memory size in bytes; read at the last poll."};
inline constexpr MetricDef kProcessVirtual{
    "process_virtual_memory_bytes", MetricType::Gauge,
    "Virtual memory size in bytes; read at the last poll."};
inline constexpr MetricDef kProcessOpenFds{
    "process_open_fds", MetricType::Gauge,
    "Number of open file descriptors; read at the last poll."};
inline constexpr MetricDef kProcessMaxFds{
    "process_max_fds", MetricType::Gauge,
    "Maximum number of open file descriptors (soft limit); read at the last poll."};
inline constexpr MetricDef kProcessStart{
    "process_start_time_seconds", MetricType::Gauge,
    "Start time of the process since the Unix epoch in seconds."};

// Every metric, in exposition order.
inline constexpr std::array<const MetricDef*, 32> kMetrics = {
    &kCoveragePct,   &kDivergenceCount, &kOpsSettled,     &kAnchorLatency, &kQueueDepth,
    &kProofsLastTs,  &kFlagRampPct,     &kSourceUp,       &kPollDuration,  &kPollErrors,
    &kLastPollSuccess, &kRowsRead,      &kQueryPlanUnindexed, &kTenants, &kTenantsDropped, &kStateWriteErrors, &kPendingOps,
    &kWindowOps,     &kHeldReceipts,    &kHeapInUse,
    &kWindowEnd,     &kEvidenceJobs,    &kEvidenceJobDuration, &kEvidenceJobsQueued, &kEvidenceJobsRunning, &kBuildInfo,       &kProcessCpu,     &kProcessResident, &kProcessVirtual,
    &kProcessOpenFds, &kProcessMaxFds,  &kProcessStart,
};

// True when `name` matches [a-zA-Z_:][a-zA-Z0-9_:]*.
constexpr bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// True when HELP can be written unescaped by prometheus-cpp 1.0.1 in text
// format 0.0.4: non-empty, no backslash, no newline or carriage return.
constexpr bool IsSafeHelp(std::string_view help) {
  if (help.empty()) return false;
  for (const char c : help) {
    if (c == '\\' || c == '\n' || c == '\r') return false;
  }
  return true;
}

constexpr bool AllMetricsValid() {
  for (std::size_t i = 0; i < kMetrics.size(); ++i) {
    if (!IsValidMetricName(kMetrics[i]->name) || !IsSafeHelp(kMetrics[i]->help)) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (kMetrics[i]->name == kMetrics[j]->name) return false;
    }
  }
  return true;
}

static_assert(AllMetricsValid(),
              "every metric needs a valid, unique name and a HELP without backslash or newline");

}  // namespace provledger::render
