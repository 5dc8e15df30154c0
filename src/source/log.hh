// How sources log: through a LogFn the application provides (so it chooses
// logfmt or JSON); an empty LogFn logs through spdlog's default logger.
// Sources log only: a new connection (info), a lost connection (warn), bad
// rows (warn, rate-limited per source: see RateLimiter) and the count of
// suppressed bad-row lines. A failed poll is not logged here: its message is
// in PollReport::error for the poller to log. No log line holds a password;
// untrusted row text is escaped with decode::Printable.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace provledger::source {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Structured fields of one line, e.g. {"source","eu"}, {"error","..."}.
using LogFields = std::vector<std::pair<std::string, std::string>>;

// Must be callable from any poller thread.
using LogFn = std::function<void(LogLevel, std::string_view message, const LogFields& fields)>;

// A LogFn writing "message key=value ..." to spdlog's default logger.
LogFn SpdlogLogFn();

}  // namespace provledger::source
