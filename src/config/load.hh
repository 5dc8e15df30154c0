// YAML -> validated config::Config (config/config.hh), with every problem in
// the file reported at once, each as "FILE:LINE:COLUMN: message".
//
// Contract
// - LINE and COLUMN are 1-based (yaml-cpp marks + 1). A problem points at the
//   offending value; at the key when the value is missing/null or the key itself
//   is wrong (unknown, duplicate); at the parent mapping for a missing required
//   key. YAML syntax errors use the parser's position. File-level problems that
//   have no position (the file cannot be read) are "FILE: message".
// - Problems are sorted by position (stable) and none is dropped: one pass
//   reports unknown keys (with "did you mean ...?"), wrong types, bad durations,
//   out-of-range values and cross-field rules together.
// - Durations are strings such as "500ms", "15s", "1h30m" (units d h m s ms, in
//   that order, each at most once, no spaces) and come out as milliseconds.
// - No environment expansion and no filesystem access beyond reading the config
//   file itself: password_file, password_env and flags.file are only checked for
//   form; sources open them at run time.
// - Messages never contain a DSN's text (a password must not reach a log line).
//
// Thread safety: the functions are reentrant; they share no state.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hh"

namespace provledger::config {

// Thrown by LoadConfig/ParseConfig. problems() is never empty; what() is the
// problems joined with '\n'.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// What the running binary can do, where the config depends on it: the
// loader refuses what the start would refuse (--config.check included).
struct LoadOptions {
  bool ipv6_listen = true;   // the HTTP server can listen on IPv6 (http::Ipv6ListenAvailable)
};

// Reads and validates the file at `path` (at most 1 MiB, one YAML document).
// Config::path is set to `path`. Throws ConfigError (also when the file
// cannot be read).
Config LoadConfig(const std::string& path, const LoadOptions& options = {});

// Validates `yaml_text`; `filename` is used in problem messages and as
// Config::path. Throws ConfigError.
Config ParseConfig(const std::string& yaml_text, const std::string& filename, const LoadOptions& options = {});

// Prometheus-style duration ("1h30m", "500ms"; units d h m s ms, descending,
// each once) -> milliseconds. nullopt when malformed, unit-less or overflowing.
std::optional<std::int64_t> ParseDurationMs(std::string_view text);

// Milliseconds -> the shortest duration string ParseDurationMs accepts
// ("1h30m", "0s"). `ms` must be >= 0.
std::string FormatDurationMs(std::int64_t ms);

// Every key the loader accepts, as dotted paths with "[]" for list items
// ("web.listen_address", "ledgers[].queries.clock"). Used by tests to prove the
// example config and docs/configuration.md cover every key.
std::vector<std::string> KnownKeyPaths();

// The --config.check behaviour: loads `path`; when valid prints
// "config OK: N ledgers, M trace stores\n" to `out` and returns 0; otherwise
// prints every problem, one per line, to `err` and returns 1.
int CheckConfigFile(const std::string& path, std::ostream& out, std::ostream& err,
                    const LoadOptions& options = {});

}  // namespace provledger::config
