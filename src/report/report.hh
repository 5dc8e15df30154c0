// The coverage report of one UTC day: the pure part. Builds the report from
// the day's numbers (report/day.hh), the optional mapper catalog, the
// previous report (drift) and the current ramps (recommendations through
// src/recommend, the one rule shared with the ramp controller), and renders
// it as JSON (schema/coverage-report.schema.json) and as a Markdown summary.
// Byte-deterministic: the same inputs give the same bytes (keys and tenants
// sorted, percentages rounded to 3 decimals, no timestamps of the run).
// Meaning of every field: docs/report.md. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/rows.hh"
#include "recommend/recommend.hh"
#include "report/catalog.hh"
#include "report/day.hh"

namespace provledger::report {

inline constexpr const char* kSchemaId = "provledger.coverage-report/v1";

// What a previous report says (only what drift needs).
struct Previous {
  std::string file;   // base name, e.g. coverage-20261202.json
  std::string date;   // YYYY-MM-DD
  struct Tenant {
    std::optional<double> coverage_pct;
    std::uint64_t divergence = 0;
  };
  std::map<std::string, Tenant> tenants;
};

// Parses a report this tool wrote. Throws std::runtime_error naming `file`.
Previous ParsePrevious(std::string_view json, const std::string& file);

struct BuildInputs {
  std::string date;                 // YYYY-MM-DD (UTC)
  Micros day_start = 0, day_end = 0;
  Micros grace = 0, window = 0;
  std::map<std::string, TenantDay> days;
  std::optional<Catalog> catalog;
  std::optional<Previous> previous;
  std::vector<FlagRow> flags;       // current ramps
  recommend::Thresholds thresholds;
};

struct KindRow {
  std::string kind;
  Outcomes outcomes;
  std::optional<double> coverage_pct;
  bool mapped = true;               // in the catalog for this tenant (always true without one)
};

struct FeatureRecommendation {
  std::string feature;
  recommend::Recommendation rec;
};

struct TenantReport {
  std::string tenant;
  Outcomes counted;                 // catalog kinds (every kind without a catalog)
  Outcomes all_kinds;               // every kind: the day's attest_ops_settled_total increase
  std::optional<double> coverage_pct;   // of `counted`, rounded to 3 decimals
  std::uint64_t cross_ledger_divergence = 0;
  std::uint64_t divergence = 0;     // all_kinds.divergent + cross_ledger_divergence
  std::uint64_t anchored = 0;
  std::optional<double> latency_p50_ms, latency_p95_ms, latency_p99_ms;
  std::vector<KindRow> kinds;       // sorted by kind
  std::vector<std::string> unmapped_kinds, idle_kinds;
  bool in_previous = false;
  std::optional<double> previous_coverage_pct;
  std::optional<std::uint64_t> previous_divergence;
  std::optional<double> coverage_change_points;   // rounded to 3 decimals
  std::vector<FeatureRecommendation> recommendations;   // sorted by feature
};

struct Report {
  std::string date;
  Micros day_start = 0, day_end = 0, grace = 0, window = 0;
  std::optional<std::string> catalog_file;
  std::size_t catalog_kinds = 0;
  std::optional<std::string> previous_file, previous_date;
  recommend::Thresholds thresholds;
  Outcomes totals;                  // counted, all tenants
  std::optional<double> total_coverage_pct;
  std::optional<double> previous_total_coverage_pct;
  std::uint64_t total_divergence = 0;
  std::vector<TenantReport> tenants;      // sorted by tenant
  std::vector<std::string> appeared, disappeared;
  std::string headline;             // one line: the headline drift
};

Report Build(const BuildInputs& in);
std::string ToJson(const Report& r);       // ends with a newline
std::string ToMarkdown(const Report& r);   // ends with a newline
// The commit message: headline first line, then a short body.
std::string CommitMessage(const Report& r);

// "2026-12-03" -> day start (Unix µs, UTC midnight); nullopt when malformed.
std::optional<Micros> ParseDate(std::string_view date);
std::string FormatDate(Micros day_start);          // Unix µs -> "YYYY-MM-DD"
std::string FormatTimestamp(Micros t);              // -> "YYYY-MM-DDTHH:MM:SSZ" (seconds)
// "coverage-YYYYMMDD.json" for a date "YYYY-MM-DD".
std::string ReportFileName(const std::string& date);
std::string SummaryFileName(const std::string& date);

}  // namespace provledger::report
