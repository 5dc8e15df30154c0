// Ramp recommendations: coverage and divergence of a tenant (plus whatever
// further checks a caller evaluated) -> advance / hold / freeze / roll back a
// feature's ramp, with the reasons. The ONE implementation of this rule,
// shared by the coverage reporter (src/report) and the ramp controller.
// Pure: no I/O, no clock, no third-party includes. Thread-safe (no state).
//
// Decision rule (Recommend), in this order:
//  0. Freeze (no step) while the caller reports a global freeze
//     (global_freezes, e.g. the ramp controller's freeze file): it stops every
//     change, rollbacks included.
//  1. Roll back one step (to the largest step below the current percent, or
//     0) when any of these holds, and the current percent is above 0:
//     - coverage < rollback_below_coverage_pct (only with >= min_operations
//       operations; rollback_below_coverage_pct 0 disables it);
//     - coverage fell by more than rollback_drop_points percentage points
//       against the previous period (both known, >= min_operations now;
//       a negative rollback_drop_points disables it);
//     - divergence appeared: divergence > 0 in this period while the previous
//       period had none or is unknown (rollback_on_new_divergence);
//     - the caller asked for it (rollback_requests, e.g. a critical alert).
//     (The three coverage/divergence conditions are skipped when
//     coverage_by_checks is set.)
//     At 0 % there is nothing to roll back: hold, with the same reasons.
//     When the caller blocks a rollback (rollback_blocked, e.g. "already
//     rolled back less than one soak ago"): freeze, with the same reasons.
//  2. Freeze (no step) while the caller reports a freeze (e.g. a firing alert
//     scoped to the tenant).
//  3. Advance one step (to the smallest step above the current percent) when
//     coverage is known, >= advance_min_coverage_pct, operations >=
//     min_operations, divergence == 0 (these coverage conditions are skipped
//     when coverage_by_checks is set: the caller's checks judge coverage and
//     divergence), every caller check is green and there is a step above the
//     current percent.
//  4. Otherwise hold. Every failed condition of 3 is a reason. A hold whose
//     only failed conditions are pending caller checks (green so far, still
//     waiting, e.g. the soak time) and/or the last step is `all_green`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace provledger::recommend {

enum class Decision { kAdvance, kHold, kFreeze, kRollback };
// "advance", "hold", "freeze", "rollback".
const char* DecisionName(Decision d);

struct Thresholds {
  double advance_min_coverage_pct = 99.5;     // advance at or above (and no divergence)
  std::uint64_t min_operations = 100;         // fewer operations: no coverage-based decision
  double rollback_below_coverage_pct = 95.0;  // roll back below; 0 disables
  double rollback_drop_points = 2.0;          // roll back when coverage fell by more; < 0 disables
  bool rollback_on_new_divergence = true;
  std::vector<double> steps = {10, 50, 100};  // strictly increasing, in (0, 100]
  bool operator==(const Thresholds&) const = default;
};

// Empty when the thresholds are usable, else the reason (for config checks).
std::string Validate(const Thresholds& t);

// A further condition the caller evaluated (an SLO query, the soak time).
// Anything but green blocks an advance (fail safe: unknown is not green).
// kPending: green so far but still waiting (e.g. the soak time has not run
// out): it blocks an advance, but a hold that only waits is all_green.
struct Check {
  enum class State { kGreen, kRed, kUnknown, kPending };
  std::string name;
  State state = State::kUnknown;
  std::string detail;   // e.g. "p95 42ms > 30ms", "Prometheus unreachable"
};


struct Inputs {
  std::optional<double> coverage_pct;             // nullopt: no settled operation in the period
  std::uint64_t operations = 0;                   // settled operations in the period
  std::uint64_t divergence = 0;                   // divergences in the period
  std::optional<double> previous_coverage_pct;    // previous period (nullopt: unknown / none)
  std::optional<std::uint64_t> previous_divergence;
  double current_pct = 0;                         // the feature's ramp percent now
  std::vector<Check> checks;
  std::vector<std::string> freezes;               // why the ramp is frozen (empty: not frozen)
  std::vector<std::string> rollback_requests;     // why the caller wants a rollback
  std::vector<std::string> global_freezes;        // why every change is stopped (rule 0)
  std::optional<std::string> rollback_blocked;    // why a due rollback must not happen now
  // The caller has no coverage numbers: coverage_pct, operations, divergence
  // and the previous period are ignored; its checks judge them instead.
  bool coverage_by_checks = false;
};

struct Reason {
  std::string code;   // stable identifier, see ReasonCodes in the docs (docs/report.md)
  std::string text;   // human sentence
  bool operator==(const Reason&) const = default;
};

struct Recommendation {
  Decision decision = Decision::kHold;
  double from_pct = 0;
  double to_pct = 0;   // == from_pct unless advance or rollback
  std::vector<Reason> reasons;
  // A hold that only waits (pending caller checks, or the last step) while
  // every other condition of the advance rule is green. False otherwise.
  bool all_green = false;
};

Recommendation Recommend(const Inputs& in, const Thresholds& t);

// The smallest step above pct, or nullopt at/above the last step.
std::optional<double> NextStep(double pct, const std::vector<double>& steps);
// The largest step below pct, or 0 when pct is at or below the first step.
double PreviousStep(double pct, const std::vector<double>& steps);

// Deterministic short decimal: at most 3 decimals, trailing zeros trimmed
// ("99.5", "100", "0.125", "-2.3"); rounds half away from zero on the printed digits.
std::string FormatNumber(double v);

}  // namespace provledger::recommend
