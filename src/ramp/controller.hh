// One controller run, at the edges: read flags.spec and the journal, ask
// Prometheus (and Alertmanager), decide (decide.hh, pure), then — unless dry
// run — rewrite flags.spec atomically when something changed, append to the
// journal, commit in the git checkout, and rewrite the metrics textfile.
//
// Write order: the flags SQL table (when the plan has flags_sql; one
// transaction), flags.spec, then the journal, then git, then metrics. When
// the table or flags.spec cannot be written, nothing further is written but a
// "write_failed" journal line (and the metrics). A crash
// between flags.spec and the journal leaves a percent the journal does not
// know; the next run treats it as changed outside the controller and starts
// that step's soak again (late, never early).
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "core/rows.hh"
#include "ramp/decide.hh"
#include "ramp/plan.hh"

namespace provledger::ramp {

struct RunOptions {
  bool dry_run = false;
  bool freeze = false;          // --freeze: global freeze for this process
  std::string git_dir;          // commit flags.spec changes in this checkout
};

struct RunResult {
  bool ok = false;              // false: nothing was written; `error` says why
  std::string error;
  std::vector<Decision> decisions;
  std::string diff;             // FlagsDiff of the planned / made change
  int changes = 0;
  std::map<std::string, int> by_kind;                // this run, per (tenant, feature)
  std::map<std::string, int> failing_checks;         // "feature\tcheck" -> tenants failing
};

class Controller {
 public:
  Controller(Plan plan, RunOptions options);
  // `now_ms`: the run's instant (also the time of every Prometheus query).
  // Output (the diff and one line per change) goes to `out`; problems to `log`.
  RunResult RunOnce(std::int64_t now_ms, std::ostream& out, std::ostream& log);

  // The metrics textfile text for a run (pure; exposed for tests).
  static std::string MetricsText(const RunResult& r, std::int64_t now_ms, std::int64_t last_success_ms,
                                 const std::map<std::string, std::uint64_t>& journal_entries, bool global_freeze);

 private:
  Observation Observe(std::int64_t now_ms, std::ostream& log);
  void WriteMetrics(const RunResult& r, std::int64_t now_ms, const std::map<std::string, std::uint64_t>& entries,
                    bool global_freeze, std::ostream& log);
  bool GitCommit(const std::string& message, std::string& error);
  // The changed pairs into the flags SQL table (plan flags_sql); false + error.
  bool WriteFlagsSql(const std::vector<Decision>& decisions, std::string& error);

  Plan plan_;
  RunOptions opt_;
  std::int64_t last_success_ms_ = 0;
};

}  // namespace provledger::ramp
