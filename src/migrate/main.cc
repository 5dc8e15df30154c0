// provledger_migrate: moves a ledger's stored v1 receipts to v2, online
// (plan, apply, verify, rollback). Thin: arguments, signals, clocks.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "build_info.hh"
#include "migrate/migrate.hh"
#include "migrate/runner.hh"

namespace {
std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    std::cout << provledger::migrate::Usage();
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::cout << "provledger_migrate " << PROVLEDGER_VERSION << " (revision " << PROVLEDGER_REVISION << ")\n";
    return 0;
  }
  auto parsed = provledger::migrate::ParseArgs(args);
  if (const auto* e = std::get_if<std::string>(&parsed)) {
    std::cerr << "provledger_migrate: " << *e << "\n" << provledger::migrate::Usage();
    return provledger::migrate::kExitUsage;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  auto sleep_us = [](std::int64_t us) {
    // Wakes early on a signal (checked between batches anyway).
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
    while (!g_stop.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  provledger::migrate::Io io{std::cout, std::cerr, isatty(STDERR_FILENO) == 1, &g_stop, now_us, sleep_us};
  return provledger::migrate::Run(std::get<provledger::migrate::Options>(parsed), io);
}
