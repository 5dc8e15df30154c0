// The pure core: turns typed rows from the sources into the numbers /metrics
// shows. No I/O, no clocks: `now` (Unix epoch µs) is always an argument.
// Not thread-safe: the app uses one Engine under one mutex.
//
// Coverage and settlement (README "Metrics"):
//   The window end E advances to min(now - grace, every trace store's
//   complete_upto, every ledger's receipts_complete_upto - grace), and never
//   moves back. An operation (tenant, op_id) whose first span starts at t
//   settles once, when E reaches t: its receipts had `grace` to arrive and
//   every source has been read past the point that matters. Only receipts
//   created by t + grace count, so the outcome does not depend on when the
//   exporter happened to poll. Outcome: attested (a receipt whose
//   content_hash equals the span's attested hash, or any receipt when the
//   spans recorded no hash), divergent (receipts, none matching) or missing
//   (no receipt). An operation with several spans takes the earliest start
//   and the first non-empty attested hash seen before it settles.
//   attest_coverage_pct is over the operations settled with t in (E - window, E].
//   Cross-ledger divergence: the same receipt_id with different content_hash
//   in two ledgers, copies created within `grace` of each other.
//   Identity: operations by 64-bit FNV-1a of tenant+op_id, receipts by hash of
//   receipt_id, content hashes by a 64-bit fingerprint (collision odds 2^-64).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "compute/flat_hash.hh"
#include "compute/outcome.hh"
#include "compute/settled_window.hh"
#include "compute/snapshot.hh"
#include "compute/state.hh"
#include "compute/tenants.hh"
#include "config/config.hh"
#include "core/rows.hh"

namespace provledger::compute {

struct SourceSpec {
  std::string name;
  SourceKind kind = SourceKind::kLedger;
  std::string region;   // ledgers only
  bool operator==(const SourceSpec&) const = default;
};

// Optional observer of what the Engine counts, for tools that need the
// events behind the counters (the coverage report: per day and operation
// kind). Called synchronously from ApplyLedger / Advance on the caller's
// thread; must not call back into the Engine.
class EngineListener {
 public:
  virtual ~EngineListener() = default;
  // An operation settled and was counted in attest_ops_settled_total (an
  // operation settled again after a restart, not counted, is not reported).
  // `kind` is the operation kind (see EngineOptions::track_kinds), "" when
  // not tracked or unnamed.
  virtual void OnSettled(const std::string& tenant, std::string_view kind, Micros start, Outcome outcome) = 0;
  // A receipt became anchored and was observed in ledger_anchor_latency_ms
  // for an admitted tenant; latency = anchored_at - created_at (>= 0).
  virtual void OnAnchored(const std::string& tenant, Micros anchored_at, Micros latency_us) = 0;
  // A cross-ledger divergence was counted in attest_divergence_count;
  // `created` is the later copy's created_at.
  virtual void OnReceiptDivergence(const std::string& tenant, Micros created) = 0;
};

struct EngineOptions {
  Micros window = 3600LL * 1000000;
  Micros grace = 120LL * 1000000;
  std::vector<double> latency_bounds_ms = {5, 10, 15, 20, 30, 50, 100, 250, 500};
  bool latency_per_tenant = true;
  TenantPolicy tenants;
  std::vector<SourceSpec> sources;   // config order
  std::vector<double> poll_duration_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  std::size_t max_divergence_keys = 1000000;
  // Remember each operation's kind (the span name: of its earliest-starting
  // span that has one) for EngineListener::OnSettled. Off in the exporter,
  // which does not use kinds (no per-span name lookup on the poll path).
  bool track_kinds = false;
  // How far a ledger's receipts or a trace store's spans may be read ahead of
  // the slowest source of the other kind (0: DefaultReadAhead(window, grace, 0)).
  // A cold start, a restart and a catch-up therefore read the replayed
  // window in steps and settle it as it goes, instead of holding all of it
  // as pending operations and receipts (docs/deployment.md#memory).
  Micros read_ahead = 0;

  // max(window / 8, 4 grace, 5 min, 2 x the largest trace store out_of_order):
  // large enough never to hold back a source in steady state.
  static Micros DefaultReadAhead(Micros window, Micros grace, Micros trace_out_of_order);
  static EngineOptions FromConfig(const config::Config& cfg);
  bool operator==(const EngineOptions&) const = default;
};

class Engine {
 public:
  explicit Engine(EngineOptions options);

  void ApplyLedger(const LedgerBatch& batch);
  void ApplyTrace(const TraceBatch& batch);
  void ApplyFlags(const FlagsBatch& batch);
  // Not owned; nullptr (the default) = no listener. Set before applying batches.
  void SetListener(EngineListener* listener) { listener_ = listener; }
  void RecordPoll(const PollReport& report);
  // A poll cut short by shutdown or reload: not a failure of the source (up,
  // last error and poll duration stay as they are), but the pages it already
  // delivered were applied, so their rows_read and decode errors count.
  void RecordDelivered(const PollReport& report);
  // Records where a ledger's anchored stream stands, for the state file.
  void SetAnchoredCursor(const std::string& source, const StreamPosition& pos);
  // Records where a file trace store stands, for the state file.
  void SetFileCursor(const std::string& source, const FileCursors& pos);

  // Moves the window end, settles operations, evicts and prunes.
  void Advance(Micros now);
  Snapshot MakeSnapshot(Micros now) const;

  // Restart bookkeeping. ExportState is a consistent picture (taken under the
  // caller's lock). ImportState must be called before any batch is applied:
  // operations that start at or before the saved window end are settled again
  // to rebuild the coverage window, but not counted again.
  PersistentState ExportState() const;
  void ImportState(const PersistentState& state);
  // Carries per-source health counters over a config reload (same names).
  void ImportHealth(const std::vector<SourceHealth>& health);

  Micros window_end() const { return window_end_; }
  // Receipts held for matching (observability and tests of memory bounds).
  std::size_t retained_receipts() const { return receipt_order_.size(); }
  const EngineOptions& options() const { return options_; }
  // Where stream reads should start so that the window can be rebuilt:
  // spans and receipts from (E - window - grace); cold start uses `now`.
  Micros ReplayFrom(Micros now) const;
  const StreamPosition* AnchoredCursor(const std::string& source) const;
  const FileCursors* FileCursor(const std::string& source) const;
  // Backpressure: how far a source may read ahead of the others, so memory
  // stays bounded when one of them is down or far behind (rows stay in the
  // database). Trace stores: the slowest ledger + read_ahead; ledgers'
  // receipts: the slowest trace store + read_ahead (each taken as the replay
  // start while not read yet) and the slowest other ledger + window + 2 grace.
  // kMaxMicros = no limit.
  Micros ReadLimit(const std::string& source, Micros now) const;
  // False from construction until an Advance in which every stream source
  // had been read up to its live horizon (its last batch not `limited`):
  // while the window is being rebuilt in steps, snapshots show no coverage
  // and the window end the state file restored (or none).
  bool caught_up() const { return caught_up_; }

 private:
  struct PendingOp {
    Micros start = 0;
    std::uint64_t attested_fp = 0;
    int tenant = 0;
    std::uint32_t kind : 31 = 0;          // index in kinds_ (0 = none); 24 B in all
    std::uint32_t has_attested : 1 = 0;
  };
  struct ReceiptSeen {
    std::uint64_t fp = 0;
    Micros created = 0;
    int ledger = 0;
    int tenant = 0;
  };
  struct ReceiptFp {
    std::uint64_t fp = 0;
    Micros created = 0;
  };
  struct TenantState {
    SettledCounts settled;
    std::uint64_t divergence = 0;
    std::uint64_t window_settled = 0;
    std::uint64_t window_with_receipt = 0;
  };

  TenantState& Tenant(int id);
  int SourceIndex(const std::string& name) const;
  int RegionIndex(const std::string& region);
  void Settle(std::uint64_t op_key, const PendingOp& op);
  void Prune();
  void CountReceiptDivergence(std::uint64_t id, Micros created, int tenant);
  Micros MinComplete(SourceKind kind, int except) const;
  void Observe(HistogramData& h, double v) const;
  void CountDecodeError(int source, std::uint64_t n);

  std::uint32_t KindIndex(const std::string& name);

  EngineOptions options_;
  EngineListener* listener_ = nullptr;
  TenantRegistry tenants_;
  // Operation kinds (track_kinds only): kinds_[0] = "" (none).
  std::vector<std::string> kinds_{std::string()};
  std::unordered_map<std::string, std::uint32_t> kind_index_;
  std::vector<TenantState> tenant_state_;

  Micros window_end_ = kMinMicros;
  Micros count_from_ = kMinMicros;   // settlements at or before this are not counted (restart)
  // Operations with start <= this have settled: the E that what was read
  // supports. Equal to window_end_ except while a restart rebuilds the window
  // below the saved E.
  Micros settled_upto_ = kMinMicros;
  bool caught_up_ = false;

  // Per source, by index in options_.sources.
  std::vector<SourceHealth> health_;
  std::vector<Micros> complete_upto_;        // receipts (ledgers) or spans (traces)
  std::vector<bool> limited_;                // last complete_upto stopped short of the live horizon
  std::vector<StreamPosition> anchored_cursor_;
  std::vector<bool> has_anchored_cursor_;
  std::map<std::string, FileCursors> file_cursors_;   // by source name (configured sources only)
  std::vector<std::vector<std::tuple<int, std::string, double>>> ramps_;   // flags sources

  // Operations. Memory per operation (flat tables at load 3/16..3/4, see
  // flat_hash.hh): pending: a 32 B slot + a 16 B heap entry; settled in the
  // window: a 16 B window entry + an 8 B key slot.
  FlatMap64<PendingOp> pending_;
  std::priority_queue<std::pair<Micros, std::uint64_t>, std::vector<std::pair<Micros, std::uint64_t>>,
                      std::greater<>> pending_by_start_;
  SettledWindow window_;       // settled operations with start in (E - window, E], oldest first
  FlatSet64 window_keys_;      // their op keys

  // Receipts, kept while an unsettled operation could still match them.
  bool have_traces_ = false;
  FlatMap64<ReceiptFp> receipt_fp_by_op_;                                // op -> first content fp (24 B slot)
  std::unordered_multimap<std::uint64_t, ReceiptFp> extra_fps_by_op_;    // op -> further distinct fps (rare)
  FlatMap64<ReceiptSeen> receipt_by_id_;                                 // 32 B slot
  std::deque<std::tuple<Micros, std::uint64_t, std::uint64_t>> receipt_order_;   // (created, op, id)
  // Cross-ledger divergences already counted, oldest first, bounded by
  // max_divergence_keys (the oldest is forgotten first).
  std::unordered_set<std::uint64_t> counted_receipt_divergence_;
  std::deque<std::pair<Micros, std::uint64_t>> counted_order_;

  // Anchors.
  std::vector<std::string> regions_;
  std::map<std::pair<int, int>, HistogramData> latency_;   // (region, tenant or -1)
  std::map<int, std::int64_t> queue_depth_;   // by ledger source index; summed per region
  std::map<int, double> proofs_last_;         // by ledger source index; newest per region
};

}  // namespace provledger::compute
