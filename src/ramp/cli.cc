#include "ramp/cli.hh"

#include <cmath>
#include <cstdlib>

namespace provledger::ramp {

RampCli ParseRampCli(const std::vector<std::string>& args) {
  RampCli c;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string value;
    bool has_value = false;
    if (a.rfind("--", 0) == 0) {
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
        a.resize(eq);
        has_value = true;
      }
    }
    auto take = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 < args.size()) {
        value = args[++i];
        return true;
      }
      c.errors.push_back(a + " needs a value");
      return false;
    };
    auto flag = [&](bool& target) {
      if (has_value) {
        c.errors.push_back(a + " takes no value");
        return;
      }
      target = true;
    };
    if (a == "--plan") {
      if (take()) c.plan = value;
    } else if (a == "--git-dir") {
      if (take()) c.git_dir = value;
    } else if (a == "--at") {
      if (take()) {
        char* end = nullptr;
        const double s = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(s) || s < 0 || s > 1e11) {
          c.errors.push_back("--at: expected Unix seconds, got \"" + value + "\"");
        } else {
          c.at_ms = static_cast<std::int64_t>(std::llround(s * 1000));
        }
      }
    } else if (a == "--once") {
      flag(c.once);
    } else if (a == "--dry-run") {
      flag(c.dry_run);
    } else if (a == "--freeze") {
      flag(c.freeze);
    } else if (a == "--check") {
      flag(c.check);
    } else if (a == "--version") {
      flag(c.version);
    } else if (a == "-h" || a == "--help") {
      flag(c.help);
    } else {
      c.errors.push_back("unknown argument \"" + args[i] + "\"");
    }
  }
  if (c.dry_run || c.at_ms) c.once = true;
  if (c.plan.empty() && !c.help && !c.version) c.errors.push_back("--plan is required");
  return c;
}

std::string RampUsage() {
  return R"(Usage: provledger_ramp --plan=PATH [--once | --dry-run] [--freeze] [--git-dir=DIR] [--at=SECONDS]

Steps feature ramps in flags.spec per tenant when the plan's SLO checks have been green
in Prometheus for the whole soak time; holds on anything not green, freezes while a
matching alert fires. Reference: docs/ramp.md.

Options:
  --plan=PATH      the ramp plan (YAML; errors are FILE:LINE:COLUMN)
  --check          validate the plan, print every problem, exit 0 (valid) or 1
  --once           one run, then exit (for a scheduler); default: run every `interval`
  --dry-run        one run that prints the planned change as a diff and writes nothing
  --freeze         global freeze: decide and journal, change nothing
  --git-dir=DIR    commit each flags.spec change in this checkout (flags_file must be in it)
  --at=SECONDS     evaluate as of this Unix time (queries too); implies --once
  --version        print the version
  -h, --help       this text

Exit status: 0 ok, 1 a run failed or the plan is invalid, 2 usage.
)";
}

}  // namespace provledger::ramp
