// Settings every source shares, taken from the top level of the config.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "config/config.hh"
#include "core/rows.hh"
#include "source/log.hh"
#include "source/rate_limiter.hh"

namespace provledger::source {

struct SourceOptions {
  // config::Config::log_bad_rows_per_minute: bad-row log lines per source.
  std::int64_t log_bad_rows_per_minute = 10;
  // config::Tenants::max_name_bytes: longer tenant names are decode errors.
  std::size_t max_tenant_bytes = 128;
  // Where a stream starts when its cursor is still at kMinMicros (no state):
  // at (database now - cold_start_lookback_ms). nullopt = the whole table.
  std::optional<std::int64_t> cold_start_lookback_ms;
  // Rows one stream may return per poll (catch-up is read as several polls,
  // PollResult::more set in between); <= 0 = no limit. Config key
  // max_rows_per_poll (config::Config::max_rows_per_poll).
  std::int64_t max_rows_per_poll = 200000;
  LogFn log;                       // empty = SpdlogLogFn()
  RateLimiter::Clock clock;        // empty = steady_clock (tests inject one)

  // log_bad_rows_per_minute, max_tenant_bytes and max_rows_per_poll from `c`;
  // cold_start_lookback_ms = coverage window + grace.
  static SourceOptions FromConfig(const config::Config& c, LogFn log = {});
};

}  // namespace provledger::source
