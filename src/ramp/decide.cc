#include "ramp/decide.hh"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <sstream>

#include "recommend/recommend.hh"

namespace provledger::ramp {

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kAdvance: return "advance";
    case Kind::kRollback: return "rollback";
    case Kind::kHold: return "hold";
    case Kind::kFreeze: return "freeze";
    case Kind::kSoak: return "soak";
  }
  return "hold";
}

std::optional<Kind> KindFromName(const std::string& s) {
  for (Kind k : {Kind::kAdvance, Kind::kRollback, Kind::kHold, Kind::kFreeze, Kind::kSoak}) {
    if (s == KindName(k)) return k;
  }
  return std::nullopt;
}

bool IsGreen(Kind k) { return k == Kind::kAdvance || k == Kind::kSoak; }

std::string FormatPct(double pct) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, pct);
  return std::string(buf, r.ptr);
}

namespace {
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  std::ostringstream o;
  o.imbue(std::locale::classic());
  o.precision(6);
  o << v;
  return o.str();
}

std::string DescribeAlert(const Labels& l) {
  std::string s;
  auto it = l.find("alertname");
  s = it == l.end() ? "(unnamed)" : it->second;
  std::string inner;
  for (const char* k : {"severity", "tenant", "region"}) {
    auto f = l.find(k);
    if (f == l.end()) continue;
    if (!inner.empty()) inner += ",";
    inner.append(k).append("=").append(f->second);
  }
  if (!inner.empty()) s += "{" + inner + "}";
  return s;
}

std::string FormatDuration(std::int64_t ms) {
  std::ostringstream o;
  if (ms % 1000 == 0) {
    o << ms / 1000 << "s";
  } else {
    o << ms << "ms";
  }
  return o.str();
}
}  // namespace

namespace {
compute::TenantPolicy FilterPolicy(const Feature& f) {
  compute::TenantPolicy p;
  p.max = std::numeric_limits<std::int64_t>::max();
  p.allow = f.allow;
  p.deny = f.deny;
  return p;
}
}  // namespace

TenantFilter::TenantFilter(const Feature& f) : registry_(FilterPolicy(f)) {}

bool TenantFilter::Selected(const std::string& tenant) const { return registry_.Admit(tenant) >= 0; }

CheckValue EvaluateCheck(const Check& check, const std::string& tenant, const Observation& obs) {
  CheckValue cv;
  cv.name = check.name;
  auto it = obs.results.find(check.query);
  if (it == obs.results.end()) {
    cv.why = "not queried";
    return cv;
  }
  const QueryResult& r = it->second;
  if (!r.ok) {
    cv.why = "query failed: " + r.error;
    return cv;
  }
  std::vector<double> values;
  for (const Sample& s : r.samples) {
    if (check.scope == Check::Scope::kTenant) {
      auto t = s.labels.find("tenant");
      if (t == s.labels.end() || t->second != tenant) continue;
    }
    values.push_back(s.value);
  }
  if (values.empty()) {
    cv.why = check.scope == Check::Scope::kTenant ? "no sample for the tenant" : "empty result";
    return cv;
  }
  // The deciding value: the first failing one, else the one closest to its bound.
  auto fails = [&](double v) {
    if (std::isnan(v)) return true;
    if (check.min && !(v >= *check.min)) return true;
    if (check.max && !(v <= *check.max)) return true;
    return false;
  };
  auto bad = std::find_if(values.begin(), values.end(), fails);
  if (bad != values.end()) {
    cv.value = *bad;
    std::string bound;
    if (std::isnan(*bad)) {
      cv.why = "value is NaN (no data in the window)";
    } else if (check.min && *bad < *check.min) {
      cv.why = FormatValue(*bad) + " < min " + FormatValue(*check.min);
    } else {
      cv.why = FormatValue(*bad) + " > max " + FormatValue(*check.max);
    }
    return cv;
  }
  cv.value = check.max ? *std::max_element(values.begin(), values.end())
                       : *std::min_element(values.begin(), values.end());
  if (!obs.stale) {
    cv.green = true;
  } else {
    cv.why = "stale data: " + *obs.stale;
  }
  return cv;
}

std::vector<std::string> MatchingAlerts(const AlertRule& rule, const std::string& tenant,
                                        const Observation& obs) {
  std::vector<std::string> out;
  for (const Alert& a : obs.alerts) {
    if (a.state != "firing" || a.silenced) continue;
    auto name = a.labels.find("alertname");
    if (!rule.names.empty() &&
        (name == a.labels.end() || std::find(rule.names.begin(), rule.names.end(), name->second) == rule.names.end())) {
      continue;
    }
    auto sev = a.labels.find("severity");
    if (!rule.severities.empty() &&
        (sev == a.labels.end() ||
         std::find(rule.severities.begin(), rule.severities.end(), sev->second) == rule.severities.end())) {
      continue;
    }
    auto t = a.labels.find("tenant");
    if (t != a.labels.end() && t->second != tenant) continue;
    std::string d = DescribeAlert(a.labels);
    if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(std::move(d));
  }
  return out;
}

namespace {
std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += ", ";
    s += x;
  }
  return s;
}
}  // namespace

namespace {
// The evidence of one run as a caller check of recommend::Recommend: a value
// outside its threshold is red; anything unknown (query failed, empty, NaN,
// not queried) is unknown.
recommend::Check ToCheck(const CheckValue& cv) {
  recommend::Check c;
  c.name = cv.name;
  c.detail = cv.why;
  if (cv.green) {
    c.state = recommend::Check::State::kGreen;
  } else if (cv.value && !std::isnan(*cv.value)) {
    c.state = recommend::Check::State::kRed;
  } else {
    c.state = recommend::Check::State::kUnknown;
  }
  return c;
}

// The texts of the reasons with one of `codes`, in order.
std::vector<std::string> ReasonTexts(const recommend::Recommendation& r, std::initializer_list<const char*> codes) {
  std::vector<std::string> out;
  for (const recommend::Reason& why : r.reasons) {
    for (const char* code : codes) {
      if (why.code == code) out.push_back(why.text);
    }
  }
  return out;
}
}  // namespace

// This function only turns the Observation into recommend::Inputs and the
// Recommendation into a step, a journal state and a one-line reason: the
// order of the rules is recommend::Recommend's (one implementation, shared
// with the coverage reporter).
Decision Decide(const Feature& feature, const std::string& tenant, double pct,
                const std::optional<PairState>& prev_in, std::optional<std::int64_t> last_run_ms,
                std::int64_t max_gap_ms, const Observation& obs) {
  const std::int64_t now = obs.now_ms;
  Decision d;
  d.tenant = tenant;
  d.feature = feature.name;
  d.from = d.to = pct;

  // Carry over what the journal knows, unless the percent moved under us.
  std::optional<PairState> prev = prev_in;
  std::string adopted;
  if (prev && prev->pct != pct) {
    adopted = "percent changed outside the controller (" + FormatPct(prev->pct) + " -> " + FormatPct(pct) +
              "); the step starts now";
    prev.reset();
  } else if (!prev) {
    adopted = "first seen at " + FormatPct(pct) + "; the step starts now";
  }
  PairState next;
  next.pct = pct;
  next.step_started_ms = prev ? prev->step_started_ms : now;
  next.last_change_rollback = prev && prev->last_change_rollback;

  for (const Check& c : feature.checks) d.checks.push_back(EvaluateCheck(c, tenant, obs));

  // --- Observation -> recommend::Inputs.
  recommend::Inputs in;
  in.current_pct = pct;
  in.coverage_by_checks = true;   // the plan's checks judge coverage and divergence
  if (obs.global_freeze) in.global_freezes.push_back(obs.global_freeze_reason);
  std::vector<std::string> rollback_alerts, freeze_alerts;
  if (obs.alerts_ok) {
    // At 0 % there is nothing to roll back: the rollback alerts are not asked about.
    if (feature.rollback && pct > 0) rollback_alerts = MatchingAlerts(feature.rollback_on, tenant, obs);
    freeze_alerts = MatchingAlerts(feature.freeze, tenant, obs);
  }
  in.rollback_requests = rollback_alerts;
  in.freezes = freeze_alerts;
  // No second rollback within one soak of the last one.
  if (next.last_change_rollback && now - next.step_started_ms < feature.soak_ms) {
    in.rollback_blocked = "already rolled back less than " + FormatDuration(feature.soak_ms) + " ago";
  }
  if (!obs.alerts_ok) {
    in.checks.push_back({"alerts unavailable", recommend::Check::State::kUnknown, obs.alerts_error});
  }
  if (obs.stale) in.checks.push_back({"stale data", recommend::Check::State::kUnknown, *obs.stale});
  for (const CheckValue& c : d.checks) {
    // A check whose only fault is stale data is covered by "stale data" above.
    if (!c.green && obs.stale && c.why.rfind("stale data", 0) == 0) continue;
    in.checks.push_back(ToCheck(c));
  }
  // The soak as a caller check: green since the start of an unbroken green
  // streak (this run included, if it turns out green) and since the step
  // started, for at least the soak.
  const bool gap = !last_run_ms || now - *last_run_ms > max_gap_ms;
  std::string note;
  std::int64_t green_since = now;
  if (prev && IsGreen(prev->status) && prev->green_since_ms && !gap) {
    green_since = *prev->green_since_ms;
  } else if (prev && IsGreen(prev->status) && gap) {
    note = last_run_ms ? "soak restarted: no run for " + FormatDuration(now - *last_run_ms) + "; "
                       : "soak restarted: no previous run in the journal; ";
  }
  const std::int64_t green_for = now - std::max(green_since, next.step_started_ms);
  in.checks.push_back({"soak",
                       green_for >= feature.soak_ms ? recommend::Check::State::kGreen
                                                    : recommend::Check::State::kPending,
                       "green for " + FormatDuration(green_for) + " of " + FormatDuration(feature.soak_ms)});

  recommend::Thresholds th;
  th.steps = feature.steps;
  d.rec = recommend::Recommend(in, th);

  // --- Recommendation -> step, state, reason.
  auto finish = [&](Kind kind, std::string reason) {
    d.kind = kind;
    next.status = kind;
    if (IsGreen(kind)) {
      next.green_since_ms = green_since;
    } else {
      next.green_since_ms.reset();
    }
    if (!adopted.empty()) reason = adopted + "; " + reason;
    d.reason = std::move(reason);
    d.next = next;
    d.record = !prev || d.changed() || prev->status != kind ||
               prev->green_since_ms != next.green_since_ms;
    return d;
  };
  switch (d.rec.decision) {
    case recommend::Decision::kFreeze:
      if (!in.global_freezes.empty()) return finish(Kind::kFreeze, "global freeze: " + Join(in.global_freezes));
      if (d.rec.reasons.back().code == "rollback_blocked") {
        d.alerts = rollback_alerts;
        return finish(Kind::kFreeze, "frozen: " + Join(rollback_alerts) + " firing (" + *in.rollback_blocked + ")");
      }
      d.alerts = freeze_alerts;
      return finish(Kind::kFreeze, "frozen: " + Join(freeze_alerts) + " firing");
    case recommend::Decision::kRollback:
      d.alerts = rollback_alerts;
      d.to = d.rec.to_pct;
      next.pct = d.to;
      next.step_started_ms = now;
      next.last_change_rollback = true;
      return finish(Kind::kRollback, "rolled back one step: " + Join(rollback_alerts) + " firing");
    case recommend::Decision::kAdvance:
      d.to = d.rec.to_pct;
      next.pct = d.to;
      next.step_started_ms = now;
      next.last_change_rollback = false;
      return finish(Kind::kAdvance, note + "advanced one step: every check green for " + FormatDuration(green_for) +
                                        " (soak " + FormatDuration(feature.soak_ms) + ")");
    case recommend::Decision::kHold:
      break;
  }
  if (!d.rec.all_green) {
    return finish(Kind::kHold, "hold: " + Join(ReasonTexts(d.rec, {"check_red", "check_unknown"})));
  }
  const std::optional<double> up = recommend::NextStep(pct, feature.steps);
  if (!up) return finish(Kind::kSoak, note + "green; at the last step");
  return finish(Kind::kSoak, note + "green for " + FormatDuration(green_for) + " of " +
                                 FormatDuration(feature.soak_ms) + "; next step " + FormatPct(*up));
}

}  // namespace provledger::ramp
