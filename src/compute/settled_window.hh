// The settled operations of the coverage window, oldest start first, in 16 B
// per operation (src/compute/engine.hh).
//
// Operations almost always settle in nondecreasing start order (the engine
// pops a min-heap of starts up to a window end that never moves back), so the
// main store is a FIFO of packed entries {op key 8 B, start as a delta from
// the previous entry 4 B (µs), tenant << 1 | with_receipt 4 B}. An entry that
// does not fit that shape goes to a small min-heap of full entries instead:
//   - out of order: a span read late (start before the newest settled
//     start, still inside the window) settles after later-starting ones;
//   - a tenant id of 2^31 - 1 or more.
// A gap of 2^32 µs (~71 min) or more between consecutive starts takes one
// extra marker entry carrying the full gap. PopMin takes from whichever store
// holds the smaller start, so the order seen by the caller is by start
// (entries with equal starts in any order). Starts may be any Micros.
// Cost: Push and PopMin O(1) amortized (O(log late) for late entries).
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "core/rows.hh"

namespace provledger::compute {

class SettledWindow {
 public:
  struct Entry {
    Micros start = 0;
    std::uint64_t op_key = 0;
    int tenant = 0;   // >= 0
    bool with_receipt = false;
  };

  bool empty() const { return fifo_.empty() && late_.empty(); }
  std::size_t size() const { return fifo_.size() - gaps_ + late_.size(); }
  // Entries held out of order (tests and observability).
  std::size_t late_size() const { return late_.size(); }

  void Push(const Entry& e) {
    const auto tenant = static_cast<std::uint32_t>(e.tenant);
    if (e.tenant < 0 || tenant >= kGap >> 1 || (!fifo_.empty() && e.start < Signed(back_start_))) {
      late_.push_back(e);
      std::push_heap(late_.begin(), late_.end(), Later{});
      return;
    }
    const std::uint32_t tag = tenant << 1 | (e.with_receipt ? 1u : 0u);
    if (fifo_.empty()) {
      front_start_ = back_start_ = Unsigned(e.start);
      fifo_.push_back(Packed{e.op_key, 0, tag});
      return;
    }
    std::uint64_t gap = Unsigned(e.start) - back_start_;   // start >= back start: exact in modular arithmetic
    back_start_ = Unsigned(e.start);
    if (gap > UINT32_MAX) {
      fifo_.push_back(Packed{gap, 0, kGap});
      ++gaps_;
      gap = 0;
    }
    fifo_.push_back(Packed{e.op_key, static_cast<std::uint32_t>(gap), tag});
  }

  // The smallest start held. Requires !empty().
  Micros MinStart() const {
    if (fifo_.empty()) return late_.front().start;
    if (late_.empty()) return Signed(front_start_);
    return std::min(Signed(front_start_), late_.front().start);
  }

  // Removes and returns an entry with the smallest start. Requires !empty().
  Entry PopMin() {
    if (fifo_.empty() || (!late_.empty() && late_.front().start < Signed(front_start_))) {
      std::pop_heap(late_.begin(), late_.end(), Later{});
      const Entry e = late_.back();
      late_.pop_back();
      if (late_.empty()) std::vector<Entry>().swap(late_);
      return e;
    }
    const Packed p = fifo_.front();
    const Entry e{Signed(front_start_), p.key, static_cast<int>(p.tag >> 1), (p.tag & 1u) != 0};
    fifo_.pop_front();
    // The new front's start: the old one plus its delta (and any gap marker).
    while (!fifo_.empty()) {
      const Packed& next = fifo_.front();
      if (next.tag != kGap) {
        front_start_ += next.delta;
        break;
      }
      front_start_ += next.key;
      fifo_.pop_front();
      --gaps_;
    }
    return e;
  }

 private:
  struct Packed {
    std::uint64_t key;     // op key, or the gap in µs for a gap marker
    std::uint32_t delta;   // µs after the previous entry's start
    std::uint32_t tag;     // tenant << 1 | with_receipt, or kGap
  };
  static_assert(sizeof(Packed) == 16);
  static constexpr std::uint32_t kGap = UINT32_MAX;

  struct Later {
    bool operator()(const Entry& a, const Entry& b) const { return a.start > b.start; }
  };

  static std::uint64_t Unsigned(Micros m) { return static_cast<std::uint64_t>(m); }
  static Micros Signed(std::uint64_t u) { return static_cast<Micros>(u); }

  std::deque<Packed> fifo_;
  std::uint64_t front_start_ = 0;   // start of fifo_.front() (as uint64 so deltas wrap exactly)
  std::uint64_t back_start_ = 0;    // start of the newest entry in fifo_
  std::size_t gaps_ = 0;            // gap markers in fifo_
  std::vector<Entry> late_;         // min-heap by start
};

}  // namespace provledger::compute
