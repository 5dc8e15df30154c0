// provledger_migrate's database side: plan, apply, verify, rollback against
// one ledger (README "Migrating receipts to v2", docs/receipts.md).
// I/O only at this edge: libpq through src/pq, the config through
// src/config; conversion is migrate.hh / src/receipt.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <ostream>

#include "migrate/migrate.hh"

namespace provledger::migrate {

struct Io {
  std::ostream& out;                      // results (JSON lines unless a terminal)
  std::ostream& err;                      // errors, progress bar
  bool terminal = false;                  // stderr is a terminal (progress bar, text results)
  const std::atomic<bool>* stop = nullptr;   // set by SIGINT/SIGTERM: stop after the batch
  std::function<std::int64_t()> now_us;   // monotonic clock, µs
  std::function<void(std::int64_t)> sleep_us;
};

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitProblems = 1;      // verify found problems
inline constexpr int kExitUsage = 2;         // usage or config error
inline constexpr int kExitDatabase = 3;      // connect, table, permission, lock held, SQL error
inline constexpr int kExitInterrupted = 4;

int Run(const Options& options, Io& io);

}  // namespace provledger::migrate
