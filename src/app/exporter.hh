// Wiring: one poller thread per source, one publisher thread that advances
// the pure core, renders the exposition once per change and writes the state
// file. The HTTP server only reads what the publisher published.
//
// Locking: the Engine is guarded by engine_mu_; pollers hold it only to apply
// a page or a poll's final batch (never during I/O); the publisher holds it to advance and copy a
// snapshot, and renders outside it. Scrapes never take engine_mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "compute/engine.hh"
#include "config/config.hh"
#include "render/publisher.hh"
#include "source/source.hh"

namespace provledger::app {

// The all-divergent check, pure: kUndecided until at least `min_ops`
// operations settled with a receipt (attested or divergent) beyond `base`
// (the settled counts when the engine was built); then kAllDivergent when
// none of them was attested, else kFine.
enum class DivergenceVerdict { kUndecided, kFine, kAllDivergent };
DivergenceVerdict JudgeDivergence(const compute::SettledCounts& base, const compute::Snapshot& snap,
                                  std::uint64_t min_ops);

class Exporter {
 public:
  Exporter(config::Config cfg, render::Publisher& publisher);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Loads the state file (if configured) and publishes what it restored, so a
  // scrape before the first poll already has the restored counters. An
  // unusable state file is set aside as <state_file>.unusable, logged, and
  // the exporter starts from the window. Called once, before Start().
  void Restore();
  // Restore() if not done yet, then positions the sources and starts the
  // threads. Never throws for database trouble: sources start down and retry.
  void Start();
  // Stops the threads, writes the state file one last time.
  void Stop();
  // Applies a new, already validated config: an in-process restart that keeps
  // counters, cursors and per-source health (as the state file would).
  void Reload(config::Config cfg);

  // Called with every snapshot before it is published (the evidence API's
  // job counters); set before Restore(). Must be quick and thread-safe.
  void SetSnapshotHook(std::function<void(compute::Snapshot&)> hook);
  // Asks the publisher thread for a publish soon (something the snapshot
  // hook reports changed). Thread-safe.
  void RequestPublish();

 private:
  struct Poller {
    std::unique_ptr<source::Source> source;
    std::thread thread;
  };
  // Cursors of the stopped sources, by name, with the fingerprint of the
  // data they were read from (Source::fingerprint).
  using Carried = std::map<std::string, std::pair<std::string, source::Cursors>>;

  void BuildEngine(const compute::PersistentState* state, const std::vector<compute::SourceHealth>* health);
  void StartThreads(const Carried* carried);
  Carried StopThreads();
  void PollLoop(source::Source* src, std::int64_t interval_ms);
  // Runs one poll; `limit` gets the read limit it was given.
  void PollOnce(source::Source* src, source::PollResult& r, Micros& limit);
  // After a poll that stopped at its read limit: settles what was read
  // (Engine::Advance) and waits until the limit moves past `limit` (another
  // source was read further), at most `interval`. False when stopping.
  bool WaitForReadLimit(source::Source* src, Micros limit, std::chrono::milliseconds interval);
  void ApplyPage(source::Source* src, const source::Batch& page);   // the sources' PageSink
  // PollLoop calls malloc_trim(0) after a poll that read more rows than this.
  static constexpr std::uint64_t kTrimAfterRows = 10000;
  void PublishLoop();
  void PublishOnce(bool write_state);
  bool SleepFor(std::chrono::milliseconds d);   // false when stopping

  config::Config cfg_;
  render::Publisher& publisher_;

  std::mutex engine_mu_;
  std::unique_ptr<compute::Engine> engine_;

  std::vector<Poller> pollers_;
  std::thread publisher_thread_;

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  std::set<std::string> reported_;   // sources that reported since the last publish
  std::uint64_t polls_applied_ = 0;  // polls whose batch the engine has (WaitForReadLimit)

  std::atomic<std::uint64_t> state_write_errors_{0};
  std::function<void(compute::Snapshot&)> snapshot_hook_;
  bool restored_ = false;   // provledger_exporter_state_write_errors_total
  // The all-divergent check (README, "Mapping checks"): settled outcomes when
  // the engine was built, and whether the first kDivergenceCheckOps receipted
  // settlements since then were judged. Publisher thread only (and BuildEngine
  // while it is stopped).
  static constexpr std::uint64_t kDivergenceCheckOps = 10;
  compute::SettledCounts settled_base_;
  bool divergence_checked_ = false;
  void CheckAllDivergent(const compute::Snapshot& snap);
};

}  // namespace provledger::app
