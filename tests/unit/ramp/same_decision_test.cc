// One rule, two tools: the coverage reporter (report::Build, its day's numbers)
// and the ramp controller (ramp::Decide, its Prometheus checks and alerts) get
// the same decision and target percent for the same situation, because both go
// through recommend::Recommend. Each case describes one situation twice, in
// each tool's own terms, and compares what the tools decide.
#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <vector>

#include "ramp/decide.hh"
#include "recommend/recommend.hh"
#include "report/report.hh"

namespace provledger::ramp {
namespace {

constexpr std::int64_t kSoak = 60'000;
const std::string kCovQ = "coverage_ratio";
const std::string kDivQ = "divergence_increase";

struct Situation {
  const char* name;
  double pct;
  // The reporter's day: attested / missing / divergent operations, and the
  // previous day's divergence (nullopt: no previous report).
  std::uint64_t attested, missing, divergent;
  std::optional<std::uint64_t> previous_divergence;
  // The controller's view: the coverage ratio and divergence increase, and
  // whether a critical DivergenceDetected alert fires for the tenant.
  double coverage_ratio, divergence_increase;
  bool critical_alert;
  // What both must say.
  recommend::Decision decision;
  double to;
};

recommend::Recommendation Report(const Situation& s) {
  report::BuildInputs in;
  in.date = "2026-12-03";
  in.day_start = 1'796'256'000'000'000;
  in.day_end = in.day_start + 86'400'000'000;
  report::TenantDay day;
  day.kinds["op"] = report::Outcomes{s.attested, s.divergent, s.missing};
  in.days["a"] = day;
  if (s.previous_divergence) {
    report::Previous p;
    p.file = "coverage-20261202.json";
    p.date = "2026-12-02";
    p.tenants["a"] = {100.0, *s.previous_divergence};
    in.previous = p;
  }
  in.flags = {FlagRow{"a", "feat", s.pct}};
  in.thresholds.advance_min_coverage_pct = 99.5;
  report::Report r = report::Build(in);
  BOOST_REQUIRE(r.tenants.size() == 1u);
  BOOST_REQUIRE(r.tenants[0].recommendations.size() == 1u);
  return r.tenants[0].recommendations[0].rec;
}

Decision Ramp(const Situation& s) {
  Feature f;
  f.name = "feat";
  f.steps = {10, 50, 100};
  f.soak_ms = kSoak;
  // The same thresholds as the reporter's: advance at >= 99.5 % coverage and no divergence.
  f.checks = {{"coverage", kCovQ, 0.995, std::nullopt, Check::Scope::kTenant},
              {"divergence", kDivQ, std::nullopt, 0.0, Check::Scope::kTenant}};
  f.freeze = DefaultFreeze();
  f.rollback = true;
  f.rollback_on = DefaultRollbackOn();
  Observation o;
  o.now_ms = 10 * kSoak;
  o.results[kCovQ] = QueryResult{true, "", {Sample{{{"tenant", "a"}}, s.coverage_ratio}}};
  o.results[kDivQ] = QueryResult{true, "", {Sample{{{"tenant", "a"}}, s.divergence_increase}}};
  o.alerts_ok = true;
  if (s.critical_alert) {
    Alert a;
    a.labels = {{"alertname", "DivergenceDetected"}, {"severity", "critical"}, {"tenant", "a"}};
    a.state = "firing";
    o.alerts.push_back(a);
  }
  // Green and soaking at this step for longer than the soak.
  PairState prev;
  prev.pct = s.pct;
  prev.step_started_ms = 0;
  prev.status = Kind::kSoak;
  prev.green_since_ms = 0;
  return Decide(f, "a", s.pct, prev, o.now_ms - 10'000, 30'000, o);
}

BOOST_AUTO_TEST_CASE(the_reporter_and_the_controller_decide_alike) {
  using D = recommend::Decision;
  const Situation cases[] = {
      {"healthy", 10, 1000, 0, 0, 0, 1.0, 0, false, D::kAdvance, 50},
      {"healthy from 0", 0, 1000, 0, 0, 0, 1.0, 0, false, D::kAdvance, 10},
      {"coverage below advance", 10, 980, 20, 0, 0, 0.98, 0, false, D::kHold, 10},
      {"healthy at the last step", 100, 1000, 0, 0, 0, 1.0, 0, false, D::kHold, 100},
      {"divergence, not new", 50, 999, 0, 1, 3, 0.999, 1, false, D::kHold, 50},
      {"divergence appeared", 50, 999, 0, 1, 0, 0.999, 1, true, D::kRollback, 10},
      {"divergence appeared at the first step", 10, 999, 0, 1, 0, 0.999, 1, true, D::kRollback, 0},
  };
  for (const Situation& s : cases) {
    recommend::Recommendation rep = Report(s);
    Decision ramp = Ramp(s);
    BOOST_TEST((rep.decision == s.decision), s.name << ": report says " << recommend::DecisionName(rep.decision));
    BOOST_TEST((ramp.rec.decision == s.decision),
               s.name << ": ramp says " << recommend::DecisionName(ramp.rec.decision) << " (" << ramp.reason << ")");
    BOOST_TEST(rep.to_pct == s.to, s.name);
    BOOST_TEST(ramp.to == s.to, s.name);
    BOOST_TEST(ramp.rec.to_pct == s.to, s.name);
  }
}

}  // namespace
}  // namespace provledger::ramp
