// provledger_sim: deterministic ledger/trace history generator and live
// traffic simulator for provledger_exporter's demo, tests and benchmarks.
// See docs/simulator.md.
#include <cstring>
#include <iostream>

#include "commands.hh"

namespace {

constexpr const char* kUsage = R"(usage: provledger_sim COMMAND [OPTIONS]

Commands:
  init  --ledger-dsn DSN (repeatable) | --ledger REGION=DSN (repeatable)
        [--traces-dsn DSN] [--schema-dir DIR] [--reset]
        Apply config/schema/ledger.sql to each ledger and traces.sql to the
        trace store (--reset drops the tables first).

  load  --ledger REGION=DSN (repeatable) --traces-dsn DSN
        [--receipts N (100000; 200k, 1M accepted)] [--tenants 200] [--hours 24]
        [--seed 1] [--end-ts now|now-1h|EPOCH_SECONDS] [--coverage 0.97]
        [--divergence 0.001] [--unanchored 0.01] [--noise 0.05] [--zipf 1.1]
        [--diurnal 0.35] [--flags-file PATH] [--truncate] [--keep-indexes]
        [--no-vacuum]
        Bulk-load history with COPY; prints a one-line JSON summary.

  run   --ledger REGION=DSN (repeatable) --traces-dsn DSN --rate OPS_PER_S
        [--seed 1] [--tenants 200] [--zipf 1.1] [--duration 60s (0 = until signal)]
        [--divergence-rate 0.001] [--missing-rate 0.01] [--latency-scale 1]
        [--flags-file PATH] [--ramp-interval 30s] [--control-file PATH]
        [--instance 0] [--stats-interval 10s] [--otlp-file PATH]
        Live traffic until SIGINT/SIGTERM or --duration; prints a JSON summary.

Exit status: 0 ok, 1 runtime error, 2 usage error.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << kUsage;
      return 0;
    }
  }
  try {
    if (cmd == "init") return provledger::sim::CmdInit(argc, argv);
    if (cmd == "load") return provledger::sim::CmdLoad(argc, argv);
    if (cmd == "run") return provledger::sim::CmdRun(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "provledger_sim " << cmd << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "provledger_sim: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}
