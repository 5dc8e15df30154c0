#include "ramp/decide.hh"

#include <algorithm>
#include <charconv>
#include <cmath>
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

  auto finish = [&](Kind kind, std::string reason) {
    d.kind = kind;
    next.status = kind;
    if (!IsGreen(kind)) next.green_since_ms.reset();
    if (!adopted.empty()) reason = adopted + "; " + reason;
    d.reason = std::move(reason);
    d.next = next;
    d.record = !prev || d.changed() || prev->status != kind ||
               prev->green_since_ms != next.green_since_ms;
    return d;
  };

  // 1. Global freeze.
  if (obs.global_freeze) return finish(Kind::kFreeze, "global freeze: " + obs.global_freeze_reason);

  // 2./3. Alerts.
  if (obs.alerts_ok) {
    if (feature.rollback && pct > 0) {
      std::vector<std::string> rb = MatchingAlerts(feature.rollback_on, tenant, obs);
      if (!rb.empty()) {
        const bool recent_rollback = next.last_change_rollback && now - next.step_started_ms < feature.soak_ms;
        d.alerts = rb;
        if (!recent_rollback) {
          d.to = recommend::PreviousStep(pct, feature.steps);
          next.pct = d.to;
          next.step_started_ms = now;
          next.last_change_rollback = true;
          return finish(Kind::kRollback, "rolled back one step: " + Join(rb) + " firing");
        }
        return finish(Kind::kFreeze, "frozen: " + Join(rb) + " firing (already rolled back less than " +
                                         FormatDuration(feature.soak_ms) + " ago)");
      }
    }
    std::vector<std::string> fr = MatchingAlerts(feature.freeze, tenant, obs);
    if (!fr.empty()) {
      d.alerts = fr;
      return finish(Kind::kFreeze, "frozen: " + Join(fr) + " firing");
    }
  }

  // 4. Anything not green holds.
  std::vector<std::string> why;
  if (!obs.alerts_ok) why.push_back("alerts unavailable: " + obs.alerts_error);
  if (obs.stale) why.push_back("stale data: " + *obs.stale);
  for (const CheckValue& c : d.checks) {
    if (!c.green && !(obs.stale && c.why.rfind("stale data", 0) == 0)) why.push_back(c.name + ": " + c.why);
  }
  if (!why.empty()) return finish(Kind::kHold, "hold: " + Join(why));

  // 5. Green.
  const bool gap = !last_run_ms || now - *last_run_ms > max_gap_ms;
  std::string note;
  if (prev && IsGreen(prev->status) && prev->green_since_ms && !gap) {
    next.green_since_ms = prev->green_since_ms;
  } else {
    next.green_since_ms = now;
    if (prev && IsGreen(prev->status) && gap) {
      note = last_run_ms ? "soak restarted: no run for " + FormatDuration(now - *last_run_ms) + "; "
                         : "soak restarted: no previous run in the journal; ";
    }
  }
  const std::int64_t since = std::max(*next.green_since_ms, next.step_started_ms);
  const std::int64_t green_for = now - since;
  const std::optional<double> up = recommend::NextStep(pct, feature.steps);
  if (!up) return finish(Kind::kSoak, note + "green; at the last step");
  if (green_for >= feature.soak_ms) {
    d.to = *up;
    next.pct = *up;
    next.step_started_ms = now;
    next.last_change_rollback = false;
    return finish(Kind::kAdvance, note + "advanced one step: every check green for " + FormatDuration(green_for) +
                                      " (soak " + FormatDuration(feature.soak_ms) + ")");
  }
  return finish(Kind::kSoak, note + "green for " + FormatDuration(green_for) + " of " +
                                 FormatDuration(feature.soak_ms) + "; next step " + FormatPct(*up));
}

}  // namespace provledger::ramp
