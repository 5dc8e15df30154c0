// provledger_report: the daily coverage report (docs/report.md). Thin main.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "build_info.hh"
#include "report/cli.hh"

int main(int argc, char** argv) {
  using namespace provledger::report;
  std::vector<std::string> args(argv + 1, argv + argc);
  ParsedArgs p = ParseArgs(args);
  if (p.args.help) {
    std::cout << Usage();
    return 0;
  }
  if (p.args.version) {
    std::cout << "provledger_report " << PROVLEDGER_VERSION << " (revision " << PROVLEDGER_REVISION << ")\n";
    return 0;
  }
  if (!p.error.empty()) {
    std::cerr << "provledger_report: " << p.error << "\n\n" << Usage();
    return 2;
  }
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return RunCoverage(p.args, now, std::cout, std::cerr, ::isatty(2) == 1);
}
