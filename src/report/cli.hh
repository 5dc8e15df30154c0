// provledger_report's command line and the `coverage` command. Exit codes:
// 0 = report written (and committed with --git-dir), 1 = failed (config,
// catalog, database down or timed out, day not complete, output or git
// error: nothing partial is written), 2 = usage error.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/rows.hh"

namespace provledger::report {

enum class ProgressMode { kAuto, kAlways, kNever };

struct Args {
  bool help = false;
  bool version = false;
  std::string command;                 // "coverage"
  std::string config_file;
  std::optional<std::string> date;     // YYYY-MM-DD; default: yesterday (UTC)
  std::string output_dir = "coverage";
  std::string catalog;                 // empty: none
  std::string git_dir;                 // empty: no commit
  std::string git_branch = "coverage-reports";
  ProgressMode progress = ProgressMode::kAuto;
  std::string log_level = "info";
};

struct ParsedArgs {
  Args args;
  std::string error;                   // non-empty: usage error (exit 2)
};

ParsedArgs ParseArgs(const std::vector<std::string>& argv);   // argv without argv[0]
std::string Usage();

// The day to report: --date, or the UTC day before `now`. nullopt with a
// usage error text when the date is malformed or not yet over at `now`.
std::optional<Micros> ResolveDay(const Args& args, Micros now, std::string& error);

// Runs the coverage command; messages go to `err` (and a progress bar when
// enabled and `err_is_tty`), the written paths to `out`. Returns the exit code.
int RunCoverage(const Args& args, Micros now, std::ostream& out, std::ostream& err, bool err_is_tty);

}  // namespace provledger::report
