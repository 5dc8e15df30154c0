#include "args.hh"

#include <stdexcept>

namespace provledger::sim {

Args::Args(int argc, char** argv, int first, const std::set<std::string>& valued,
           const std::set<std::string>& switches) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "'");
    std::string name = a.substr(2);
    std::string value;
    bool has_value = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (switches.count(name) != 0) {
      if (has_value && value != "true" && value != "1") {
        if (value == "false" || value == "0") continue;
        throw std::invalid_argument("--" + name + " takes no value");
      }
      opts_.emplace_back(name, "true");
      continue;
    }
    if (valued.count(name) == 0) throw std::invalid_argument("unknown option --" + name);
    if (!has_value) {
      if (i + 1 >= argc) throw std::invalid_argument("--" + name + " needs a value");
      value = argv[++i];
    }
    opts_.emplace_back(name, value);
  }
}

bool Args::Has(const std::string& name) const {
  for (const auto& [n, v] : opts_) {
    if (n == name) return true;
  }
  return false;
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  std::string out = fallback;
  for (const auto& [n, v] : opts_) {
    if (n == name) out = v;
  }
  return out;
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : opts_) {
    if (n == name) out.push_back(v);
  }
  return out;
}

std::pair<std::string, std::string> SplitRegionDsn(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw std::invalid_argument("expected REGION=DSN, got '" + text + "'");
  }
  const std::string region = text.substr(0, eq);
  for (const char c : region) {
    if (c == ' ' || c == '\t' || c == ':' || c == '"' || c == '\\') {
      throw std::invalid_argument("bad region name '" + region + "'");
    }
  }
  return {region, text.substr(eq + 1)};
}

}  // namespace provledger::sim
