// RateLimiter: at most `per_minute` log lines per fixed one-minute window;
// lines beyond that are counted, and the count is handed out once, by
// TakeSuppressed(), after their window has ended (so the caller logs one
// "suppressed K" line). per_minute <= 0 suppresses every line.
// The clock is injectable for tests. Not thread-safe (one per source).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace provledger::source {

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit RateLimiter(std::int64_t per_minute, Clock clock = {});

  // True: log this line now. False: it was counted as suppressed.
  bool Allow();
  // Lines suppressed in windows that have ended and not yet reported; 0 if none.
  std::uint64_t TakeSuppressed();

 private:
  void Roll();

  std::int64_t per_minute_;
  Clock clock_;
  bool started_ = false;
  std::chrono::steady_clock::time_point window_start_{};
  std::int64_t allowed_ = 0;          // lines allowed in the current window
  std::uint64_t suppressed_ = 0;      // lines suppressed in the current window
  std::uint64_t unreported_ = 0;      // suppressed in ended windows
};

}  // namespace provledger::source
