#include "ramp/controller.hh"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "config/load.hh"
#include "ramp/flags_out.hh"
#include "ramp/flags_sql.hh"
#include "ramp/journal.hh"
#include "ramp/prom.hh"
#include "render/families.hh"
#include "source/flags_spec.hh"
#include "state/atomic_file.hh"

extern char** environ;

namespace provledger::ramp {

namespace {

// nullopt + error when the file cannot be read (a missing journal is empty).
bool ReadWhole(const std::string& path, std::string& out, std::string& error, bool missing_ok) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (missing_ok && errno == ENOENT) {
      out.clear();
      return true;
    }
    error = path + ": cannot read: " + std::strerror(errno);
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    error = path + ": cannot read: " + std::strerror(errno);
    return false;
  }
  out = s.str();
  return true;
}

bool AppendDurably(const std::string& path, const std::string& data, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = path + ": cannot open for append: " + std::strerror(errno);
    return false;
  }
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = path + ": cannot append: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    error = path + ": cannot fsync: " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

// Runs a program (PATH lookup) and waits; false with `error` = its status.
bool Spawn(const std::vector<std::string>& argv, std::string& error) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) {
    error = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return false;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      error = "waitpid: " + std::string(std::strerror(errno));
      return false;
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (std::size_t i = 0; i < argv.size() && i < 5; ++i) cmd += (i ? " " : "") + argv[i];
    error = "'" + cmd + " ...' failed (" +
            (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : std::string("killed")) + ")";
    return false;
  }
  return true;
}

double Seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

using prometheus::ClientMetric;
using prometheus::MetricFamily;

MetricFamily Family(const char* name, const char* help, prometheus::MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

// One sample; label values go through the exporter's UTF-8 sanitizer, the
// escaping is prometheus::TextSerializer's.
ClientMetric MetricSample(prometheus::MetricType type, std::vector<std::pair<std::string, std::string>> labels,
                    double value) {
  ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({k, render::SanitizeUtf8(v)});
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

}  // namespace

Controller::Controller(Plan plan, RunOptions options) : plan_(std::move(plan)), opt_(std::move(options)) {}

Observation Controller::Observe(std::int64_t now_ms, std::ostream& log) {
  Observation obs;
  obs.now_ms = now_ms;
  if (opt_.freeze) {
    obs.global_freeze = true;
    obs.global_freeze_reason = "--freeze";
  } else if (!plan_.freeze_file.empty()) {
    struct stat st {};
    if (::stat(plan_.freeze_file.c_str(), &st) == 0) {
      obs.global_freeze = true;
      obs.global_freeze_reason = "freeze file " + plan_.freeze_file + " exists";
    } else if (errno != ENOENT) {
      // Cannot tell: fail safe.
      obs.global_freeze = true;
      obs.global_freeze_reason = "cannot check freeze file " + plan_.freeze_file + ": " + std::strerror(errno);
    }
  }
  HttpApi prom(plan_.prometheus_url, plan_.prometheus_timeout_ms);
  // Freshness first: the age (seconds) of the exporter's data as Prometheus sees it.
  QueryResult fresh = prom.Query(plan_.freshness_query, now_ms);
  if (!fresh.ok) {
    obs.stale = "freshness query failed: " + fresh.error;
  } else if (fresh.samples.empty()) {
    obs.stale = "freshness query returned no sample";
  } else {
    double worst = 0;
    for (const Sample& s : fresh.samples) worst = std::isnan(s.value) ? HUGE_VAL : std::max(worst, s.value);
    if (!(worst * 1000 <= static_cast<double>(plan_.max_age_ms))) {
      std::ostringstream o;
      o << "data is " << worst << "s old (max_age " << plan_.max_age_ms / 1000.0 << "s)";
      obs.stale = o.str();
    }
  }
  std::set<std::string> queries;
  for (const Feature& f : plan_.features) {
    for (const Check& c : f.checks) queries.insert(c.query);
  }
  for (const std::string& q : queries) {
    QueryResult r = prom.Query(q, now_ms);
    if (!r.ok) log << "provledger_ramp: query failed: " << r.error << " [" << q << "]\n";
    obs.results.emplace(q, std::move(r));
  }
  obs.alerts_ok = prom.Alerts(obs.alerts, obs.alerts_error);
  if (obs.alerts_ok && !plan_.alertmanager_url.empty()) {
    HttpApi am(plan_.alertmanager_url, plan_.prometheus_timeout_ms);
    std::vector<Labels> silenced;
    std::string err;
    if (am.Silenced(silenced, err)) {
      MarkSilenced(obs.alerts, silenced);
    } else {
      // Without Alertmanager every firing alert freezes: silences only relax.
      log << "provledger_ramp: Alertmanager unavailable, silences ignored: " << err << "\n";
    }
  }
  if (!obs.alerts_ok) log << "provledger_ramp: alerts unavailable: " << obs.alerts_error << "\n";
  if (obs.stale) log << "provledger_ramp: " << *obs.stale << "\n";
  return obs;
}

RunResult Controller::RunOnce(std::int64_t now_ms, std::ostream& out, std::ostream& log) {
  RunResult res;
  // 1. The flags file, exactly as the exporter reads it.
  std::string text, error;
  if (!ReadWhole(plan_.flags_file, text, error, false)) {
    res.error = error;
    if (!opt_.dry_run) WriteMetrics(res, now_ms, {}, opt_.freeze, log);
    return res;
  }
  source::FlagsSpec spec = source::ParseFlagsSpec(text, plan_.flags_file);
  if (spec.fatal || !spec.errors.empty()) {
    res.error = "refusing to rewrite a flags file with errors (rewriting would drop entries): " +
                spec.errors.front().str();
    if (!opt_.dry_run) WriteMetrics(res, now_ms, {}, opt_.freeze, log);
    return res;
  }
  // 2. The journal.
  std::string jtext;
  if (!ReadWhole(plan_.journal, jtext, error, true)) {
    res.error = error;
    if (!opt_.dry_run) WriteMetrics(res, now_ms, {}, opt_.freeze, log);
    return res;
  }
  JournalState js = ReadJournal(jtext, plan_.journal);
  // Runs are journaled only when they succeed: the last "run" line is the last success.
  if (js.last_run_ms) last_success_ms_ = std::max(last_success_ms_, *js.last_run_ms);
  for (const auto& w : js.warnings) log << "provledger_ramp: " << w << "\n";
  if (!js.errors.empty()) {
    res.error = "journal unusable (fix or move it; the controller will not guess its state): " + js.errors.front();
    if (!opt_.dry_run) WriteMetrics(res, now_ms, js.entries_by_decision, opt_.freeze, log);
    return res;
  }
  // 3. Prometheus.
  const Observation obs = Observe(now_ms, log);
  // 4. Decide.
  std::vector<FlagRow> after = spec.rows;
  for (const Feature& f : plan_.features) {
    TenantFilter filter(f);
    for (FlagRow& row : after) {
      if (row.feature != f.name || !filter.Selected(row.tenant)) continue;
      std::optional<PairState> prev;
      auto it = js.pairs.find({row.tenant, row.feature});
      if (it != js.pairs.end()) prev = it->second;
      Decision d = Decide(f, row.tenant, row.pct, prev, js.last_run_ms, plan_.max_gap_ms, obs);
      ++res.by_kind[KindName(d.kind)];
      for (const CheckValue& c : d.checks) {
        if (!c.green) ++res.failing_checks[f.name + "\t" + c.name];
      }
      if (d.changed()) {
        row.pct = d.to;
        ++res.changes;
      }
      res.decisions.push_back(std::move(d));
    }
  }
  res.diff = FlagsDiff(spec.rows, after);
  std::string journal_lines;
  std::string message_lines;
  for (const Decision& d : res.decisions) {
    if (d.changed()) {
      out << (opt_.dry_run ? "would " : "") << KindName(d.kind) << " " << d.tenant << "/" << d.feature << " "
          << FormatPct(d.from) << " -> " << FormatPct(d.to) << ": " << d.reason << "\n";
    }
    if (d.record) {
      const std::string line = DecisionLine(d, now_ms);
      journal_lines += line;
      if (d.changed()) message_lines += line;
    }
  }
  if (!res.diff.empty()) out << "--- " << plan_.flags_file << "\n+++ " << plan_.flags_file << "\n" << res.diff;
  if (opt_.dry_run) {
    out << "dry run: " << res.changes << " change(s), nothing written\n";
    res.ok = true;
    return res;
  }
  // 5. Write: the flags SQL table (when configured), flags.spec, journal, git, metrics.
  // A failed write changes nothing more, and the journal says so.
  auto write_failed = [&](const std::string& target, const std::string& why) {
    res.error = target + ": " + why;
    log << "provledger_ramp: write failed, nothing changed: " << res.error << "\n";
    std::string append_error;
    const std::string line = WriteFailedLine(now_ms, target, why, res.changes);
    if (AppendDurably(plan_.journal, line, append_error)) {
      ++js.entries_by_decision["write_failed"];
    } else {
      log << "provledger_ramp: " << append_error << "\n";
    }
    res.changes = 0;
    WriteMetrics(res, now_ms, js.entries_by_decision, obs.global_freeze, log);
    return res;
  };
  if (res.changes > 0 && !plan_.flags_sql_config.empty()) {
    std::string why;
    if (!WriteFlagsSql(res.decisions, why)) return write_failed("flags table", why);
  }
  if (res.changes > 0) {
    try {
      state::WriteFileAtomic(plan_.flags_file, RenderFlagsSpec(after), 0644);
    } catch (const std::exception& e) {
      return write_failed(plan_.flags_file, e.what());
    }
  }
  journal_lines += RunLine(now_ms, res.changes, static_cast<int>(res.decisions.size()));
  if (!AppendDurably(plan_.journal, journal_lines, error)) {
    res.error = error;
    WriteMetrics(res, now_ms, js.entries_by_decision, obs.global_freeze, log);
    return res;
  }
  // The entries now in the journal (recounted from what was appended).
  JournalState appended = ReadJournal(journal_lines, plan_.journal);
  for (const auto& [k, n] : appended.entries_by_decision) js.entries_by_decision[k] += n;
  res.ok = true;
  if (res.changes > 0 && !opt_.git_dir.empty()) {
    std::ostringstream msg;
    msg << "provledger_ramp: " << res.changes << " ramp change(s)\n\n" << res.diff << "\n" << message_lines;
    if (!GitCommit(msg.str(), error)) {
      // flags.spec and the journal are written; the commit can be made by hand.
      log << "provledger_ramp: git commit failed: " << error << "\n";
      res.ok = false;
      res.error = "git commit failed: " + error;
    }
  }
  if (res.ok) last_success_ms_ = now_ms;
  WriteMetrics(res, now_ms, js.entries_by_decision, obs.global_freeze, log);
  return res;
}

bool Controller::WriteFlagsSql(const std::vector<Decision>& decisions, std::string& error) {
  config::Config cfg;
  try {
    cfg = config::LoadConfig(plan_.flags_sql_config);
  } catch (const config::ConfigError& e) {
    error = "flags_sql.config: " + std::string(e.what());
    return false;
  }
  if (cfg.flags.kind != config::FlagsKind::kSql) {
    error = plan_.flags_sql_config + ": its flags source is not SQL (flags.dsn and flags.query); flags_sql needs one";
    return false;
  }
  std::vector<FlagRow> rows;
  for (const Decision& d : decisions) {
    if (d.changed()) rows.push_back({d.tenant, d.feature, d.to});
  }
  TableWrite w = WriteFlagsTable(cfg.flags.conn, plan_.flags_sql_table, rows);
  if (!w.ok) {
    error = w.error;
    return false;
  }
  return true;
}

bool Controller::GitCommit(const std::string& message, std::string& error) {
  if (!Spawn({"git", "-C", opt_.git_dir, "add", "--", plan_.flags_file}, error)) return false;
  return Spawn({"git", "-C", opt_.git_dir, "commit", "--quiet", "--no-verify", "-m", message, "--", plan_.flags_file},
               error);
}

std::string Controller::MetricsText(const RunResult& r, std::int64_t now_ms, std::int64_t last_success_ms,
                                    const std::map<std::string, std::uint64_t>& journal_entries, bool global_freeze) {
  using prometheus::MetricType;
  std::vector<MetricFamily> out;
  MetricFamily entries = Family("provledger_ramp_journal_entries_total",
                                "Journal lines by decision (advance and rollback are percent changes; hold, freeze and "
                                "soak are status changes; run is one per run; write_failed is a run whose write failed).",
                                MetricType::Counter);
  for (const char* k : {"advance", "rollback", "hold", "freeze", "soak", "run", "write_failed"}) {
    auto it = journal_entries.find(k);
    entries.metric.push_back(MetricSample(MetricType::Counter, {{"decision", k}},
                                    static_cast<double>(it == journal_entries.end() ? 0 : it->second)));
  }
  out.push_back(std::move(entries));
  MetricFamily pairs =
      Family("provledger_ramp_pairs", "(tenant, feature) pairs by the last run's decision.", MetricType::Gauge);
  for (const char* k : {"advance", "rollback", "hold", "freeze", "soak"}) {
    auto it = r.by_kind.find(k);
    pairs.metric.push_back(MetricSample(MetricType::Gauge, {{"decision", k}}, it == r.by_kind.end() ? 0 : it->second));
  }
  out.push_back(std::move(pairs));
  MetricFamily failing = Family("provledger_ramp_checks_failing",
                                "Tenants whose check was not green in the last run.", MetricType::Gauge);
  for (const auto& [key, n] : r.failing_checks) {
    const auto tab = key.find('\t');
    failing.metric.push_back(
        MetricSample(MetricType::Gauge, {{"feature", key.substr(0, tab)}, {"check", key.substr(tab + 1)}}, n));
  }
  out.push_back(std::move(failing));
  MetricFamily freeze = Family("provledger_ramp_global_freeze",
                               "1 while the freeze file exists or --freeze is given.", MetricType::Gauge);
  freeze.metric.push_back(MetricSample(MetricType::Gauge, {}, global_freeze ? 1 : 0));
  out.push_back(std::move(freeze));
  MetricFamily success = Family("provledger_ramp_last_run_success",
                                "1 when the last run read everything and wrote its changes.", MetricType::Gauge);
  success.metric.push_back(MetricSample(MetricType::Gauge, {}, r.ok ? 1 : 0));
  out.push_back(std::move(success));
  MetricFamily last =
      Family("provledger_ramp_last_run_timestamp_seconds", "Time of the last run.", MetricType::Gauge);
  last.metric.push_back(MetricSample(MetricType::Gauge, {}, Seconds(now_ms)));
  out.push_back(std::move(last));
  if (last_success_ms > 0) {
    MetricFamily ok = Family("provledger_ramp_last_success_timestamp_seconds", "Time of the last successful run.",
                             MetricType::Gauge);
    ok.metric.push_back(MetricSample(MetricType::Gauge, {}, Seconds(last_success_ms)));
    out.push_back(std::move(ok));
  }
  return prometheus::TextSerializer().Serialize(out);
}

void Controller::WriteMetrics(const RunResult& r, std::int64_t now_ms,
                              const std::map<std::string, std::uint64_t>& entries, bool global_freeze,
                              std::ostream& log) {
  if (plan_.metrics_textfile.empty()) return;
  try {
    state::WriteFileAtomic(plan_.metrics_textfile, MetricsText(r, now_ms, last_success_ms_, entries, global_freeze),
                           0644);
  } catch (const std::exception& e) {
    log << "provledger_ramp: metrics textfile: " << e.what() << "\n";
  }
}

}  // namespace provledger::ramp
