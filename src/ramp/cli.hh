// provledger_ramp's command line. Pure: ParseRampCli never exits or prints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace provledger::ramp {

struct RampCli {
  std::string plan;
  bool once = false;
  bool dry_run = false;           // implies once
  bool freeze = false;
  bool check = false;             // validate the plan and exit
  std::string git_dir;
  std::optional<std::int64_t> at_ms;  // --at: evaluate as of this instant (implies once)
  bool version = false;
  bool help = false;
  std::vector<std::string> errors;
};

// Accepts --flag=value and --flag value.
RampCli ParseRampCli(const std::vector<std::string>& args);
std::string RampUsage();

}  // namespace provledger::ramp
