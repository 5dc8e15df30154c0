// The hand-over between the report's reader threads and the thread that
// applies what they read to the Engine (report/run.cc). Every stream source
// (a trace store, a ledger) is read on its own thread and connection, so the
// databases compute the next pages while the Engine applies these; the pages
// wait in a bounded PollQueue per source, and the main thread applies them in
// the order of reading the sources one after another (round by round, see
// TraceRounds), so the report does not depend on thread timing.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "core/rows.hh"
#include "source/source.hh"

namespace provledger::report {

// One source's output on its way from its reader thread to the main thread:
// the pages of each poll in the order the source delivered them, then the
// poll's result. Bounded by decoded rows (a page is always taken when the
// queue is empty, whatever its size), so a reader runs at most `max_rows`
// rows ahead of the Engine.
class PollQueue {
 public:
  explicit PollQueue(std::size_t max_rows);

  // Reader side. Block while the queue is full; false once Stop() was called
  // (the rest is not wanted).
  bool PushPage(source::Batch&& page);
  bool PushEnd(source::PollResult&& result);

  // Main side: hands the pages of the reader's next poll to `apply`, in
  // order, and returns that poll's result. Waits for them. Throws
  // std::runtime_error("stopped") when the queue was stopped and is empty.
  source::PollResult Next(const std::function<void(const source::Batch&)>& apply);

  // Wakes both sides for good.
  void Stop();

  std::size_t rows() const;   // decoded rows waiting (tests)

 private:
  struct Item {
    source::Batch page;
    std::size_t rows = 0;
    std::optional<source::PollResult> end;
  };
  const std::size_t max_rows_;
  mutable std::mutex mu_;
  std::condition_variable space_, ready_;
  std::deque<Item> items_;
  std::size_t rows_ = 0;
  bool stop_ = false;
};

// The rows a page holds: spans, or receipts + anchored rows.
std::size_t RowsOf(const source::Batch& page);

// How far each trace store's polls have read, for the ledger readers. Round k
// of the day is every trace store's k-th poll (a store whose last poll came
// earlier keeps its position), then every ledger read up to the slowest
// store's position (at most the day's last µs) + grace.
class TraceRounds {
 public:
  struct Round {
    Micros spans_upto = kMinMicros;   // the slowest store after round k
    bool last = false;                // every store has had its last poll by round k
  };

  explicit TraceRounds(std::size_t stores);

  // After store i's poll: how far it has read (the largest complete_upto so
  // far), whether that was its last poll, whether it failed (then it polls no more).
  void Record(std::size_t i, Micros upto, bool last, bool failed);

  // Waits until every store has read round k (k = 0, 1, ...). Nothing when
  // stopped, or when a store failed or ended short of `day_last` before or
  // in round k: the main thread fails the run on that store's result, and
  // the ledgers need not read the round.
  std::optional<Round> Wait(std::size_t k, Micros day_last);

  void Stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<Micros>> upto_;   // per store, per round
  std::vector<bool> final_, failed_;
  bool stop_ = false;
};

}  // namespace provledger::report
