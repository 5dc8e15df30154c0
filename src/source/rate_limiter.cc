#include "source/rate_limiter.hh"

namespace provledger::source {

RateLimiter::RateLimiter(std::int64_t per_minute, Clock clock)
    : per_minute_(per_minute), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

void RateLimiter::Roll() {
  const auto now = clock_();
  if (!started_ || now - window_start_ >= std::chrono::minutes(1)) {
    unreported_ += suppressed_;
    suppressed_ = 0;
    allowed_ = 0;
    window_start_ = now;
    started_ = true;
  }
}

bool RateLimiter::Allow() {
  Roll();
  if (allowed_ < per_minute_) {
    ++allowed_;
    return true;
  }
  ++suppressed_;
  return false;
}

std::uint64_t RateLimiter::TakeSuppressed() {
  if (started_ && suppressed_ > 0) {
    // Only close the window if it really ended.
    if (clock_() - window_start_ >= std::chrono::minutes(1)) Roll();
  }
  const std::uint64_t n = unreported_;
  unreported_ = 0;
  return n;
}

}  // namespace provledger::source
