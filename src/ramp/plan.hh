// The ramp plan: a YAML file validated like the exporter's config (every
// problem at once, each as "FILE:LINE:COLUMN: message"; unknown keys with
// "did you mean"), through config/yaml_walk.hh. docs/ramp.md is the reference.
//
// Pure: ParsePlan reads no file but the text it is given; LoadPlan reads the
// plan file only. Throws config::ConfigError (problems() never empty).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace provledger::ramp {

// One SLO check: a PromQL instant query and a threshold.
struct Check {
  std::string name;
  std::string query;
  std::optional<double> min;  // green when value >= min
  std::optional<double> max;  // green when value <= max
  // tenant: the result must hold a sample whose `tenant` label is the tenant,
  //         and that sample decides;
  // global: the result must hold at least one sample and every sample decides
  //         (e.g. per-region latency), for every tenant.
  enum class Scope { kTenant, kGlobal } scope = Scope::kTenant;
};

// Which firing alerts freeze (and, optionally, roll back) a ramp.
struct AlertRule {
  std::vector<std::string> names;       // alertname; empty = any alert
  std::vector<std::string> severities;  // severity label; empty = any
};

struct Feature {
  std::string name;
  std::vector<double> steps;            // strictly increasing, in (0, 100], e.g. 10 50 100
  std::int64_t soak_ms = 3600 * 1000;   // green time required at a step before the next
  std::vector<std::string> allow;       // full-match RE2 patterns (the exporter's tenant rule); empty = every tenant
  std::vector<std::string> deny;
  std::vector<Check> checks;
  AlertRule freeze;
  bool rollback = false;                // roll back one step while a rollback alert fires
  AlertRule rollback_on;                // default: severity critical
};

struct Plan {
  std::string path;
  // Prometheus
  std::string prometheus_url;           // required, http(s)://host:port[/prefix]
  std::int64_t prometheus_timeout_ms = 10 * 1000;
  // Data older than this is not green: the freshness query's value (seconds).
  std::int64_t max_age_ms = 2 * 60 * 1000;
  std::string freshness_query;
  // Alertmanager (optional): an alert it reports silenced does not freeze.
  std::string alertmanager_url;
  // Files
  std::string flags_file;               // required: the flags.spec the exporter reads
  // Optional (flags_sql:): the exporter's config file, whose SQL flags source
  // (flags: dsn + query) names the database, and the table its query reads.
  // Both set or neither.
  std::string flags_sql_config;
  std::string flags_sql_table;
  std::string journal;                  // required: append-only JSON lines
  std::string freeze_file;              // optional: while it exists, nothing changes
  std::string metrics_textfile;         // optional: Prometheus text format, rewritten each run
  // Daemon
  std::int64_t interval_ms = 60 * 1000;
  // A run gap longer than this (since the journal's previous run) restarts every soak:
  // the controller cannot vouch for checks it did not observe. Default 3 x interval.
  std::int64_t max_gap_ms = 0;
  std::vector<Feature> features;
};

// Defaults taken from the shipped alerts/rules.yml (the same expressions and
// thresholds as CoverageBelow100, AnchorLatencySLO, DivergenceDetected, NotaryLag).
std::vector<Check> DefaultChecks();
AlertRule DefaultFreeze();        // the four governance alerts, any severity
AlertRule DefaultRollbackOn();    // severity critical
std::string DefaultFreshnessQuery();

Plan ParsePlan(const std::string& yaml_text, const std::string& filename);
Plan LoadPlan(const std::string& path);

// Dotted key paths accepted ("features[].checks[].query"), for the docs test.
std::vector<std::string> KnownPlanKeys();

}  // namespace provledger::ramp
