#include "recommend/recommend.hh"

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace provledger::recommend {
namespace {

std::string Pct(double v) { return FormatNumber(v) + "%"; }

}  // namespace

const char* DecisionName(Decision d) {
  switch (d) {
    case Decision::kAdvance:
      return "advance";
    case Decision::kHold:
      return "hold";
    case Decision::kFreeze:
      return "freeze";
    case Decision::kRollback:
      return "rollback";
  }
  return "hold";
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : (v > 0 ? "Inf" : "-Inf");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string Validate(const Thresholds& t) {
  auto pct_ok = [](double v) { return std::isfinite(v) && v >= 0 && v <= 100; };
  if (!pct_ok(t.advance_min_coverage_pct)) return "advance_min_coverage_pct must be within 0..100";
  if (!pct_ok(t.rollback_below_coverage_pct)) return "rollback_below_coverage_pct must be within 0..100";
  if (t.rollback_below_coverage_pct > t.advance_min_coverage_pct) {
    return "rollback_below_coverage_pct (" + FormatNumber(t.rollback_below_coverage_pct) +
           ") must not exceed advance_min_coverage_pct (" + FormatNumber(t.advance_min_coverage_pct) + ")";
  }
  if (!std::isfinite(t.rollback_drop_points) || t.rollback_drop_points > 100) {
    return "rollback_drop_points must be a finite number of at most 100 (negative disables it)";
  }
  if (t.steps.empty()) return "steps must list at least one percent";
  for (std::size_t i = 0; i < t.steps.size(); ++i) {
    double s = t.steps[i];
    if (!std::isfinite(s) || s <= 0 || s > 100) return "steps must be within (0, 100], got " + FormatNumber(s);
    if (i > 0 && s <= t.steps[i - 1]) return "steps must be strictly increasing";
  }
  return "";
}

std::optional<double> NextStep(double pct, const std::vector<double>& steps) {
  for (double s : steps) {
    if (s > pct) return s;
  }
  return std::nullopt;
}

double PreviousStep(double pct, const std::vector<double>& steps) {
  double prev = 0;
  for (double s : steps) {
    if (s < pct) prev = s;
  }
  return prev;
}

Recommendation Recommend(const Inputs& in, const Thresholds& t) {
  Recommendation r;
  r.from_pct = in.current_pct;
  r.to_pct = in.current_pct;
  const bool enough_ops = in.operations >= t.min_operations;
  const bool coverage = !in.coverage_by_checks;   // judge the coverage numbers here

  // 0. Global freeze.
  if (!in.global_freezes.empty()) {
    r.decision = Decision::kFreeze;
    for (const std::string& why : in.global_freezes) r.reasons.push_back({"global_freeze", why});
    return r;
  }

  // 1. Rollback conditions.
  std::vector<Reason> back;
  if (coverage && in.coverage_pct && enough_ops && t.rollback_below_coverage_pct > 0 &&
      *in.coverage_pct < t.rollback_below_coverage_pct) {
    back.push_back({"coverage_below_floor", "coverage " + Pct(*in.coverage_pct) + " < " +
                                                Pct(t.rollback_below_coverage_pct)});
  }
  if (coverage && in.coverage_pct && in.previous_coverage_pct && enough_ops && t.rollback_drop_points >= 0) {
    double drop = *in.previous_coverage_pct - *in.coverage_pct;
    if (drop > t.rollback_drop_points) {
      back.push_back({"coverage_drop", "coverage fell " + FormatNumber(drop) + " points (" +
                                           Pct(*in.previous_coverage_pct) + " -> " +
                                           Pct(*in.coverage_pct) + "), more than " +
                                           FormatNumber(t.rollback_drop_points)});
    }
  }
  if (coverage && t.rollback_on_new_divergence && in.divergence > 0 && in.previous_divergence.value_or(0) == 0) {
    back.push_back({"divergence_appeared",
                    std::to_string(in.divergence) + " divergence(s), previous period " +
                        (in.previous_divergence ? "had none" : "unknown")});
  }
  for (const std::string& why : in.rollback_requests) back.push_back({"rollback_requested", why});
  if (!back.empty()) {
    if (in.current_pct > 0 && in.rollback_blocked) {
      r.decision = Decision::kFreeze;
      r.reasons = std::move(back);
      r.reasons.push_back({"rollback_blocked", *in.rollback_blocked});
    } else if (in.current_pct > 0) {
      r.decision = Decision::kRollback;
      r.to_pct = PreviousStep(in.current_pct, t.steps);
      r.reasons = std::move(back);
    } else {
      r.decision = Decision::kHold;
      r.reasons = std::move(back);
      r.reasons.push_back({"nothing_to_roll_back", "ramp is at 0%"});
    }
    return r;
  }

  // 2. Freeze.
  if (!in.freezes.empty()) {
    r.decision = Decision::kFreeze;
    for (const std::string& why : in.freezes) r.reasons.push_back({"frozen", why});
    return r;
  }

  // 3. Advance, or 4. hold with every blocking condition.
  std::vector<Reason> ok, block;
  bool only_waiting = true;   // every blocker so far is a pending check or the last step
  if (!coverage) {
    // Judged by the caller's checks.
  } else if (!in.coverage_pct) {
    block.push_back({"no_data", "no settled operation in the period"});
  } else {
    if (!enough_ops) {
      block.push_back({"too_few_operations", std::to_string(in.operations) + " operations < " +
                                                 std::to_string(t.min_operations)});
    }
    if (*in.coverage_pct >= t.advance_min_coverage_pct) {
      ok.push_back({"coverage_ok", "coverage " + Pct(*in.coverage_pct) + " >= " +
                                       Pct(t.advance_min_coverage_pct)});
    } else {
      block.push_back({"coverage_below_advance", "coverage " + Pct(*in.coverage_pct) + " < " +
                                                     Pct(t.advance_min_coverage_pct)});
    }
  }
  if (!coverage) {
    // Judged by the caller's checks.
  } else if (in.divergence == 0) {
    ok.push_back({"no_divergence", "no divergence"});
  } else {
    block.push_back({"divergence_present", std::to_string(in.divergence) + " divergence(s)"});
  }
  if (!block.empty()) only_waiting = false;
  for (const Check& c : in.checks) {
    std::string text = c.name + (c.detail.empty() ? "" : ": " + c.detail);
    switch (c.state) {
      case Check::State::kGreen:
        ok.push_back({"check_green", std::move(text)});
        break;
      case Check::State::kRed:
        block.push_back({"check_red", std::move(text)});
        only_waiting = false;
        break;
      case Check::State::kUnknown:
        block.push_back({"check_unknown", std::move(text)});
        only_waiting = false;
        break;
      case Check::State::kPending:
        block.push_back({"check_pending", std::move(text)});
        break;
    }
  }
  std::optional<double> next = NextStep(in.current_pct, t.steps);
  if (!next) {
    block.push_back({"at_last_step", "ramp is at " + Pct(in.current_pct) + ", the last step"});
  }
  if (block.empty()) {
    r.decision = Decision::kAdvance;
    r.to_pct = *next;
    r.reasons = std::move(ok);
  } else {
    r.decision = Decision::kHold;
    r.reasons = std::move(block);
    r.all_green = only_waiting;
  }
  return r;
}

}  // namespace provledger::recommend
