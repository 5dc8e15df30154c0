// libFuzzer target: the ramp plan loader (YAML -> validated ramp::Plan) on any
// bytes. Contract checked: it returns a Plan or throws config::ConfigError
// whose every problem names the position as "p.yml:LINE:COLUMN: " (past the
// loader's cap of 100, one last "p.yml: N more problems not shown"); nothing
// else escapes, nothing crashes, memory stays bounded (-rss_limit_mb). A
// returned plan keeps the loader's promises: a URL, the files, at least one
// feature, each with a strictly increasing ladder in (0, 100] and a soak of
// at least 1 s, and a flags_sql with both keys or neither.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/load.hh"
#include "config/yaml_walk.hh"
#include "ramp/plan.hh"

namespace {

bool Digits(const std::string& s, std::size_t& i) {
  const std::size_t start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i > start && s[start] != '0';
}

// "p.yml:LINE:COLUMN: message", LINE and COLUMN positive.
bool Positioned(const std::string& p) {
  const std::string prefix = "p.yml:";
  if (p.rfind(prefix, 0) != 0) return false;
  std::size_t i = prefix.size();
  if (!Digits(p, i) || i >= p.size() || p[i++] != ':') return false;
  if (!Digits(p, i) || i + 1 >= p.size() || p[i] != ':' || p[i + 1] != ' ') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    provledger::ramp::Plan plan = provledger::ramp::ParsePlan(text, "p.yml");
    if (plan.prometheus_url.empty() || plan.flags_file.empty() || plan.journal.empty()) __builtin_trap();
    if (plan.features.empty()) __builtin_trap();
    if (plan.flags_sql_config.empty() != plan.flags_sql_table.empty()) __builtin_trap();
    for (const auto& f : plan.features) {
      if (f.steps.empty() || f.soak_ms < 1000) __builtin_trap();
      for (std::size_t i = 0; i < f.steps.size(); ++i) {
        if (!(f.steps[i] > 0 && f.steps[i] <= 100)) __builtin_trap();
        if (i > 0 && !(f.steps[i] > f.steps[i - 1])) __builtin_trap();
      }
    }
  } catch (const provledger::config::ConfigError& e) {
    const auto& problems = e.problems();
    if (problems.empty()) __builtin_trap();
    for (std::size_t i = 0; i < problems.size(); ++i) {
      if (Positioned(problems[i])) continue;
      // The loader's cap: after kMaxFormattedProblems problems, one last "FILE: N more problems not shown" line.
      const bool last = i + 1 == problems.size() && i == provledger::config::kMaxFormattedProblems;
      if (!(last && problems[i].rfind("p.yml: ", 0) == 0 &&
            problems[i].find(" more problems not shown") != std::string::npos)) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
