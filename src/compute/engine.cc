#include "compute/engine.hh"
#include "compute/outcome.hh"

#include <algorithm>
#include <cmath>

namespace provledger::compute {

namespace {

constexpr char kSep = '\x1f';   // separates tenant and op_id in the operation key

std::uint64_t OpKey(std::string_view tenant, std::string_view op_id) {
  std::uint64_t h = StableHash64(tenant);
  h = StableHash64(h, std::string_view(&kSep, 1));
  return StableHash64(h, op_id);
}

std::uint64_t Fingerprint(std::string_view s) { return StableHash64(s); }

Micros Ms(std::int64_t ms) { return ms * 1000; }

}  // namespace

Micros EngineOptions::DefaultReadAhead(Micros window, Micros grace, Micros trace_out_of_order) {
  return std::max({window / 8, 4 * grace, Micros{300} * 1000000, 2 * trace_out_of_order});
}

EngineOptions EngineOptions::FromConfig(const config::Config& cfg) {
  EngineOptions o;
  o.window = Ms(cfg.coverage.window_ms);
  o.grace = Ms(cfg.coverage.grace_ms);
  o.latency_bounds_ms = cfg.histogram.anchor_latency_buckets_ms;
  o.latency_per_tenant = cfg.histogram.anchor_latency_per_tenant;
  o.tenants.max = cfg.tenants.max;
  o.tenants.allow = cfg.tenants.allow;
  o.tenants.deny = cfg.tenants.deny;
  o.tenants.shard_index = cfg.tenants.shard_index;
  o.tenants.shard_total = cfg.tenants.shard_total;
  o.max_divergence_keys = static_cast<std::size_t>(cfg.state_max_divergence_keys);
  for (const auto& l : cfg.ledgers) o.sources.push_back({l.name, SourceKind::kLedger, l.region});
  for (const auto& t : cfg.trace_stores) o.sources.push_back({t.name, SourceKind::kTraces, ""});
  if (cfg.flags.kind != config::FlagsKind::kNone) o.sources.push_back({cfg.flags.name, SourceKind::kFlags, ""});
  Micros ooo = 0;
  for (const auto& t : cfg.trace_stores) ooo = std::max(ooo, Ms(t.out_of_order_ms));
  o.read_ahead = DefaultReadAhead(o.window, o.grace, ooo);
  return o;
}

Engine::Engine(EngineOptions options)
    : options_(std::move(options)), tenants_(options_.tenants) {
  const auto n = options_.sources.size();
  health_.resize(n);
  complete_upto_.assign(n, kMinMicros);
  limited_.assign(n, false);
  if (options_.read_ahead <= 0) options_.read_ahead = EngineOptions::DefaultReadAhead(options_.window, options_.grace, 0);
  anchored_cursor_.resize(n);
  has_anchored_cursor_.assign(n, false);
  ramps_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    health_[i].name = options_.sources[i].name;
    health_[i].kind = options_.sources[i].kind;
    health_[i].poll_duration.bucket_counts.assign(options_.poll_duration_buckets.size(), 0);
    if (options_.sources[i].kind == SourceKind::kLedger) RegionIndex(options_.sources[i].region);
    if (options_.sources[i].kind == SourceKind::kTraces) have_traces_ = true;
  }
}

Engine::TenantState& Engine::Tenant(int id) {
  if (static_cast<std::size_t>(id) >= tenant_state_.size()) tenant_state_.resize(static_cast<std::size_t>(id) + 1);
  return tenant_state_[static_cast<std::size_t>(id)];
}

std::uint32_t Engine::KindIndex(const std::string& name) {
  if (name.empty()) return 0;
  auto [it, inserted] = kind_index_.try_emplace(name, static_cast<std::uint32_t>(kinds_.size()));
  if (inserted) kinds_.push_back(name);
  return it->second;
}

int Engine::SourceIndex(const std::string& name) const {
  for (std::size_t i = 0; i < options_.sources.size(); ++i) {
    if (options_.sources[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Engine::RegionIndex(const std::string& region) {
  for (std::size_t i = 0; i < regions_.size(); ++i) {
    if (regions_[i] == region) return static_cast<int>(i);
  }
  regions_.push_back(region);
  return static_cast<int>(regions_.size() - 1);
}

void Engine::CountDecodeError(int source, std::uint64_t n) {
  if (source >= 0) health_[static_cast<std::size_t>(source)].errors[static_cast<int>(ErrorKind::kDecode)] += n;
}

void Engine::Observe(HistogramData& h, double v) const {
  const auto& b = options_.latency_bounds_ms;
  if (h.bucket_counts.size() != b.size()) h.bucket_counts.assign(b.size(), 0);
  // Bucket i holds observations with bounds[i-1] < v <= bounds[i] (Prometheus "le").
  const auto it = std::lower_bound(b.begin(), b.end(), v);
  if (it != b.end()) ++h.bucket_counts[static_cast<std::size_t>(it - b.begin())];
  ++h.count;
  h.sum += v;
}

void Engine::ApplyLedger(const LedgerBatch& batch) {
  const int src = SourceIndex(batch.source);
  if (src < 0) return;
  const int region = RegionIndex(options_.sources[static_cast<std::size_t>(src)].region);

  for (const auto& r : batch.receipts) {
    const int tenant = tenants_.Admit(r.tenant);
    if (tenant < 0) continue;
    Tenant(tenant);
    const std::uint64_t op = OpKey(r.tenant, r.op_id);
    const std::uint64_t fp = Fingerprint(r.content_hash);
    const std::uint64_t id = Fingerprint(r.receipt_id);

    // Receipts per operation (only needed to settle traced operations):
    // every distinct content hash, with the time it was created.
    if (have_traces_) {
      auto [first, inserted] = receipt_fp_by_op_.try_emplace(op, ReceiptFp{fp, r.created_at});
      if (!inserted) {
        if (first->fp == fp) {
          first->created = std::min(first->created, r.created_at);
        } else {
          bool known = false;
          auto range = extra_fps_by_op_.equal_range(op);
          for (auto e = range.first; e != range.second; ++e) {
            if (e->second.fp == fp) {
              e->second.created = std::min(e->second.created, r.created_at);
              known = true;
            }
          }
          if (!known) extra_fps_by_op_.emplace(op, ReceiptFp{fp, r.created_at});
        }
      }
    }

    // The same receipt_id in two ledgers with different content: counted once.
    auto [seen, first_copy] = receipt_by_id_.try_emplace(id, ReceiptSeen{fp, r.created_at, src, tenant});
    if (!first_copy && seen->ledger != src && seen->fp != fp) {
      const Micros gap = r.created_at > seen->created ? r.created_at - seen->created : seen->created - r.created_at;
      if (gap <= options_.grace) CountReceiptDivergence(id, std::max(r.created_at, seen->created), tenant);
    }
    receipt_order_.emplace_back(r.created_at, op, id);
  }

  for (const auto& a : batch.anchored) {
    // Without the tenant label only allow/deny/shard apply, not the cap: the
    // region histogram must not lose tenants past the cap.
    const int tenant = tenants_.Admit(a.tenant);
    if (tenant == TenantRegistry::kFiltered) continue;
    if (tenant < 0 && options_.latency_per_tenant) continue;
    if (tenant >= 0) Tenant(tenant);
    const double latency_ms = static_cast<double>(a.anchored_at - a.created_at) / 1000.0;
    if (latency_ms < 0 || !std::isfinite(latency_ms)) {
      CountDecodeError(src, 1);   // anchored before created: bad data, not a latency
      continue;
    }
    Observe(latency_[{region, options_.latency_per_tenant ? tenant : -1}], latency_ms);
    if (listener_ != nullptr && tenant >= 0) {
      listener_->OnAnchored(tenants_.Name(tenant), a.anchored_at, a.anchored_at - a.created_at);
    }
  }

  if (batch.queue_depth) queue_depth_[src] = *batch.queue_depth;
  if (batch.proofs_last_ts) proofs_last_[src] = *batch.proofs_last_ts;
  auto& c = complete_upto_[static_cast<std::size_t>(src)];
  c = std::max(c, batch.receipts_complete_upto);
  if (batch.receipts_complete_upto != kMinMicros) limited_[static_cast<std::size_t>(src)] = batch.receipts_limited;
}

void Engine::CountReceiptDivergence(std::uint64_t id, Micros created, int tenant) {
  if (!counted_receipt_divergence_.insert(id).second) return;
  counted_order_.emplace_back(created, id);
  ++Tenant(tenant).divergence;
  if (listener_ != nullptr) listener_->OnReceiptDivergence(tenants_.Name(tenant), created);
  while (counted_order_.size() > options_.max_divergence_keys) {
    counted_receipt_divergence_.erase(counted_order_.front().second);
    counted_order_.pop_front();
  }
}

void Engine::ApplyTrace(const TraceBatch& batch) {
  const int src = SourceIndex(batch.source);
  if (src < 0) return;
  for (const auto& s : batch.spans) {
    const int tenant = tenants_.Admit(s.tenant);
    if (tenant < 0) continue;
    Tenant(tenant);
    const std::uint64_t op = OpKey(s.tenant, s.op_id);
    if (window_keys_.contains(op)) continue;   // already settled: a re-read or a late extra span
    if (PendingOp* found = pending_.find(op)) {
      // One operation, several spans (written when each ends, so a long root
      // can come after its children): earliest start, first non-empty hash.
      auto& p = *found;
      if (s.start < p.start) {
        p.start = s.start;
        pending_by_start_.emplace(s.start, op);   // the old heap entry is skipped when popped
        // The kind is that of the earliest-starting span that has a name.
        if (options_.track_kinds && !s.name.empty()) p.kind = KindIndex(s.name) & 0x7fffffffU;
      } else if (options_.track_kinds && p.kind == 0 && !s.name.empty()) {
        p.kind = KindIndex(s.name) & 0x7fffffffU;
      }
      if (!p.has_attested && !s.attested_hash.empty()) {
        p.has_attested = true;
        p.attested_fp = Fingerprint(s.attested_hash);
      }
      continue;
    }
    // Too old to be in any window we still show: it can no longer change a number.
    if (window_end_ != kMinMicros && s.start <= window_end_ - options_.window) continue;
    PendingOp p;
    p.start = s.start;
    p.tenant = tenant;
    p.has_attested = !s.attested_hash.empty();
    p.attested_fp = p.has_attested ? Fingerprint(s.attested_hash) : 0;
    if (options_.track_kinds) p.kind = KindIndex(s.name) & 0x7fffffffU;
    pending_.try_emplace(op, p);
    pending_by_start_.emplace(s.start, op);
  }
  auto& c = complete_upto_[static_cast<std::size_t>(src)];
  c = std::max(c, batch.complete_upto);
  if (batch.complete_upto != kMinMicros) limited_[static_cast<std::size_t>(src)] = batch.limited;
}

void Engine::ApplyFlags(const FlagsBatch& batch) {
  const int src = SourceIndex(batch.source);
  if (src < 0) return;
  auto& r = ramps_[static_cast<std::size_t>(src)];
  r.clear();
  for (const auto& f : batch.flags) {
    const int tenant = tenants_.Admit(f.tenant);
    if (tenant < 0) continue;
    Tenant(tenant);
    r.emplace_back(tenant, f.feature, f.pct);
  }
}

void Engine::RecordPoll(const PollReport& report) {
  const int src = SourceIndex(report.source);
  if (src < 0) return;
  auto& h = health_[static_cast<std::size_t>(src)];
  h.polled = true;
  h.up = report.success;
  h.last_poll_duration_seconds = report.duration_seconds;
  if (report.success) {
    h.last_success_seconds = static_cast<double>(report.finished_at) / 1e6;
    h.last_error.clear();
  } else {
    h.last_error = report.error;
  }
  h.rows_read += report.rows_read;
  for (const auto& [query, unindexed] : report.plans_unindexed) h.plan_unindexed[query] = unindexed;
  for (int k = 0; k < kErrorKinds; ++k) h.errors[k] += report.errors[k];
  const auto& b = options_.poll_duration_buckets;
  const auto it = std::lower_bound(b.begin(), b.end(), report.duration_seconds);
  if (it != b.end()) ++h.poll_duration.bucket_counts[static_cast<std::size_t>(it - b.begin())];
  ++h.poll_duration.count;
  h.poll_duration.sum += report.duration_seconds;
}

void Engine::RecordDelivered(const PollReport& report) {
  const int src = SourceIndex(report.source);
  if (src < 0) return;
  auto& h = health_[static_cast<std::size_t>(src)];
  h.rows_read += report.rows_read;
  for (const auto& [query, unindexed] : report.plans_unindexed) h.plan_unindexed[query] = unindexed;
  const int decode = static_cast<int>(ErrorKind::kDecode);
  h.errors[decode] += report.errors[decode];
}

void Engine::SetAnchoredCursor(const std::string& source, const StreamPosition& pos) {
  const int src = SourceIndex(source);
  if (src < 0) return;
  anchored_cursor_[static_cast<std::size_t>(src)] = pos;
  has_anchored_cursor_[static_cast<std::size_t>(src)] = true;
}

void Engine::SetFileCursor(const std::string& source, const FileCursors& pos) {
  if (SourceIndex(source) < 0) return;
  file_cursors_[source] = pos;
}

const FileCursors* Engine::FileCursor(const std::string& source) const {
  auto it = file_cursors_.find(source);
  return it == file_cursors_.end() ? nullptr : &it->second;
}

const StreamPosition* Engine::AnchoredCursor(const std::string& source) const {
  const int src = SourceIndex(source);
  if (src < 0 || !has_anchored_cursor_[static_cast<std::size_t>(src)]) return nullptr;
  return &anchored_cursor_[static_cast<std::size_t>(src)];
}

Micros Engine::ReplayFrom(Micros now) const {
  const Micros end = window_end_ != kMinMicros ? window_end_ : now - options_.grace;
  return end - options_.window - options_.grace;
}

void Engine::Settle(std::uint64_t op_key, const PendingOp& op) {
  // Only receipts created by start + grace count: the outcome must not depend
  // on whether a late receipt happened to be read before E passed.
  // The rule itself is compute/outcome.hh (shared with the evidence exporter).
  OutcomeRule rule(op.start, options_.grace, op.has_attested);
  auto consider = [&](const ReceiptFp& r) { rule.Consider(r.created, r.fp == op.attested_fp); };
  if (const ReceiptFp* first = receipt_fp_by_op_.find(op_key)) {
    consider(*first);
    auto range = extra_fps_by_op_.equal_range(op_key);
    for (auto e = range.first; e != range.second; ++e) consider(e->second);
  }
  const bool with_receipt = rule.with_receipt();
  if (op.start > count_from_) {
    auto& t = Tenant(op.tenant);
    const Outcome outcome = rule.result();
    switch (rule.result()) {
      case Outcome::kMissing: ++t.settled.missing; break;
      case Outcome::kAttested: ++t.settled.attested; break;
      case Outcome::kDivergent:
        ++t.settled.divergent;
        ++t.divergence;
        break;
    }
    if (listener_ != nullptr) listener_->OnSettled(tenants_.Name(op.tenant), kinds_[op.kind], op.start, outcome);
  }
  auto& t = Tenant(op.tenant);
  ++t.window_settled;
  if (with_receipt) ++t.window_with_receipt;
  window_.Push(SettledWindow::Entry{op.start, op_key, op.tenant, with_receipt});
  window_keys_.insert(op_key);
}

Micros Engine::MinComplete(SourceKind kind, int except) const {
  Micros m = kMaxMicros;
  for (std::size_t i = 0; i < options_.sources.size(); ++i) {
    if (options_.sources[i].kind != kind || static_cast<int>(i) == except) continue;
    m = std::min(m, complete_upto_[i]);
  }
  return m;   // kMaxMicros: no such source; kMinMicros: one not read yet
}

Micros Engine::ReadLimit(const std::string& source, Micros now) const {
  const int src = SourceIndex(source);
  if (src < 0) return kMaxMicros;
  const auto kind = options_.sources[static_cast<std::size_t>(src)].kind;
  // Before the others have been read, allow the window being rebuilt.
  const Micros base = ReplayFrom(now) + options_.window + 2 * options_.grace;
  auto ahead = [&](Micros others, Micros slack) {
    if (others == kMaxMicros) return kMaxMicros;
    if (others == kMinMicros) return base + slack;
    return std::max(others, base) + slack;
  };
  // Settling in steps: a stream may be read at most read_ahead past the
  // slowest source of the other kind (the replay start while that one has
  // not been read), so the window being rebuilt (cold start, restart,
  // catch-up after an outage) is settled and pruned as it is read. In steady
  // state every source is within seconds of the others and this never binds.
  const Micros replay = ReplayFrom(now);
  auto step = [&](Micros others) {
    if (others == kMaxMicros) return kMaxMicros;   // no source of the other kind
    return std::max(others, replay) + options_.read_ahead;
  };
  if (kind == SourceKind::kTraces) {
    const Micros ledgers = MinComplete(SourceKind::kLedger, -1);
    return std::min(ahead(ledgers, options_.window), step(ledgers));
  }
  if (kind == SourceKind::kLedger) {
    const Micros slack = options_.window + 2 * options_.grace;
    const Micros traces = MinComplete(SourceKind::kTraces, -1);
    return std::min({ahead(traces, slack), ahead(MinComplete(SourceKind::kLedger, src), slack), step(traces)});
  }
  return kMaxMicros;
}

void Engine::Advance(Micros now) {
  const Micros ledgers = MinComplete(SourceKind::kLedger, -1);
  const Micros traces = MinComplete(SourceKind::kTraces, -1);
  if (have_traces_ && ledgers != kMinMicros && traces != kMinMicros) {
    // Settle nothing on incomplete data: every source must have been read.
    Micros e = std::min({now - options_.grace, traces, ledgers == kMaxMicros ? kMaxMicros : ledgers - options_.grace});
    if (e > window_end_) window_end_ = e;
    // Settle only what has been read: after a restart E starts at the saved
    // value while the window below it is still being re-read in steps.
    settled_upto_ = std::max(settled_upto_, std::min(e, window_end_));

    while (!pending_by_start_.empty() && pending_by_start_.top().first <= settled_upto_) {
      const auto [start, key] = pending_by_start_.top();
      pending_by_start_.pop();
      const PendingOp* op = pending_.find(key);
      if (op == nullptr || op->start != start) continue;   // settled, or moved earlier
      Settle(key, *op);   // touches neither pending_ nor its pointers
      pending_.erase(key);
    }

    const Micros window_start = window_end_ - options_.window;
    while (!window_.empty() && window_.MinStart() <= window_start) {
      const auto w = window_.PopMin();
      auto& t = Tenant(w.tenant);
      --t.window_settled;
      if (w.with_receipt) --t.window_with_receipt;
      window_keys_.erase(w.op_key);
    }
    if (!caught_up_) {
      // The window is rebuilt once every stream source was read to its live horizon.
      bool live = true;
      for (std::size_t i = 0; i < options_.sources.size(); ++i) {
        if (options_.sources[i].kind != SourceKind::kFlags && (complete_upto_[i] == kMinMicros || limited_[i])) live = false;
      }
      caught_up_ = live;
    }
  }
  Prune();
}

void Engine::Prune() {
  // Receipts are kept while an unsettled operation could still use them
  // (created >= E - grace) and while a copy in another ledger could still be
  // compared (created >= slowest ledger - grace). Without trace stores only
  // the second applies. This runs even when E cannot move.
  const Micros ledgers = MinComplete(SourceKind::kLedger, -1);
  if (ledgers == kMinMicros) return;
  Micros before = ledgers - options_.grace;
  if (have_traces_) before = std::min(before, settled_upto_ - options_.grace);
  while (!receipt_order_.empty() && std::get<0>(receipt_order_.front()) < before) {
    const auto [created, op, id] = receipt_order_.front();
    receipt_order_.pop_front();
    if (const ReceiptFp* first = receipt_fp_by_op_.find(op); first != nullptr && first->created <= created) {
      receipt_fp_by_op_.erase(op);
      extra_fps_by_op_.erase(op);
    }
    if (const ReceiptSeen* seen = receipt_by_id_.find(id); seen != nullptr && seen->created <= created) {
      receipt_by_id_.erase(id);
    }
  }
  // Counted cross-ledger divergences are kept as long as a restart could re-read them.
  const Micros keys_before = (have_traces_ ? window_end_ : ledgers) - options_.window - 2 * options_.grace;
  while (!counted_order_.empty() && counted_order_.front().first < keys_before) {
    counted_receipt_divergence_.erase(counted_order_.front().second);
    counted_order_.pop_front();
  }
}

Snapshot Engine::MakeSnapshot(Micros now) const {
  Snapshot s;
  s.now = now;
  // While the window is rebuilt: the restored E (or none), no coverage yet.
  s.window_end = caught_up_ ? window_end_ : count_from_;
  s.window_start = s.window_end == kMinMicros ? kMinMicros : s.window_end - options_.window;
  for (std::size_t id = 0; id < tenant_state_.size(); ++id) {
    const auto& t = tenant_state_[id];
    const auto& name = tenants_.Name(static_cast<int>(id));
    if (t.window_settled > 0 && caught_up_) {
      TenantCoverage c;
      c.tenant = name;
      c.settled_in_window = t.window_settled;
      c.with_receipt = t.window_with_receipt;
      c.pct = 100.0 * static_cast<double>(t.window_with_receipt) / static_cast<double>(t.window_settled);
      s.coverage.push_back(std::move(c));
    }
    const auto total = t.settled.attested + t.settled.missing + t.settled.divergent;
    if (total > 0) s.settled[name] = t.settled;
    if (t.divergence > 0 || total > 0) s.divergence[name] = t.divergence;
  }
  std::sort(s.coverage.begin(), s.coverage.end(),
            [](const TenantCoverage& a, const TenantCoverage& b) { return a.tenant < b.tenant; });
  s.latency_bounds_ms = options_.latency_bounds_ms;
  s.latency_per_tenant = options_.latency_per_tenant;
  for (const auto& [key, h] : latency_) {
    const std::string tenant = key.second < 0 ? std::string() : tenants_.Name(key.second);
    s.anchor_latency[{regions_[static_cast<std::size_t>(key.first)], tenant}] = h;
  }
  // Several ledgers may share a region: depths add up, the newest proof wins.
  for (const auto& [src, d] : queue_depth_) s.queue_depth[options_.sources[static_cast<std::size_t>(src)].region] += d;
  for (const auto& [src, p] : proofs_last_) {
    auto& v = s.proofs_last_ts[options_.sources[static_cast<std::size_t>(src)].region];
    v = std::max(v, p);
  }
  for (const auto& source_ramps : ramps_) {
    for (const auto& [tenant, feature, pct] : source_ramps) s.ramp[{tenants_.Name(tenant), feature}] = pct;
  }
  s.sources = health_;
  s.poll_duration_buckets = options_.poll_duration_buckets;
  s.tenants = tenants_.size();
  s.tenants_dropped = tenants_.dropped();
  s.pending_ops = pending_.size();
  s.window_ops = window_.size();
  s.held_receipts = receipt_by_id_.size();
  return s;
}

PersistentState Engine::ExportState() const {
  PersistentState st;
  st.window_end = window_end_;
  for (std::size_t i = 0; i < options_.sources.size(); ++i) {
    if (has_anchored_cursor_[i]) st.anchored_cursors[options_.sources[i].name] = anchored_cursor_[i];
  }
  st.file_cursors = file_cursors_;
  for (std::size_t id = 0; id < tenant_state_.size(); ++id) {
    const auto& t = tenant_state_[id];
    const auto& name = tenants_.Name(static_cast<int>(id));
    if (t.settled.attested + t.settled.missing + t.settled.divergent > 0) st.settled[name] = t.settled;
    if (t.divergence > 0) st.divergence[name] = t.divergence;
  }
  st.latency_bounds_ms = options_.latency_bounds_ms;
  st.latency_per_tenant = options_.latency_per_tenant;
  for (const auto& [key, h] : latency_) {
    const std::string tenant = key.second < 0 ? std::string() : tenants_.Name(key.second);
    st.anchor_latency[{regions_[static_cast<std::size_t>(key.first)], tenant}] = h;
  }
  for (const auto& [created, id] : counted_order_) st.counted_receipt_divergences.emplace_back(id, created);
  st.tenants_dropped = tenants_.dropped();
  st.dropped_tenants = tenants_.DroppedFingerprints();
  return st;
}

void Engine::ImportState(const PersistentState& st) {
  window_end_ = st.window_end;
  count_from_ = st.window_end;
  tenants_.ImportDropped(st.dropped_tenants, st.tenants_dropped);   // before re-admitting anyone
  for (const auto& [name, pos] : st.anchored_cursors) SetAnchoredCursor(name, pos);
  for (const auto& [name, pos] : st.file_cursors) SetFileCursor(name, pos);
  for (const auto& [name, counts] : st.settled) {
    const int id = tenants_.Admit(name);
    if (id >= 0) Tenant(id).settled = counts;
  }
  for (const auto& [name, n] : st.divergence) {
    const int id = tenants_.Admit(name);
    if (id >= 0) Tenant(id).divergence = n;
  }
  // Histograms continue only when their shape is unchanged; otherwise they
  // restart from zero (a bucket change is a new series layout anyway).
  if (st.latency_bounds_ms == options_.latency_bounds_ms && st.latency_per_tenant == options_.latency_per_tenant) {
    for (const auto& [key, h] : st.anchor_latency) {
      int tenant = -1;
      if (options_.latency_per_tenant) {
        tenant = tenants_.Admit(key.second);
        if (tenant < 0) continue;
      }
      latency_[{RegionIndex(key.first), tenant}] = h;
    }
  }
  for (const auto& [id, created] : st.counted_receipt_divergences) {
    if (counted_receipt_divergence_.insert(id).second) counted_order_.emplace_back(created, id);
  }
}

void Engine::ImportHealth(const std::vector<SourceHealth>& health) {
  for (const auto& old : health) {
    const int src = SourceIndex(old.name);
    if (src < 0 || options_.sources[static_cast<std::size_t>(src)].kind != old.kind) continue;
    auto& h = health_[static_cast<std::size_t>(src)];
    const auto buckets = h.poll_duration.bucket_counts.size();
    h = old;
    if (h.poll_duration.bucket_counts.size() != buckets) h.poll_duration = HistogramData{std::vector<std::uint64_t>(buckets, 0), 0, 0};
  }
}

}  // namespace provledger::compute
