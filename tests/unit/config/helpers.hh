// Shared helpers for the config unit tests.
#pragma once

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "config/load.hh"

namespace provledger::config::test {

// Lines 1-4 of most error cases: one valid ledger. A case's own text starts at
// line 5, so its expected positions can be read off the string.
inline const std::string kLedger =
    "ledgers:\n"
    "  - name: eu\n"
    "    region: eu-west\n"
    "    dsn: \"host=127.0.0.1 dbname=ledger_eu\"\n";

inline std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The problems ParseConfig reports for `yaml`; fails the test if it accepts it.
inline std::vector<std::string> ProblemsOf(const std::string& yaml) {
  try {
    ParseConfig(yaml, "t.yml");
  } catch (const ConfigError& e) {
    BOOST_TEST(!e.problems().empty());
    return e.problems();
  }
  BOOST_ERROR("config was accepted but should have been rejected:\n" << yaml);
  return {};
}

inline bool HasProblem(const std::vector<std::string>& problems, const std::string& prefix,
                       const std::string& fragment) {
  for (const auto& p : problems) {
    if (p.rfind(prefix, 0) == 0 && p.find(fragment) != std::string::npos) return true;
  }
  return false;
}

// Exactly one problem, starting with `prefix` ("t.yml:LINE:COL: ") and
// containing `fragment`.
inline void ExpectOnly(const std::string& yaml, const std::string& prefix,
                       const std::string& fragment) {
  std::vector<std::string> problems = ProblemsOf(yaml);
  BOOST_TEST_CONTEXT("yaml:\n" << yaml << "problems:\n" << JoinLines(problems)) {
    BOOST_TEST(problems.size() == 1u);
    BOOST_TEST(HasProblem(problems, prefix, fragment));
  }
}

inline Config Parse(const std::string& yaml) {
  try {
    return ParseConfig(yaml, "t.yml");
  } catch (const ConfigError& e) {
    BOOST_FAIL("unexpected problems:\n" << JoinLines(e.problems()));
  }
  return {};
}

}  // namespace provledger::config::test
