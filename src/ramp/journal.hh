// The decision journal: append-only JSON lines, one object per line.
//
//   {"time":"2026-12-04T21:40:00.000Z","ts_ms":...,"decision":"advance",
//    "tenant":"acme","feature":"new_checkout","from":10,"to":50,
//    "reason":"...","checks":[{"name":"coverage","value":1,"green":true}],
//    "alerts":[],"step_started_ms":...,"green_since_ms":...|null,
//    "last_change":"advance"|"rollback"|null}
//   {"time":"...","ts_ms":...,"decision":"run","changes":1,"pairs":12}
//   {"time":"...","ts_ms":...,"decision":"write_failed","target":"flags table",
//    "error":"...","changes":1}   (a run whose write failed: nothing changed,
//                                  no state, not counted as a run)
//
// A (tenant, feature) line is written when its percent changes or its status
// (hold / freeze / soak, or the start of a green streak) changes; a "run" line
// ends every run (a gap between runs longer than max_gap restarts every soak).
// The last line of each pair is its whole state
// (pct = "to", step start, status, green streak), so the state rebuilt at
// start is exactly what the previous run left. Pure: text in, state out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ramp/decide.hh"

namespace provledger::ramp {

struct JournalState {
  std::map<std::pair<std::string, std::string>, PairState> pairs;  // (tenant, feature)
  std::optional<std::int64_t> last_run_ms;
  std::map<std::string, std::uint64_t> entries_by_decision;         // every line, by "decision"
  // "FILE:LINE: message" for lines that cannot be used. A last line without its
  // newline (a write cut by a crash) is reported in `warnings` and ignored.
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

JournalState ReadJournal(std::string_view text, std::string_view filename);

// One line (with '\n') for a decision made at `now_ms`.
std::string DecisionLine(const Decision& d, std::int64_t now_ms);
std::string RunLine(std::int64_t now_ms, int changes, int pairs);
// A run that planned `changes` but could not write them to `target`.
std::string WriteFailedLine(std::int64_t now_ms, const std::string& target, const std::string& error,
                            int changes);

// "2026-12-04T21:40:00.123Z"
std::string FormatTime(std::int64_t ms);

}  // namespace provledger::ramp
