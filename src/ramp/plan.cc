#include "ramp/plan.hh"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <string_view>

#include "config/load.hh"
#include "config/yaml_document.hh"
#include "config/yaml_walk.hh"
#include "ramp/flags_sql.hh"

namespace provledger::ramp {
namespace {

using config::Entry;
using config::Mapping;
using config::Pos;

constexpr std::array<std::string_view, 11> kRootKeys = {
    "prometheus", "alertmanager", "flags_file", "flags_sql", "journal", "freeze_file", "metrics_textfile",
    "interval", "max_gap", "defaults", "features"};
constexpr std::array<std::string_view, 2> kFlagsSqlKeys = {"config", "table"};
constexpr std::array<std::string_view, 4> kPrometheusKeys = {"url", "timeout", "max_age",
                                                             "freshness_query"};
constexpr std::array<std::string_view, 1> kAlertmanagerKeys = {"url"};
// `name` only in features[]; defaults has the rest.
constexpr std::array<std::string_view, 8> kFeatureKeys = {
    "name", "steps", "soak", "tenants", "checks", "freeze_alerts", "rollback", "rollback_alerts"};
constexpr std::array<std::string_view, 7> kDefaultsKeys = {
    "steps", "soak", "tenants", "checks", "freeze_alerts", "rollback", "rollback_alerts"};
constexpr std::array<std::string_view, 2> kTenantsKeys = {"allow", "deny"};
constexpr std::array<std::string_view, 5> kCheckKeys = {"name", "query", "min", "max", "scope"};
constexpr std::array<std::string_view, 2> kAlertKeys = {"names", "severities"};

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinIntervalMs = 1000;

bool IsUrl(std::string_view s) {
  return (s.rfind("http://", 0) == 0 && s.size() > 7) || (s.rfind("https://", 0) == 0 && s.size() > 8);
}

// The settings a feature inherits from `defaults:` and may override.
struct Settings {
  std::vector<double> steps{10, 50, 100};
  std::int64_t soak_ms = 3600 * 1000;
  std::vector<std::string> allow, deny;
  std::vector<Check> checks = DefaultChecks();
  AlertRule freeze = DefaultFreeze();
  bool rollback = false;
  AlertRule rollback_on = DefaultRollbackOn();
};

class PlanLoader : public config::YamlWalker {
 public:
  using YamlWalker::YamlWalker;

  Plan Run(const std::string& text) {
    Plan plan;
    plan.path = file();
    plan.freshness_query = DefaultFreshnessQuery();
    // The one way the program reads YAML (config/yaml_document.hh): bounded,
    // one document, never yaml-cpp's LoadAll (it loops forever on "," and the
    // like; found by fuzz_ramp_plan).
    config::YamlDocument doc = config::LoadSingleYamlDocument(text, config::kMaxConfigBytes);
    if (!doc.ok) {
      Report(doc.line > 0 ? Pos{doc.line, doc.column} : Pos{1, 1}, doc.message);
      return plan;
    }
    if (doc.root.IsNull()) {
      Report({1, 1}, "plan is empty; prometheus.url, flags_file, journal and features are required");
      return plan;
    }
    Mapping root = ReadMapping(doc.root, {1, 1}, "", kRootKeys);
    if (!root.ok) return plan;

    Mapping prom = ReadSubMapping(root, "prometheus", kPrometheusKeys);
    if (root.Find("prometheus") == nullptr) Missing(root, "prometheus");
    if (prom.ok) {
      if (GetString(prom, "url", plan.prometheus_url, true)) CheckUrl(prom, plan.prometheus_url);
      GetDuration(prom, "timeout", plan.prometheus_timeout_ms, 1, kInt64Max);
      GetDuration(prom, "max_age", plan.max_age_ms, 1000, kInt64Max);
      GetNonBlank(prom, "freshness_query", plan.freshness_query);
    }
    Mapping am = ReadSubMapping(root, "alertmanager", kAlertmanagerKeys);
    if (am.ok && GetString(am, "url", plan.alertmanager_url, true)) CheckUrl(am, plan.alertmanager_url);

    GetNonBlank(root, "flags_file", plan.flags_file, true);
    Mapping fs = ReadSubMapping(root, "flags_sql", kFlagsSqlKeys);
    if (fs.ok) {
      GetNonBlank(fs, "config", plan.flags_sql_config, true);
      if (GetNonBlank(fs, "table", plan.flags_sql_table, true)) {
        if (std::string why = CheckTableName(plan.flags_sql_table); !why.empty()) {
          Report(fs.Find("table")->value_pos, config::Join(fs.path, "table") + ": " + why);
        }
      }
    }
    GetNonBlank(root, "journal", plan.journal, true);
    GetNonBlank(root, "freeze_file", plan.freeze_file);
    GetNonBlank(root, "metrics_textfile", plan.metrics_textfile);
    GetDuration(root, "interval", plan.interval_ms, kMinIntervalMs, kInt64Max);
    if (!GetDuration(root, "max_gap", plan.max_gap_ms, kMinIntervalMs, kInt64Max)) {
      plan.max_gap_ms = 3 * plan.interval_ms;
    }

    Settings defaults;
    if (const Entry* d = root.Find("defaults")) {
      Mapping dm = ReadMapping(d->value, d->key_pos, "defaults", kDefaultsKeys);
      if (dm.ok) ReadSettings(dm, defaults);
    }
    LoadFeatures(root, defaults, plan.features);
    return plan;
  }

 private:
  void CheckUrl(const Mapping& m, std::string& url) {
    if (!IsUrl(url)) {
      Report(m.Find("url")->value_pos, config::Join(m.path, "url") +
                                           ": expected an http:// or https:// URL, got " + config::Quote(url));
      return;
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
  }

  bool GetNonBlank(const Mapping& m, std::string_view key, std::string& out, bool required = false) {
    std::string s;
    if (!GetString(m, key, s, required)) return false;
    if (s.find_first_not_of(" \t\r\n") == std::string::npos) {
      Report(m.Find(key)->value_pos, config::Join(m.path, key) + ": must not be empty");
      return false;
    }
    out = std::move(s);
    return true;
  }

  void ReadSettings(const Mapping& m, Settings& s) {
    GetSteps(m, "steps", s.steps);
    GetDuration(m, "soak", s.soak_ms, 1000, kInt64Max);
    Mapping t = ReadSubMapping(m, "tenants", kTenantsKeys);
    if (t.ok) {
      GetRegexList(t, "allow", s.allow);
      GetRegexList(t, "deny", s.deny);
    }
    GetChecks(m, s.checks);
    GetAlertRule(m, "freeze_alerts", s.freeze);
    GetBool(m, "rollback", s.rollback);
    GetAlertRule(m, "rollback_alerts", s.rollback_on);
  }

  void GetChecks(const Mapping& m, std::vector<Check>& out) {
    const Entry* e = m.Find("checks");
    if (e == nullptr) return;
    const std::string path = config::Join(m.path, "checks");
    if (!e->value.IsSequence()) {
      Report(e->value_pos, path + ": expected a list of checks, got " + config::Describe(e->value));
      return;
    }
    std::vector<Check> checks;
    std::size_t i = 0;
    for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
      const std::string ip = path + "[" + std::to_string(i) + "]";
      Mapping c = ReadMapping(*it, e->value_pos, ip, kCheckKeys);
      if (!c.ok) continue;
      Check check;
      bool ok = GetNonBlank(c, "name", check.name, true);
      ok = GetNonBlank(c, "query", check.query, true) && ok;
      double v = 0;
      const double inf = std::numeric_limits<double>::max();
      if (GetNumber(c, "min", v, -inf, inf)) check.min = v;
      if (GetNumber(c, "max", v, -inf, inf)) check.max = v;
      if (c.Find("min") == nullptr && c.Find("max") == nullptr) {
        Report(c.pos, ip + ": needs a threshold: min (green when value >= min) and/or max (green when value <= max)");
        ok = false;
      }
      if (check.min && check.max && *check.min > *check.max) {
        Report(c.Find("max")->value_pos, ip + ": max is below min; no value could be green");
        ok = false;
      }
      std::string scope;
      if (GetString(c, "scope", scope, false)) {
        if (scope == "tenant") {
          check.scope = Check::Scope::kTenant;
        } else if (scope == "global") {
          check.scope = Check::Scope::kGlobal;
        } else {
          Report(c.Find("scope")->value_pos, ip + ".scope: expected tenant or global, got " + config::Quote(scope));
          ok = false;
        }
      }
      for (const Check& other : checks) {
        if (ok && other.name == check.name) {
          Report(c.Find("name")->value_pos, ip + ".name: duplicate check name " + config::Quote(check.name));
          ok = false;
        }
      }
      if (ok) checks.push_back(std::move(check));
    }
    out = std::move(checks);
  }

  void GetStringList(const Mapping& m, std::string_view key, std::vector<std::string>& out) {
    const Entry* e = m.Find(key);
    if (e == nullptr) return;
    const std::string path = config::Join(m.path, key);
    if (!e->value.IsSequence()) {
      Report(e->value_pos, path + ": expected a list of strings, got " + config::Describe(e->value));
      return;
    }
    std::vector<std::string> items;
    std::size_t i = 0;
    for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
      if (!it->IsScalar() || it->Scalar().empty()) {
        Report(ValuePos(*it, e->value_pos),
               path + "[" + std::to_string(i) + "]: expected a non-empty string, got " + config::Describe(*it));
        continue;
      }
      items.push_back(it->Scalar());
    }
    out = std::move(items);
  }

  void GetAlertRule(const Mapping& m, std::string_view key, AlertRule& out) {
    Mapping a = ReadSubMapping(m, key, kAlertKeys);
    if (!a.ok) return;
    AlertRule r;
    GetStringList(a, "names", r.names);
    GetStringList(a, "severities", r.severities);
    out = std::move(r);
  }

  void LoadFeatures(const Mapping& root, const Settings& defaults, std::vector<Feature>& out) {
    const Entry* e = root.Find("features");
    if (e == nullptr) {
      if (root.ok) Missing(root, "features");
      return;
    }
    if (!e->value.IsSequence() || e->value.size() == 0) {
      Report(e->value_pos, "features: expected a non-empty list of features, got " + config::Describe(e->value));
      return;
    }
    std::size_t i = 0;
    for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
      const std::string ip = "features[" + std::to_string(i) + "]";
      Mapping fm = ReadMapping(*it, e->value_pos, ip, kFeatureKeys);
      if (!fm.ok) continue;
      Settings s = defaults;
      ReadSettings(fm, s);
      Feature f;
      if (!GetNonBlank(fm, "name", f.name, true)) continue;
      for (const Feature& other : out) {
        if (other.name == f.name) {
          Report(fm.Find("name")->value_pos, ip + ".name: feature " + config::Quote(f.name) +
                                                 " is already planned above");
          break;
        }
      }
      if (s.checks.empty()) {
        Report(fm.pos, ip + ": no SLO checks (an empty checks list would advance on alerts alone); "
                            "list at least one check");
      }
      f.steps = s.steps;
      f.soak_ms = s.soak_ms;
      f.allow = s.allow;
      f.deny = s.deny;
      f.checks = s.checks;
      f.freeze = s.freeze;
      f.rollback = s.rollback;
      f.rollback_on = s.rollback_on;
      out.push_back(std::move(f));
    }
  }
};

}  // namespace

std::vector<Check> DefaultChecks() {
  std::vector<Check> c;
  // CoverageBelow100: fires when the 30m receipted ratio is < 1.
  c.push_back({"coverage",
               "job_tenant:attest_ops_receipted_per_settled:ratio_rate30m{job=\"provledger_exporter\"}",
               1.0, std::nullopt, Check::Scope::kTenant});
  // DivergenceDetected: fires when the 10m increase is > 0.
  c.push_back({"divergence",
               "sum by (tenant) (increase(attest_divergence_count{job=\"provledger_exporter\"}[10m]))",
               std::nullopt, 0.0, Check::Scope::kTenant});
  // AnchorLatencySLO: p95 per region over 5m above 30 ms.
  c.push_back({"anchor_latency_p95_ms",
               "job_region_quantile:ledger_anchor_latency_ms:histogram_quantile_rate5m{job=\"provledger_exporter\", "
               "quantile=\"0.95\"}",
               std::nullopt, 30.0, Check::Scope::kGlobal});
  // NotaryLag: newest notary proof older than 60 s.
  c.push_back({"notary_lag_seconds",
               "time() - max by (job, region) (proofs_last_ts{job=\"provledger_exporter\"} > 0)",
               std::nullopt, 60.0, Check::Scope::kGlobal});
  return c;
}

AlertRule DefaultFreeze() {
  return {{"AnchorLatencySLO", "CoverageBelow100", "DivergenceDetected", "NotaryLag"}, {}};
}

AlertRule DefaultRollbackOn() { return {{}, {"critical"}}; }

std::string DefaultFreshnessQuery() {
  return "time() - min(provledger_exporter_last_poll_success_timestamp_seconds{job=\"provledger_exporter\"})";
}

Plan ParsePlan(const std::string& yaml_text, const std::string& filename) {
  PlanLoader loader(filename);
  Plan plan = loader.Run(yaml_text);
  std::vector<std::string> problems = loader.Formatted();
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
  return plan;
}

Plan LoadPlan(const std::string& path) {
  std::string text;
  std::string error = config::ReadBoundedFile(path, config::kMaxConfigBytes, text, "plan file");
  if (!error.empty()) throw config::ConfigError({path + ": " + error});
  return ParsePlan(text, path);
}

std::vector<std::string> KnownPlanKeys() {
  std::vector<std::string> out;
  auto add = [&](const std::string& prefix, std::span<const std::string_view> keys,
                 std::initializer_list<std::string_view> skip) {
    for (std::string_view k : keys) {
      if (std::find(skip.begin(), skip.end(), k) != skip.end()) continue;
      out.push_back(prefix + std::string(k));
    }
  };
  add("", kRootKeys, {"prometheus", "alertmanager", "flags_sql", "defaults", "features"});
  add("prometheus.", kPrometheusKeys, {});
  add("alertmanager.", kAlertmanagerKeys, {});
  add("flags_sql.", kFlagsSqlKeys, {});
  for (const std::string p : {"defaults.", "features[]."}) {
    add(p, p == "defaults." ? std::span<const std::string_view>(kDefaultsKeys)
                            : std::span<const std::string_view>(kFeatureKeys),
        {"tenants", "checks", "freeze_alerts", "rollback_alerts"});
    add(p + "tenants.", kTenantsKeys, {});
    add(p + "checks[].", kCheckKeys, {});
    add(p + "freeze_alerts.", kAlertKeys, {});
    add(p + "rollback_alerts.", kAlertKeys, {});
  }
  return out;
}

}  // namespace provledger::ramp
