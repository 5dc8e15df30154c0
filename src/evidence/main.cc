// provledger_evidence: signed evidence bundles (docs/evidence.md).
#include <iostream>
#include <string>
#include <vector>

#include "evidence/cli.hh"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return provledger::evidence::Run(args, std::cout, std::cerr);
}
