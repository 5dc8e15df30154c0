#include "app/exporter.hh"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <variant>

#include "source/factory.hh"
#include "state/state_file.hh"

namespace provledger::app {

namespace {

Micros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Backoff after consecutive failures: 0.5s, 1s, 2s, ... capped at
// max(poll interval, 30s), so a database that comes back is found quickly and
// one that stays down is not hammered.
std::chrono::milliseconds Backoff(int failures, std::int64_t interval_ms) {
  const std::int64_t cap = std::max<std::int64_t>(interval_ms, 30000);
  std::int64_t d = 500;
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  return std::chrono::milliseconds(std::min(d, cap));
}

// Applies one batch of any source kind to the engine.
void ApplyBatch(compute::Engine& engine, const source::Batch& batch) {
  std::visit(Overloaded{[](std::monostate) {}, [&](const LedgerBatch& b) { engine.ApplyLedger(b); },
                        [&](const TraceBatch& b) { engine.ApplyTrace(b); },
                        [&](const FlagsBatch& b) { engine.ApplyFlags(b); }},
             batch);
}

// Records what the state file keeps for `src` (its durable position).
void RecordDurable(compute::Engine& engine, const source::Source& src) {
  const source::DurablePosition d = src.durable_position();
  if (d.anchored) engine.SetAnchoredCursor(src.name(), {d.anchored->ts, d.anchored->id});
  if (d.file) engine.SetFileCursor(src.name(), *d.file);
}

// What the engine (the state file) kept for `name`.
source::DurablePosition SavedPosition(const compute::Engine& engine, const std::string& name) {
  source::DurablePosition d;
  if (const auto* pos = engine.AnchoredCursor(name)) d.anchored = source::StreamCursor{pos->ts, pos->id};
  if (const auto* pos = engine.FileCursor(name)) d.file = *pos;
  return d;
}

}  // namespace

Exporter::Exporter(config::Config cfg, render::Publisher& publisher) : cfg_(std::move(cfg)), publisher_(publisher) {}

Exporter::~Exporter() { StopThreads(); }

void Exporter::BuildEngine(const compute::PersistentState* state, const std::vector<compute::SourceHealth>* health) {
  auto engine = std::make_unique<compute::Engine>(compute::EngineOptions::FromConfig(cfg_));
  if (state != nullptr) engine->ImportState(*state);
  if (health != nullptr) engine->ImportHealth(*health);
  settled_base_ = {};
  for (const auto& [tenant, c] : engine->MakeSnapshot(NowMicros()).settled) {
    settled_base_.attested += c.attested;
    settled_base_.divergent += c.divergent;
    settled_base_.missing += c.missing;
  }
  divergence_checked_ = false;
  std::lock_guard<std::mutex> lock(engine_mu_);
  engine_ = std::move(engine);
}

DivergenceVerdict JudgeDivergence(const compute::SettledCounts& base, const compute::Snapshot& snap,
                                  std::uint64_t min_ops) {
  std::uint64_t attested = 0, divergent = 0;
  for (const auto& [tenant, c] : snap.settled) {
    attested += c.attested;
    divergent += c.divergent;
  }
  attested -= std::min(attested, base.attested);
  divergent -= std::min(divergent, base.divergent);
  if (attested + divergent < min_ops) return DivergenceVerdict::kUndecided;
  return attested == 0 ? DivergenceVerdict::kAllDivergent : DivergenceVerdict::kFine;
}

void Exporter::CheckAllDivergent(const compute::Snapshot& snap) {
  if (divergence_checked_) return;
  const DivergenceVerdict v = JudgeDivergence(settled_base_, snap, kDivergenceCheckOps);
  if (v == DivergenceVerdict::kUndecided) return;
  divergence_checked_ = true;
  if (v == DivergenceVerdict::kAllDivergent) {
    std::uint64_t divergent = 0;
    for (const auto& [tenant, c] : snap.settled) divergent += c.divergent;
    spdlog::warn("every operation settled with a receipt since start is divergent (divergent={}): the ledgers' "
                 "content_hash and the trace stores' attested_hash probably have different forms (a bytea digest "
                 "without encode(..., 'hex'), upper- vs lower-case hex); check with --config.check-live",
                 divergent - std::min(divergent, settled_base_.divergent));
  }
}

void Exporter::Restore() {
  restored_ = true;
  std::optional<compute::PersistentState> state;
  if (!cfg_.state_file.empty()) {
    try {
      state = state::ReadStateFile(cfg_.state_file, NowMicros());
      if (state) {
        spdlog::info("state file loaded path={} window_end_us={} anchored_cursors={}", cfg_.state_file,
                     state->window_end, state->anchored_cursors.size());
      } else {
        spdlog::info("no state file yet, starting from the coverage window path={}", cfg_.state_file);
      }
    } catch (const std::exception& e) {
      // Keep the bad file for inspection; the next write must not replace it.
      std::string why;
      const std::string aside = state::SetAsideUnusable(cfg_.state_file, &why);
      spdlog::error("state file unusable, starting from the coverage window: {} kept_as={}", e.what(),
                    aside.empty() ? "(not moved: " + why + ")" : aside);
      state.reset();
    }
  }
  BuildEngine(state ? &*state : nullptr, nullptr);
  // Publish what the state restored before any poll: counters must not read
  // lower between start and the first poll than before the restart.
  PublishOnce(false);
}

void Exporter::Start() {
  if (!restored_) Restore();
  StartThreads(nullptr);
}

void Exporter::StartThreads(const Carried* carried) {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stopping_ = false;
    dirty_ = true;
    reported_.clear();
  }
  auto sources = source::MakeSources(cfg_);
  const Micros now = NowMicros();
  Micros from;
  int kept = 0;
  {
    std::lock_guard<std::mutex> lock(engine_mu_);
    from = engine_->ReplayFrom(now);
    for (auto& s : sources) {
      s->StartFrom(from, SavedPosition(*engine_, s->name()));
      if (carried != nullptr) {
        auto it = carried->find(s->name());
        if (it != carried->end() && !std::holds_alternative<std::monostate>(it->second.second) &&
            it->second.first == s->fingerprint()) {
          s->RestoreCursors(it->second.second);
          ++kept;
        }
      }
    }
  }
  spdlog::info("starting pollers sources={} replay_from_us={} cursors_kept={} poll_interval_ms={}", sources.size(),
               from, kept, cfg_.poll_interval_ms);
  for (auto& s : sources) {
    Poller p;
    p.source = std::move(s);
    auto* raw = p.source.get();
    // Pages go to the engine as they arrive: memory follows batch_size, not
    // the rows of one (cold-start) poll.
    raw->SetSink([this, raw](source::Batch&& page) { ApplyPage(raw, page); });
    p.thread = std::thread([this, raw, interval = cfg_.poll_interval_ms] { PollLoop(raw, interval); });
    pollers_.push_back(std::move(p));
  }
  publisher_thread_ = std::thread([this] { PublishLoop(); });
}

Exporter::Carried Exporter::StopThreads() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stopping_ = true;
  }
  wake_cv_.notify_all();
  // Interrupt in-flight queries so shutdown and reload do not wait for them.
  for (auto& p : pollers_) p.source->RequestStop();
  Carried carried;
  for (auto& p : pollers_) {
    if (p.thread.joinable()) p.thread.join();
    p.source->Close();
    carried[p.source->name()] = {p.source->fingerprint(), p.source->saved_cursors()};
  }
  pollers_.clear();
  if (publisher_thread_.joinable()) publisher_thread_.join();
  return carried;
}

void Exporter::Stop() {
  StopThreads();
  PublishOnce(!cfg_.state_file.empty());
}

void Exporter::Reload(config::Config cfg) {
  const Carried carried = StopThreads();
  const auto next_options = compute::EngineOptions::FromConfig(cfg);
  bool keep_engine;
  {
    std::lock_guard<std::mutex> lock(engine_mu_);
    keep_engine = engine_->options() == next_options;
  }
  if (keep_engine) {
    // Same sources, window, tenants and buckets: keep every number and every
    // pending operation; only the pollers restart (new DSNs, timeouts, ...).
    cfg_ = std::move(cfg);
    StartThreads(&carried);
    return;
  }
  // The computation changed: an in-process restart through the state (counters,
  // E, anchored cursors, counted keys), re-reading the window as at startup.
  compute::PersistentState state;
  std::vector<compute::SourceHealth> health;
  {
    std::lock_guard<std::mutex> lock(engine_mu_);
    state = engine_->ExportState();
    health = engine_->MakeSnapshot(NowMicros()).sources;
  }
  cfg_ = std::move(cfg);
  BuildEngine(&state, &health);
  StartThreads(nullptr);
}

bool Exporter::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(wake_mu_);
  return !wake_cv_.wait_for(lock, d, [this] { return stopping_; });
}

void Exporter::ApplyPage(source::Source* src, const source::Batch& page) {
  // Called by src->Poll() on this source's poller thread, after the source
  // committed its cursor past the page (cursors() include it). The rows and,
  // for a ledger, the anchored cursor that covers exactly them are recorded
  // under one lock: a state file written by the publisher (ExportState under
  // engine_mu_) always has an anchored cursor that matches the applied
  // latency observations, so a restart neither skips nor repeats any.
  //
  // It never throws: a page the engine failed to take in full (out of memory
  // halfway through) counts as applied, so the source does not roll its
  // cursor back and deliver the page again, which would count its first rows
  // twice. Losing the rest of one page is the lesser harm, and it is logged.
  std::lock_guard<std::mutex> lock(engine_mu_);
  try {
    ApplyBatch(*engine_, page);
  } catch (const std::exception& e) {
    spdlog::error("page not fully applied, its remaining rows are lost source={} error=\"{}\"", src->name(),
                  e.what());
  }
  try {
    RecordDurable(*engine_, *src);
  } catch (const std::exception& e) {
    spdlog::error("anchored cursor not recorded for the state file source={} error=\"{}\"", src->name(), e.what());
  }
}

void Exporter::PollOnce(source::Source* src, source::PollResult& r, Micros& limit) {
  {
    std::lock_guard<std::mutex> lock(engine_mu_);
    const Micros now = NowMicros();
    limit = engine_->ReadLimit(src->name(), now);
    src->SetReadLimit(limit);
    src->SetReplayFloor(engine_->ReplayFrom(now));
  }
  // With the sink set (StartThreads), the stream rows were applied page by
  // page during Poll(); r.batch brings the horizons, queue depth and newest
  // proof of a successful poll. A poll that failed or was stopped after some
  // pages keeps them applied: the source's cursors are past them, and so is
  // the anchored cursor recorded by ApplyPage.
  r = src->Poll();
  {
    std::lock_guard<std::mutex> lock(engine_mu_);
    ApplyBatch(*engine_, r.batch);
    if (r.report.success) RecordDurable(*engine_, *src);
    // A poll cut short by shutdown or reload is not a source failure.
    const bool stopped = !r.report.success && r.report.error == source::kStoppedError;
    if (stopped) {
      engine_->RecordDelivered(r.report);
    } else {
      engine_->RecordPoll(r.report);
    }
  }
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    dirty_ = true;
    reported_.insert(src->name());
    ++polls_applied_;
  }
  wake_cv_.notify_all();
}

bool Exporter::WaitForReadLimit(source::Source* src, Micros limit, std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + interval;
  for (;;) {
    std::uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      if (stopping_) return false;
      seen = polls_applied_;
    }
    {
      // Settling here (not only at the next publish) frees the step just
      // read before the next one is: the cold start holds one step, not the
      // window (docs/deployment.md#memory).
      std::lock_guard<std::mutex> lock(engine_mu_);
      const Micros now = NowMicros();
      engine_->Advance(now);
      if (engine_->ReadLimit(src->name(), now) > limit) return true;
    }
    std::unique_lock<std::mutex> lock(wake_mu_);
    if (!wake_cv_.wait_until(lock, deadline, [&] { return stopping_ || polls_applied_ != seen; })) return true;
    if (stopping_) return false;
  }
}

void Exporter::PollLoop(source::Source* src, std::int64_t interval_ms) {
  int failures = 0;
  bool was_up = true;   // so the first failure is logged
  const auto interval = std::chrono::milliseconds(interval_ms);
  src->ClearStop();
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      if (stopping_) return;
    }
    const auto started = std::chrono::steady_clock::now();
    source::PollResult r;
    Micros limit = kMaxMicros;
    try {
      PollOnce(src, r, limit);
    } catch (const std::exception& e) {
      // Out of memory or a bug: keep the thread (and the process) alive, retry later.
      r.report.success = false;
      r.report.error = std::string("internal error: ") + e.what();
      spdlog::error("poll failed source={} error=\"{}\"", src->name(), e.what());
    }
    // A big poll (cold start, catch-up) freed its pages' rows and PGresults;
    // glibc keeps freed memory in its arenas (and the top of the heap) for
    // reuse, so without this the resident size stays at the poll's peak.
    // Steady polls read a few hundred rows and skip it (it walks every arena).
    r.batch = {};
    if (r.report.rows_read > kTrimAfterRows) malloc_trim(0);

    if (r.report.success) {
      if (!was_up) spdlog::info("source up source={} rows={}", src->name(), r.report.rows_read);
      spdlog::debug("poll ok source={} rows={} duration_s={:.3f} more={}", src->name(), r.report.rows_read,
                    r.report.duration_seconds, r.more);
      failures = 0;
      was_up = true;
      if (r.more) continue;   // a catch-up stopped at max_rows_per_poll: go on at once
      // Stopped at the read limit (reading the window in steps, or ahead of
      // a source that is down): go on as soon as the limit moves.
      if (r.limited) {
        if (!WaitForReadLimit(src, limit, interval)) return;
        continue;
      }
      const auto elapsed = std::chrono::steady_clock::now() - started;
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(interval - elapsed);
      if (!SleepFor(std::max(wait, std::chrono::milliseconds(0)))) return;
    } else {
      ++failures;
      const auto wait = Backoff(failures, interval_ms);
      if (was_up || failures % 10 == 0) {
        spdlog::warn("source down source={} error=\"{}\" failures={} retry_in_ms={}", src->name(), r.report.error,
                     failures, wait.count());
      }
      was_up = false;
      if (!SleepFor(wait)) return;
    }
  }
}

void Exporter::PublishOnce(bool write_state) {
  compute::Snapshot snap;
  std::optional<compute::PersistentState> state;
  const Micros now = NowMicros();
  {
    std::lock_guard<std::mutex> lock(engine_mu_);
    if (!engine_) return;
    engine_->Advance(now);
    snap = engine_->MakeSnapshot(now);
    if (write_state) {
      state = engine_->ExportState();
      state->saved_at = now;
    }
  }
  CheckAllDivergent(snap);
  // Written before publishing, so a failed write is counted in this publish.
  if (state) {
    try {
      state::WriteStateFile(cfg_.state_file, *state);
    } catch (const std::exception& e) {
      ++state_write_errors_;
      spdlog::error("cannot write state file: {}", e.what());
    }
  }
  snap.state_write_errors = state_write_errors_.load();
  if (snapshot_hook_) snapshot_hook_(snap);
  publisher_.Publish(std::move(snap));
}

void Exporter::SetSnapshotHook(std::function<void(compute::Snapshot&)> hook) { snapshot_hook_ = std::move(hook); }

void Exporter::RequestPublish() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    dirty_ = true;
  }
  wake_cv_.notify_all();
}

void Exporter::PublishLoop() {
  const auto interval = std::chrono::milliseconds(cfg_.poll_interval_ms);
  const std::size_t sources = pollers_.size();
  auto last_state_write = std::chrono::steady_clock::now() - interval;
  for (;;) {
    {
      // Render once per polling round: when every source has reported since
      // the last publish, or half an interval after the first one did (a slow
      // or failing source does not hold the others back), or once an interval.
      std::unique_lock<std::mutex> lock(wake_mu_);
      wake_cv_.wait_for(lock, interval, [this] { return stopping_ || dirty_; });
      if (stopping_) return;
      if (dirty_) {
        wake_cv_.wait_for(lock, interval / 2, [&] { return stopping_ || reported_.size() >= sources; });
        if (stopping_) return;
      }
      dirty_ = false;
      reported_.clear();
    }
    try {
      const auto now = std::chrono::steady_clock::now();
      const bool write_state = !cfg_.state_file.empty() && now - last_state_write >= interval;
      PublishOnce(write_state);
      if (write_state) last_state_write = now;
    } catch (const std::exception& e) {
      spdlog::error("publish failed: {}", e.what());
    }
  }
}

}  // namespace provledger::app
