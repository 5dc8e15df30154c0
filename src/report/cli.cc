#include "report/cli.hh"

#include <filesystem>
#include <ostream>
#include <sstream>
#include <string_view>

#include "config/load.hh"
#include "recommend/from_config.hh"
#include "report/catalog.hh"
#include "report/output.hh"
#include "report/report.hh"
#include "report/run.hh"

namespace provledger::report {
namespace {

constexpr Micros kDay = 86400LL * 1000000;

bool TakeValue(std::string_view arg, std::string_view flag, std::string& out) {
  if (arg.size() > flag.size() + 1 && arg.substr(0, flag.size()) == flag && arg[flag.size()] == '=') {
    out = std::string(arg.substr(flag.size() + 1));
    return true;
  }
  return false;
}

}  // namespace

std::string Usage() {
  return "Usage: provledger_report coverage --config.file=FILE [options]\n"
         "\n"
         "Writes the coverage report of one UTC day: DIR/coverage-YYYYMMDD.json and\n"
         "DIR/coverage-YYYYMMDD.md (docs/report.md).\n"
         "\n"
         "Options:\n"
         "  --config.file=FILE   the exporter's configuration file (required)\n"
         "  --date=YYYY-MM-DD    the UTC day (default: yesterday)\n"
         "  --output-dir=DIR     where reports are written and the previous one is found (default: coverage)\n"
         "  --catalog=FILE       mapper catalog YAML: the operation kinds that must produce receipts\n"
         "  --git-dir=DIR        commit the report and summary on a branch of this checkout\n"
         "  --git-branch=NAME    branch for --git-dir (default: coverage-reports)\n"
         "  --progress=MODE      auto (on a terminal), always or never (default: auto)\n"
         "  --log.level=LEVEL    debug, info, warn, error (default: info)\n"
         "  --version            print the version\n"
         "  -h, --help           this text\n"
         "\n"
         "Exit status: 0 report written, 1 failed (nothing partial written), 2 usage error.\n";
}

ParsedArgs ParseArgs(const std::vector<std::string>& argv) {
  ParsedArgs p;
  Args& a = p.args;
  for (const std::string& arg : argv) {
    std::string v;
    if (arg == "-h" || arg == "--help") {
      a.help = true;
    } else if (arg == "--version") {
      a.version = true;
    } else if (TakeValue(arg, "--config.file", a.config_file) || TakeValue(arg, "--output-dir", a.output_dir) ||
               TakeValue(arg, "--catalog", a.catalog) || TakeValue(arg, "--git-dir", a.git_dir) ||
               TakeValue(arg, "--git-branch", a.git_branch)) {
    } else if (TakeValue(arg, "--date", v)) {
      a.date = v;
    } else if (TakeValue(arg, "--progress", v)) {
      if (v == "auto") {
        a.progress = ProgressMode::kAuto;
      } else if (v == "always") {
        a.progress = ProgressMode::kAlways;
      } else if (v == "never") {
        a.progress = ProgressMode::kNever;
      } else {
        p.error = "--progress must be auto, always or never, got \"" + v + "\"";
        return p;
      }
    } else if (TakeValue(arg, "--log.level", v)) {
      if (v != "debug" && v != "info" && v != "warn" && v != "error") {
        p.error = "--log.level must be debug, info, warn or error, got \"" + v + "\"";
        return p;
      }
      a.log_level = v;
    } else if (!arg.empty() && arg[0] != '-' && a.command.empty()) {
      a.command = arg;
    } else {
      p.error = "unknown argument \"" + arg + "\"";
      return p;
    }
  }
  if (a.help || a.version) return p;
  if (a.command.empty()) {
    p.error = "missing command (coverage)";
  } else if (a.command != "coverage") {
    p.error = "unknown command \"" + a.command + "\" (expected coverage)";
  } else if (a.config_file.empty()) {
    p.error = "--config.file is required";
  } else if (a.output_dir.empty()) {
    p.error = "--output-dir must not be empty";
  } else if (a.git_branch.empty()) {
    p.error = "--git-branch must not be empty";
  }
  return p;
}

std::optional<Micros> ResolveDay(const Args& args, Micros now, std::string& error) {
  const Micros today = now / kDay * kDay;
  if (!args.date) return today - kDay;
  std::optional<Micros> d = ParseDate(*args.date);
  if (!d) {
    error = "--date must be a valid date YYYY-MM-DD, got \"" + *args.date + "\"";
    return std::nullopt;
  }
  if (*d >= today) {
    error = "--date " + *args.date + " is not over yet (UTC); the latest day that can be reported is " +
            FormatDate(today - kDay);
    return std::nullopt;
  }
  return d;
}

int RunCoverage(const Args& args, Micros now, std::ostream& out, std::ostream& err, bool err_is_tty) {
  std::string usage_error;
  const std::optional<Micros> day = ResolveDay(args, now, usage_error);
  if (!day) {
    err << "provledger_report: " << usage_error << "\n";
    return 2;
  }
  const std::string date = FormatDate(*day);
  try {
    const config::Config cfg = config::LoadConfig(args.config_file);
    BuildInputs in;
    in.date = date;
    in.day_start = *day;
    in.day_end = *day + kDay;
    in.grace = cfg.coverage.grace_ms * 1000;
    in.window = cfg.coverage.window_ms * 1000;
    in.thresholds = recommend::ThresholdsFromConfig(cfg.recommend);
    if (!args.catalog.empty()) in.catalog = LoadCatalog(args.catalog);
    if (std::optional<std::string> prev = FindPrevious(args.output_dir, date)) {
      in.previous = ParsePrevious(ReadFile(*prev), std::filesystem::path(*prev).filename().string());
    }

    if (!args.git_dir.empty()) CheckGitTarget(args.git_dir, args.output_dir);
    const bool bar = args.progress == ProgressMode::kAlways || (args.progress == ProgressMode::kAuto && err_is_tty);
    ReadOptions ro;
    ro.day_start = in.day_start;
    ro.day_end = in.day_end;
    int last_drawn = -1;
    if (bar) {
      ro.progress = [&](double f) {
        const int pct = static_cast<int>(f * 100);
        if (pct == last_drawn) return;
        last_drawn = pct;
        const int filled = pct * 30 / 100;
        err << "\r" << date << " [" << std::string(static_cast<std::size_t>(filled), '#')
            << std::string(static_cast<std::size_t>(30 - filled), ' ') << "] " << pct << "%" << std::flush;
      };
    }
    const int min_level = args.log_level == "debug" ? 0 : args.log_level == "info" ? 1 : args.log_level == "warn" ? 2 : 3;
    ro.log = [&err, min_level, bar](source::LogLevel level, std::string_view message, const source::LogFields& fields) {
      static const char* kNames[] = {"debug", "info", "warn", "error"};
      if (static_cast<int>(level) < min_level) return;
      std::ostringstream line;
      line << "level=" << kNames[static_cast<int>(level)] << " msg=\"" << message << "\"";
      for (const auto& [k, v] : fields) line << " " << k << "=\"" << v << "\"";
      err << (bar ? "\r" : "") << line.str() << "\n";
    };
    DayRead read = ReadDay(cfg, ro);
    if (bar) err << "\r" << std::string(48, ' ') << "\r" << std::flush;
    in.days = std::move(read.days);
    in.flags = std::move(read.flags);

    const Report report = Build(in);
    std::filesystem::create_directories(args.output_dir);
    const std::string json_path = (std::filesystem::path(args.output_dir) / ReportFileName(date)).string();
    const std::string md_path = (std::filesystem::path(args.output_dir) / SummaryFileName(date)).string();
    WriteFileAtomic(md_path, ToMarkdown(report));
    WriteFileAtomic(json_path, ToJson(report));
    out << json_path << "\n" << md_path << "\n";
    if (read.decode_errors > 0) {
      err << "provledger_report: warning: " << read.decode_errors << " bad rows were skipped (see the log above)\n";
    }
    if (!args.git_dir.empty()) {
      const std::string commit = CommitFiles(args.git_dir, args.git_branch, {json_path, md_path}, CommitMessage(report));
      out << "committed " << commit << " on " << args.git_branch << "\n";
    }
    err << "provledger_report: " << report.headline << "\n";
    return 0;
  } catch (const config::ConfigError& e) {
    for (const std::string& p : e.problems()) err << p << "\n";
  } catch (const CatalogError& e) {
    for (const std::string& p : e.problems()) err << p << "\n";
  } catch (const std::filesystem::filesystem_error& e) {
    err << "provledger_report: " << e.what() << "\n";
  } catch (const std::exception& e) {
    err << "provledger_report: " << e.what() << "\n";
  }
  err << "provledger_report: no report written for " << date << "\n";
  return 1;
}

}  // namespace provledger::report
