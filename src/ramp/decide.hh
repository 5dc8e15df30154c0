// The ramp controller's decisions: pure (no I/O, no clock; `now` is in the
// Observation). One call per (tenant, feature) per run. docs/ramp.md,
// "Decision rules", is the prose of this file.
//
// The order of the rules is recommend::Recommend's, the one implementation
// shared with the coverage reporter (src/recommend/recommend.hh); Decide only
// turns the Observation into recommend::Inputs and the Recommendation into a
// step. The mapping, for one (tenant, feature) at percent P:
//  - global freeze (file or flag)             -> global_freezes (rule 0: freeze)
//  - rollback enabled, P > 0: the rollback alerts firing for the tenant
//                                              -> rollback_requests (rule 1:
//                                                 rollback one step, to the
//                                                 largest step below P, else 0)
//  - the last change was a rollback less than one soak ago
//                                              -> rollback_blocked (rule 1: freeze)
//  - the freeze alerts firing for the tenant  -> freezes (rule 2: freeze)
//    (an alert without a `tenant` label applies to every tenant)
//  - coverage and divergence are plan checks   -> coverage_by_checks
//  - alerts unreadable, data stale, each plan check (query failed / empty /
//    NaN: unknown; outside its threshold: red) -> checks (rule 4: hold)
//  - the soak: green since the first run of an unbroken green streak (a run
//    gap longer than max_gap breaks it) and since the step started, for at
//    least the soak                            -> the "soak" check, pending
//                                                 until then (rule 3: advance
//                                                 one step, to the smallest
//                                                 step above P)
//  - a hold that is all_green (only the soak or the last step keeps it) is
//    reported as `soak`, no change; any other hold as `hold`.
// So a step is never taken before a full soak of observed green at the current
// step, and never more than one step per soak.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compute/tenants.hh"
#include "ramp/plan.hh"
#include "recommend/recommend.hh"

namespace provledger::ramp {

using Labels = std::map<std::string, std::string>;

struct Sample {
  Labels labels;
  double value = 0;
};

// One PromQL instant query's answer (vector or scalar; a scalar is one sample
// without labels).
struct QueryResult {
  bool ok = false;
  std::string error;            // when !ok
  std::vector<Sample> samples;
};

struct Alert {
  Labels labels;                // alertname, severity, tenant, ...
  std::string state;            // "firing" | "pending"
  bool silenced = false;        // by Alertmanager (when configured)
};

// Everything one run read, at one instant.
struct Observation {
  std::int64_t now_ms = 0;
  bool global_freeze = false;
  std::string global_freeze_reason;
  // Set when the data cannot be trusted (freshness query failed, empty, or
  // older than max_age): nothing is green.
  std::optional<std::string> stale;
  std::map<std::string, QueryResult> results;   // by query text
  bool alerts_ok = false;
  std::string alerts_error;
  std::vector<Alert> alerts;
};

enum class Kind { kAdvance, kRollback, kHold, kFreeze, kSoak };
const char* KindName(Kind k);
std::optional<Kind> KindFromName(const std::string& s);
bool IsGreen(Kind k);   // soak and advance

// What the journal remembers of a (tenant, feature) between runs.
struct PairState {
  double pct = 0;
  std::int64_t step_started_ms = 0;       // last change, or first seen at pct
  Kind status = Kind::kHold;              // the last decision
  std::optional<std::int64_t> green_since_ms;  // set while green
  bool last_change_rollback = false;
};

struct CheckValue {
  std::string name;
  std::optional<double> value;            // the deciding (worst) value
  bool green = false;
  std::string why;                        // empty when green
};

struct Decision {
  std::string tenant, feature;
  Kind kind = Kind::kHold;
  double from = 0, to = 0;
  std::vector<CheckValue> checks;
  std::vector<std::string> alerts;        // "Name{severity=...,tenant=...}" that froze / rolled back
  std::string reason;                     // one line, human
  PairState next;                         // state after this run
  bool record = false;                    // worth a journal line (change, or status/streak changed)
  recommend::Recommendation rec;          // what recommend::Recommend said (the decision's source)
  bool changed() const { return to != from; }
};

// Allow/deny of one feature, with the exporter's one rule for tenant patterns
// (compute::TenantRegistry: full-match RE2, no cap, no shard).
class TenantFilter {
 public:
  explicit TenantFilter(const Feature& f);
  bool Selected(const std::string& tenant) const;

 private:
  mutable compute::TenantRegistry registry_;
};

// Evaluate one check for one tenant (stale data makes it not green).
CheckValue EvaluateCheck(const Check& check, const std::string& tenant, const Observation& obs);

// Alerts in `obs` that match `rule` for `tenant` (firing, not silenced).
std::vector<std::string> MatchingAlerts(const AlertRule& rule, const std::string& tenant,
                                        const Observation& obs);

// The ladder (the next step above / below a percent) is recommend::NextStep /
// recommend::PreviousStep, shared with the coverage reporter.

// `prev`: the journal's state for this pair (nullopt: never seen). `last_run_ms`:
// the previous run's time from the journal (nullopt: none). A `prev` whose pct
// differs from `pct` (changed by someone else) is treated as new at `pct`.
Decision Decide(const Feature& feature, const std::string& tenant, double pct,
                const std::optional<PairState>& prev, std::optional<std::int64_t> last_run_ms,
                std::int64_t max_gap_ms, const Observation& obs);

// "12.5", "50": the shortest text that reads back as the same percent.
std::string FormatPct(double pct);

}  // namespace provledger::ramp
