#include "report/report.hh"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace provledger::report {
namespace {

using Json = nlohmann::json;
constexpr Micros kDay = 86400LL * 1000000;

double Round3(double v) {
  double r = std::round(v * 1000.0) / 1000.0;
  return r == 0 ? 0.0 : r;   // no "-0"
}

std::optional<double> CoveragePct(const Outcomes& o) {
  if (o.operations() == 0) return std::nullopt;
  return Round3(100.0 * static_cast<double>(o.attested + o.divergent) / static_cast<double>(o.operations()));
}

Json Opt(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }
Json OptU(const std::optional<std::uint64_t>& v) { return v ? Json(*v) : Json(nullptr); }

Json OutcomesJson(const Outcomes& o) {
  return Json{{"operations", o.operations()}, {"attested", o.attested}, {"divergent", o.divergent}, {"missing", o.missing}};
}

std::string Pct(const std::optional<double>& v) {
  return v ? recommend::FormatNumber(*v) + "%" : std::string("n/a");
}

std::string Points(double v) {
  std::string s = v > 0 ? "+" : "";
  s += recommend::FormatNumber(v);
  return s;
}

std::string Md(const std::string& s) {   // Markdown table cell: escape pipes and newlines
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out.empty() ? "(unnamed)" : out;
}

}  // namespace

std::optional<Micros> ParseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (y < 1970 || m < 1 || d < 1) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  const auto days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return static_cast<Micros>(days) * kDay;
}

std::string FormatDate(Micros day_start) {
  const auto days = std::chrono::sys_days(std::chrono::days(day_start / kDay - (day_start % kDay < 0 ? 1 : 0)));
  const std::chrono::year_month_day ymd(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string FormatTimestamp(Micros t) {
  Micros day = t / kDay - (t % kDay < 0 ? 1 : 0);
  Micros rest = (t - day * kDay) / 1000000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%sT%02lld:%02lld:%02lldZ", FormatDate(day * kDay).c_str(),
                static_cast<long long>(rest / 3600), static_cast<long long>(rest / 60 % 60),
                static_cast<long long>(rest % 60));
  return buf;
}

std::string ReportFileName(const std::string& date) {
  std::string d = date;
  d.erase(std::remove(d.begin(), d.end(), '-'), d.end());
  return "coverage-" + d + ".json";
}

std::string SummaryFileName(const std::string& date) {
  std::string d = date;
  d.erase(std::remove(d.begin(), d.end(), '-'), d.end());
  return "coverage-" + d + ".md";
}

Previous ParsePrevious(std::string_view text, const std::string& file) {
  Previous p;
  p.file = file;
  try {
    const Json j = Json::parse(text);
    if (!j.is_object() || j.value("schema", std::string()) != kSchemaId) {
      throw std::runtime_error("not a coverage report (\"schema\" is not \"" + std::string(kSchemaId) + "\")");
    }
    p.date = j.at("date").get<std::string>();
    for (const Json& t : j.at("tenants")) {
      Previous::Tenant pt;
      const Json& c = t.at("coverage_pct");
      if (!c.is_null()) pt.coverage_pct = c.get<double>();
      pt.divergence = t.at("divergence").get<std::uint64_t>();
      p.tenants[t.at("tenant").get<std::string>()] = pt;
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("previous report " + file + " is unusable: " + e.what());
  }
  return p;
}

Report Build(const BuildInputs& in) {
  Report r;
  r.date = in.date;
  r.day_start = in.day_start;
  r.day_end = in.day_end;
  r.grace = in.grace;
  r.window = in.window;
  r.thresholds = in.thresholds;
  if (in.catalog) {
    r.catalog_file = in.catalog->file;
    r.catalog_kinds = in.catalog->size();
  }
  if (in.previous) {
    r.previous_file = in.previous->file;
    r.previous_date = in.previous->date;
  }

  std::map<std::string, std::vector<std::pair<std::string, double>>> flags;
  for (const FlagRow& f : in.flags) flags[f.tenant].emplace_back(f.feature, f.pct);

  std::set<std::string> names;
  for (const auto& [t, d] : in.days) names.insert(t);
  for (const auto& [t, f] : flags) names.insert(t);

  for (const std::string& name : names) {
    TenantReport tr;
    tr.tenant = name;
    const TenantDay* day = nullptr;
    if (auto it = in.days.find(name); it != in.days.end()) day = &it->second;
    const std::set<std::string> expected = in.catalog ? in.catalog->ExpectedFor(name) : std::set<std::string>{};
    if (day != nullptr) {
      for (const auto& [kind, o] : day->kinds) {
        KindRow k;
        k.kind = kind;
        k.outcomes = o;
        k.coverage_pct = CoveragePct(o);
        k.mapped = !in.catalog || expected.count(kind) != 0;
        tr.all_kinds += o;
        if (k.mapped) {
          tr.counted += o;
        } else {
          tr.unmapped_kinds.push_back(kind);
        }
        tr.kinds.push_back(std::move(k));
      }
      tr.cross_ledger_divergence = day->cross_ledger_divergence;
      tr.anchored = day->latency.count();
      tr.latency_p50_ms = day->latency.Quantile(0.50);
      tr.latency_p95_ms = day->latency.Quantile(0.95);
      tr.latency_p99_ms = day->latency.Quantile(0.99);
    }
    for (const std::string& k : expected) {
      if (day == nullptr || day->kinds.count(k) == 0) tr.idle_kinds.push_back(k);
    }
    tr.coverage_pct = CoveragePct(tr.counted);
    tr.divergence = tr.all_kinds.divergent + tr.cross_ledger_divergence;

    if (in.previous) {
      if (auto it = in.previous->tenants.find(name); it != in.previous->tenants.end()) {
        tr.in_previous = true;
        tr.previous_coverage_pct = it->second.coverage_pct;
        tr.previous_divergence = it->second.divergence;
        if (tr.coverage_pct && tr.previous_coverage_pct) {
          tr.coverage_change_points = Round3(*tr.coverage_pct - *tr.previous_coverage_pct);
        }
      } else {
        r.appeared.push_back(name);
      }
    }

    if (auto it = flags.find(name); it != flags.end()) {
      auto features = it->second;
      std::sort(features.begin(), features.end());
      for (const auto& [feature, pct] : features) {
        recommend::Inputs ri;
        ri.coverage_pct = tr.coverage_pct;
        ri.operations = tr.counted.operations();
        ri.divergence = tr.divergence;
        ri.previous_coverage_pct = tr.previous_coverage_pct;
        // Without a previous report the previous divergence is unknown; a
        // tenant new in it had none.
        if (in.previous) ri.previous_divergence = tr.in_previous ? *tr.previous_divergence : 0;
        ri.current_pct = pct;
        tr.recommendations.push_back({feature, recommend::Recommend(ri, in.thresholds)});
      }
    }
    r.totals += tr.counted;
    r.total_divergence += tr.divergence;
    r.tenants.push_back(std::move(tr));
  }
  if (in.previous) {
    for (const auto& [name, t] : in.previous->tenants) {
      if (names.count(name) == 0) r.disappeared.push_back(name);
    }
  }
  r.total_coverage_pct = CoveragePct(r.totals);

  // Headline: the largest drop, else the overall figure.
  const TenantReport* worst = nullptr;
  for (const TenantReport& t : r.tenants) {
    if (t.coverage_change_points && *t.coverage_change_points < 0 &&
        (worst == nullptr || *t.coverage_change_points < *worst->coverage_change_points)) {
      worst = &t;
    }
  }
  std::ostringstream h;
  h << "coverage " << r.date << ": " << Pct(r.total_coverage_pct) << " overall";
  if (!in.previous) {
    h << ", first report (no previous)";
  } else if (worst != nullptr) {
    h << ", largest drop " << worst->tenant << " " << Points(*worst->coverage_change_points) << " points ("
      << Pct(worst->previous_coverage_pct) << " -> " << Pct(worst->coverage_pct) << ")";
  } else {
    h << ", no tenant dropped since " << *r.previous_date;
  }
  r.headline = h.str();
  return r;
}

std::string ToJson(const Report& r) {
  Json j;
  j["schema"] = kSchemaId;
  j["date"] = r.date;
  j["day"] = Json{{"start", FormatTimestamp(r.day_start)}, {"end", FormatTimestamp(r.day_end)}};
  j["settlement"] = Json{{"grace_seconds", r.grace / 1000000}, {"window_seconds", r.window / 1000000}};
  j["catalog"] = r.catalog_file ? Json{{"file", *r.catalog_file}, {"kinds", r.catalog_kinds}} : Json(nullptr);
  j["previous"] = r.previous_file ? Json{{"file", *r.previous_file}, {"date", *r.previous_date}} : Json(nullptr);
  j["thresholds"] = Json{{"advance_min_coverage_pct", r.thresholds.advance_min_coverage_pct},
                         {"min_operations", r.thresholds.min_operations},
                         {"rollback_below_coverage_pct", r.thresholds.rollback_below_coverage_pct},
                         {"rollback_drop_points", r.thresholds.rollback_drop_points},
                         {"rollback_on_new_divergence", r.thresholds.rollback_on_new_divergence},
                         {"steps", r.thresholds.steps}};
  Json totals = OutcomesJson(r.totals);
  totals["coverage_pct"] = Opt(r.total_coverage_pct);
  totals["divergence"] = r.total_divergence;
  totals["tenants"] = r.tenants.size();
  j["totals"] = totals;
  j["drift"] = Json{{"appeared", r.appeared}, {"disappeared", r.disappeared}, {"headline", r.headline}};
  Json tenants = Json::array();
  for (const TenantReport& t : r.tenants) {
    Json tj = OutcomesJson(t.counted);
    tj["tenant"] = t.tenant;
    tj["coverage_pct"] = Opt(t.coverage_pct);
    tj["divergence"] = t.divergence;
    tj["cross_ledger_divergence"] = t.cross_ledger_divergence;
    tj["settled_all_kinds"] = OutcomesJson(t.all_kinds);
    tj["anchor_latency_ms"] = Json{{"anchored", t.anchored},
                                   {"p50", Opt(t.latency_p50_ms)},
                                   {"p95", Opt(t.latency_p95_ms)},
                                   {"p99", Opt(t.latency_p99_ms)}};
    tj["drift"] = Json{{"in_previous", t.in_previous},
                       {"previous_coverage_pct", Opt(t.previous_coverage_pct)},
                       {"coverage_change_points", Opt(t.coverage_change_points)},
                       {"previous_divergence", OptU(t.previous_divergence)}};
    Json kinds = Json::array();
    for (const KindRow& k : t.kinds) {
      Json kj = OutcomesJson(k.outcomes);
      kj["kind"] = k.kind;
      kj["coverage_pct"] = Opt(k.coverage_pct);
      kj["mapped"] = k.mapped;
      kinds.push_back(std::move(kj));
    }
    tj["kinds"] = std::move(kinds);
    tj["unmapped_kinds"] = t.unmapped_kinds;
    tj["idle_kinds"] = t.idle_kinds;
    Json recs = Json::array();
    for (const FeatureRecommendation& f : t.recommendations) {
      Json reasons = Json::array();
      for (const recommend::Reason& why : f.rec.reasons) reasons.push_back(Json{{"code", why.code}, {"text", why.text}});
      recs.push_back(Json{{"feature", f.feature},
                          {"decision", recommend::DecisionName(f.rec.decision)},
                          {"from_pct", f.rec.from_pct},
                          {"to_pct", f.rec.to_pct},
                          {"reasons", std::move(reasons)}});
    }
    tj["recommendations"] = std::move(recs);
    tenants.push_back(std::move(tj));
  }
  j["tenants"] = std::move(tenants);
  return j.dump(2) + "\n";
}

std::string ToMarkdown(const Report& r) {
  std::ostringstream o;
  o << "# Coverage report " << r.date << "\n\n";
  o << r.headline << ".\n\n";
  o << "Operations whose span started on " << r.date << " (UTC): " << r.totals.operations() << ", attested "
    << r.totals.attested << ", divergent " << r.totals.divergent << ", missing " << r.totals.missing
    << "; coverage " << Pct(r.total_coverage_pct) << "; divergences " << r.total_divergence << "; tenants "
    << r.tenants.size() << ".";
  if (r.previous_file) o << " Compared with " << *r.previous_file << ".";
  o << "\n\n";

  std::vector<const TenantReport*> drops;
  for (const TenantReport& t : r.tenants) {
    if (t.coverage_change_points && *t.coverage_change_points < 0) drops.push_back(&t);
  }
  std::stable_sort(drops.begin(), drops.end(), [](const TenantReport* a, const TenantReport* b) {
    return *a->coverage_change_points < *b->coverage_change_points;
  });
  o << "## Largest drops\n\n";
  if (drops.empty()) {
    o << (r.previous_file ? "None.\n\n" : "No previous report to compare with.\n\n");
  } else {
    o << "| Tenant | Before | Now | Change (points) |\n|---|---|---|---|\n";
    for (std::size_t i = 0; i < drops.size() && i < 10; ++i) {
      const TenantReport& t = *drops[i];
      o << "| " << Md(t.tenant) << " | " << Pct(t.previous_coverage_pct) << " | " << Pct(t.coverage_pct) << " | "
        << Points(*t.coverage_change_points) << " |\n";
    }
    o << "\n";
  }

  o << "## New divergence\n\n";
  bool any = false;
  for (const TenantReport& t : r.tenants) {
    if (t.divergence > 0 && (!t.previous_divergence || *t.previous_divergence == 0)) {
      o << "- " << Md(t.tenant) << ": " << t.divergence << " (" << t.all_kinds.divergent << " divergent operations, "
        << t.cross_ledger_divergence << " cross-ledger copies); previous "
        << (t.previous_divergence ? std::to_string(*t.previous_divergence) : std::string("unknown")) << "\n";
      any = true;
    }
  }
  o << (any ? "\n" : "None.\n\n");

  o << "## Recommendations\n\n";
  any = false;
  for (const TenantReport& t : r.tenants) {
    for (const FeatureRecommendation& f : t.recommendations) {
      if (!any) o << "| Tenant | Feature | Ramp | Decision | Reasons |\n|---|---|---|---|---|\n";
      any = true;
      std::string reasons;
      for (const recommend::Reason& why : f.rec.reasons) reasons += (reasons.empty() ? "" : "; ") + why.text;
      o << "| " << Md(t.tenant) << " | " << Md(f.feature) << " | " << recommend::FormatNumber(f.rec.from_pct) << "% -> "
        << recommend::FormatNumber(f.rec.to_pct) << "% | " << recommend::DecisionName(f.rec.decision) << " | "
        << Md(reasons) << " |\n";
    }
  }
  o << (any ? "\n" : "No ramps configured.\n\n");

  o << "## Tenants\n\n| Tenant | Operations | Attested | Divergent | Missing | Coverage | Change | Divergences | p95 anchor ms |\n"
       "|---|---|---|---|---|---|---|---|---|\n";
  for (const TenantReport& t : r.tenants) {
    o << "| " << Md(t.tenant) << " | " << t.counted.operations() << " | " << t.counted.attested << " | "
      << t.counted.divergent << " | " << t.counted.missing << " | " << Pct(t.coverage_pct) << " | "
      << (t.coverage_change_points ? Points(*t.coverage_change_points) : std::string("")) << " | " << t.divergence
      << " | " << (t.latency_p95_ms ? recommend::FormatNumber(*t.latency_p95_ms) : std::string("")) << " |\n";
  }
  o << "\n";
  if (!r.appeared.empty() || !r.disappeared.empty()) {
    o << "## Tenants that appeared or disappeared\n\n";
    for (const auto& t : r.appeared) o << "- appeared: " << Md(t) << "\n";
    for (const auto& t : r.disappeared) o << "- disappeared: " << Md(t) << "\n";
    o << "\n";
  }
  if (r.catalog_file) {
    o << "## Catalog\n\n";
    any = false;
    for (const TenantReport& t : r.tenants) {
      if (!t.unmapped_kinds.empty()) {
        std::string k;
        for (const auto& x : t.unmapped_kinds) k += (k.empty() ? "" : ", ") + Md(x);
        o << "- " << Md(t.tenant) << ": unmapped " << k << "\n";
        any = true;
      }
      if (!t.idle_kinds.empty()) {
        std::string k;
        for (const auto& x : t.idle_kinds) k += (k.empty() ? "" : ", ") + Md(x);
        o << "- " << Md(t.tenant) << ": idle " << k << "\n";
        any = true;
      }
    }
    o << (any ? "\n" : "Every kind seen is in the catalog and every catalog kind had traffic.\n\n");
  }
  std::string s = o.str();
  while (s.size() >= 2 && s[s.size() - 1] == '\n' && s[s.size() - 2] == '\n') s.pop_back();
  return s;
}

std::string CommitMessage(const Report& r) {
  std::ostringstream o;
  o << r.headline << "\n\n";
  o << "Tenants: " << r.tenants.size() << "; operations: " << r.totals.operations() << "; divergences: "
    << r.total_divergence << ".\n";
  std::map<std::string, int> decisions;
  for (const TenantReport& t : r.tenants) {
    for (const FeatureRecommendation& f : t.recommendations) ++decisions[recommend::DecisionName(f.rec.decision)];
  }
  if (!decisions.empty()) {
    o << "Recommendations:";
    for (const auto& [d, n] : decisions) o << " " << d << " " << n << ";";
    o << "\n";
  }
  if (!r.appeared.empty()) o << "Appeared: " << r.appeared.size() << "; ";
  if (!r.disappeared.empty()) o << "Disappeared: " << r.disappeared.size() << "; ";
  o << "\nGenerated by provledger_report.\n";
  return o.str();
}

}  // namespace provledger::report
