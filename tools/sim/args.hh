// Command-line parsing for provledger_sim: "--name value" or "--name=value",
// options may repeat; names listed as switches take no value. Throws
// std::invalid_argument naming the option on any problem.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace provledger::sim {

class Args {
 public:
  Args(int argc, char** argv, int first, const std::set<std::string>& valued,
       const std::set<std::string>& switches);

  bool Has(const std::string& name) const;
  // Last value given, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;

 private:
  std::vector<std::pair<std::string, std::string>> opts_;
};

// Splits "REGION=DSN" at the first '='.
std::pair<std::string, std::string> SplitRegionDsn(const std::string& text);

}  // namespace provledger::sim
