// provledger_ramp: thin main. Flags, signals, the daemon loop; everything
// else is in the ramp library.
#include <csignal>
#include <chrono>
#include <iostream>
#include <thread>

#include "build_info.hh"
#include "config/load.hh"
#include "ramp/cli.hh"
#include "ramp/controller.hh"
#include "ramp/plan.hh"
#include "ramp/prom.hh"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

int main(int argc, char** argv) {
  using namespace provledger::ramp;
  RampCli cli = ParseRampCli(std::vector<std::string>(argv + 1, argv + argc));
  if (cli.help) {
    std::cout << RampUsage();
    return 0;
  }
  if (cli.version) {
    std::cout << "provledger_ramp " << PROVLEDGER_VERSION << " (revision " << PROVLEDGER_REVISION << ")\n";
    return 0;
  }
  if (!cli.errors.empty()) {
    for (const auto& e : cli.errors) std::cerr << "provledger_ramp: " << e << "\n";
    std::cerr << RampUsage();
    return 2;
  }
  Plan plan;
  try {
    plan = LoadPlan(cli.plan);
  } catch (const provledger::config::ConfigError& e) {
    for (const auto& p : e.problems()) std::cerr << p << "\n";
    return 1;
  }
  if (cli.check) {
    std::cout << "plan OK: " << plan.features.size() << " feature(s)\n";
    return 0;
  }
  if (!cli.git_dir.empty()) {
    // flags_file must be inside the checkout, or git add would refuse it later.
    char* top = realpath(cli.git_dir.c_str(), nullptr);
    char* file = realpath(plan.flags_file.c_str(), nullptr);
    const bool inside = top && file && std::string(file).rfind(std::string(top) + "/", 0) == 0;
    std::free(top);
    std::free(file);
    if (!inside) {
      std::cerr << "provledger_ramp: --git-dir: flags_file " << plan.flags_file << " is not inside " << cli.git_dir
                << "\n";
      return 1;
    }
  }
  HttpGlobalInit();
  RunOptions opt;
  opt.dry_run = cli.dry_run;
  opt.freeze = cli.freeze;
  opt.git_dir = cli.git_dir;
  Controller controller(plan, opt);
  if (cli.once) {
    RunResult r = controller.RunOnce(cli.at_ms ? *cli.at_ms : NowMs(), std::cout, std::cerr);
    std::cout.flush();
    if (!r.ok) {
      std::cerr << "provledger_ramp: run failed: " << r.error << "\n";
      return 1;
    }
    return 0;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::cerr << "provledger_ramp: started, plan " << plan.path << ", " << plan.features.size()
            << " feature(s), interval " << plan.interval_ms << "ms\n";
  while (!g_stop) {
    const std::int64_t start = NowMs();
    RunResult r = controller.RunOnce(start, std::cout, std::cerr);
    std::cout.flush();
    if (!r.ok) std::cerr << "provledger_ramp: run failed: " << r.error << "\n";
    while (!g_stop && NowMs() < start + plan.interval_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::cerr << "provledger_ramp: stopped\n";
  return 0;
}
