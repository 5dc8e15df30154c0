// The state file: PersistentState as JSON, written atomically (temp file in
// the same directory, fsync, rename, fsync of the directory), so a crash
// leaves either the old or the new file, never a torn one.
#pragma once

//
// Loading also checks that every value is plausible (PlausibilityProblem):
// a well-formed file with window_end_us = INT64_MAX once disabled the
// exporter for good. Error texts are printable ASCII/UTF-8 (decode::Printable):
// garbage bytes of a file never reach a log line raw.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

#include "compute/state.hh"

namespace provledger::state {

// Largest state file read, bytes (one million divergence keys take ~40 MB).
inline constexpr std::size_t kMaxStateFileBytes = 256u << 20;
// Plausible times around `now`: [now - 10 years, now + 1 day].
inline constexpr Micros kMaxStatePastUs = 10LL * 366 * 86400 * 1000000;
inline constexpr Micros kMaxStateFutureUs = 86400LL * 1000000;
// Counters are exported exactly up to 2^53; a larger one is not ours.
inline constexpr std::uint64_t kMaxStateCounter = 1ULL << 53;

// A state file that exists but cannot be used (unreadable, corrupt, foreign,
// implausible). what() is printable and names the path.
class UnusableState : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string EncodeState(const compute::PersistentState& st);
// Throws UnusableState naming what is wrong (bad JSON, wrong version,
// missing, mistyped or negative field).
compute::PersistentState DecodeState(const std::string& text);

// "" when every value of `st` is plausible at `now`, else the first problem:
// times (saved_at, window_end, cursors, counted keys) outside
// [now - 10 years, now + 1 day] (window_end and cursors may also be "never"),
// counters above 2^53, histogram buckets adding up to more than their count
// or a sum that is negative or not finite, bucket bounds not positive and
// increasing, tenant names that decode would refuse, over-long cursor ids.
std::string PlausibilityProblem(const compute::PersistentState& st, Micros now);

// Creates a new temp file beside `path` (mkstemp: O_CREAT|O_EXCL, so it never
// follows or reuses an existing path such as a symlink at <path>.tmp), writes,
// fsyncs, renames it over `path` and fsyncs the directory. Throws
// std::runtime_error with the path and errno text (the temp file is removed).
void WriteStateFile(const std::string& path, const compute::PersistentState& st);
// std::nullopt when the file does not exist; throws UnusableState when it
// exists but cannot be read, decoded, or is implausible at `now` (the caller
// sets it aside with SetAsideUnusable and starts from the window).
std::optional<compute::PersistentState> ReadStateFile(const std::string& path, Micros now);

// Renames an unusable state file to <path>.unusable (replacing an older one),
// so it is kept for inspection and not overwritten by the next write. Returns
// the new path, or "" when it could not be moved (errno text in *error).
std::string SetAsideUnusable(const std::string& path, std::string* error);

}  // namespace provledger::state
