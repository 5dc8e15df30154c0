// The pure decisions, driven by a fake clock. Every run goes through the
// journal text (DecisionLine / RunLine -> ReadJournal), exactly as the
// controller persists state, so each run is also a restart from the journal.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "ramp/decide.hh"
#include "ramp/journal.hh"

namespace provledger::ramp {
namespace {

constexpr std::int64_t kSoak = 60'000;
constexpr std::int64_t kMaxGap = 30'000;
const std::string kCov = "cov_query";
const std::string kLat = "lat_query";

Feature MakeFeature() {
  Feature f;
  f.name = "feat";
  f.steps = {10, 50, 100};
  f.soak_ms = kSoak;
  f.checks = {{"coverage", kCov, 1.0, std::nullopt, Check::Scope::kTenant},
              {"latency", kLat, std::nullopt, 30.0, Check::Scope::kGlobal}};
  f.freeze = DefaultFreeze();
  f.rollback_on = DefaultRollbackOn();
  return f;
}

Sample S(std::map<std::string, std::string> labels, double v) { return Sample{std::move(labels), v}; }

// Every tenant covered (1.0), both regions' latency at 10 ms, no alerts.
Observation Green(std::int64_t now, const std::vector<std::string>& tenants = {"a", "b"}) {
  Observation o;
  o.now_ms = now;
  QueryResult cov{true, "", {}};
  for (const auto& t : tenants) cov.samples.push_back(S({{"tenant", t}}, 1.0));
  o.results[kCov] = cov;
  o.results[kLat] = QueryResult{true, "", {S({{"region", "eu"}}, 10), S({{"region", "us"}}, 12)}};
  o.alerts_ok = true;
  return o;
}

Alert Firing(const std::string& name, const std::string& severity, const std::string& tenant = "") {
  Alert a;
  a.labels = {{"alertname", name}, {"severity", severity}};
  if (!tenant.empty()) a.labels["tenant"] = tenant;
  a.state = "firing";
  return a;
}

// A controller in miniature: flags (tenant -> pct) and a journal text.
struct Sim {
  Feature feature = MakeFeature();
  std::map<std::string, double> pct{{"a", 10}, {"b", 10}};
  std::string journal;

  std::map<std::string, Decision> Run(const Observation& obs) {
    JournalState js = ReadJournal(journal, "j");
    BOOST_REQUIRE(js.errors.empty());
    std::map<std::string, Decision> out;
    for (auto& [tenant, p] : pct) {
      std::optional<PairState> prev;
      auto it = js.pairs.find({tenant, feature.name});
      if (it != js.pairs.end()) prev = it->second;
      Decision d = Decide(feature, tenant, p, prev, js.last_run_ms, kMaxGap, obs);
      if (d.record) journal += DecisionLine(d, obs.now_ms);
      p = d.to;
      out.emplace(tenant, d);
    }
    journal += RunLine(obs.now_ms, 0, static_cast<int>(pct.size()));
    return out;
  }
};

BOOST_AUTO_TEST_CASE(advances_one_step_only_after_a_full_green_soak) {
  Sim sim;
  std::vector<std::pair<std::int64_t, double>> seen;  // (time, pct of a after the run)
  for (std::int64_t t = 0; t <= 200'000; t += 10'000) {
    auto d = sim.Run(Green(t));
    seen.emplace_back(t, sim.pct["a"]);
    if (t < 60'000) BOOST_TEST((d["a"].kind == Kind::kSoak), "t=" << t << " " << d["a"].reason);
    if (t == 60'000) {
      BOOST_TEST((d["a"].kind == Kind::kAdvance));
      BOOST_TEST(d["a"].from == 10);
      BOOST_TEST(d["a"].to == 50);
    }
    if (t > 60'000 && t < 120'000) BOOST_TEST((d["a"].kind == Kind::kSoak), "t=" << t << " " << d["a"].reason);
    if (t == 120'000) BOOST_TEST(d["a"].to == 100);
    if (t > 120'000) {
      BOOST_TEST((d["a"].kind == Kind::kSoak));
      BOOST_TEST(d["a"].reason.find("at the last step") != std::string::npos);
    }
  }
  BOOST_TEST(sim.pct["a"] == 100);
  BOOST_TEST(sim.pct["b"] == 100);
}

BOOST_AUTO_TEST_CASE(soak_boundary_is_exact) {
  Sim sim;
  sim.Run(Green(0));
  for (std::int64_t t = 10'000; t < 60'000; t += 10'000) sim.Run(Green(t));
  auto d = sim.Run(Green(59'999));
  BOOST_TEST((d["a"].kind == Kind::kSoak));
  d = sim.Run(Green(60'000));
  BOOST_TEST((d["a"].kind == Kind::kAdvance));
}

BOOST_AUTO_TEST_CASE(a_red_run_restarts_the_soak) {
  Sim sim;
  for (std::int64_t t = 0; t <= 40'000; t += 10'000) sim.Run(Green(t));
  Observation bad = Green(50'000);
  bad.results[kCov].samples[0].value = 0.99;  // tenant a below 1
  auto d = sim.Run(bad);
  BOOST_TEST((d["a"].kind == Kind::kHold));
  BOOST_TEST(d["a"].reason.find("coverage: 0.99 < min 1") != std::string::npos, d["a"].reason);
  BOOST_TEST((d["b"].kind == Kind::kSoak));
  d = sim.Run(Green(60'000));
  BOOST_TEST((d["a"].kind == Kind::kSoak));
  BOOST_TEST((d["b"].kind == Kind::kAdvance));
  for (std::int64_t t = 70'000; t < 120'000; t += 10'000) {
    d = sim.Run(Green(t));
    BOOST_TEST((d["a"].kind == Kind::kSoak), "t=" << t);
  }
  d = sim.Run(Green(120'000));
  BOOST_TEST((d["a"].kind == Kind::kAdvance));
}

// Fail safe: each way of not knowing holds, with its reason, even after a long green streak.
BOOST_AUTO_TEST_CASE(unknown_is_not_green) {
  struct Case {
    const char* name;
    void (*spoil)(Observation&);
    const char* reason;
  };
  const Case cases[] = {
      {"stale", [](Observation& o) { o.stale = "data is 300s old (max_age 120s)"; }, "stale data: data is 300s old"},
      {"query error", [](Observation& o) { o.results[kCov] = QueryResult{false, "HTTP 503: down", {}}; },
       "coverage: query failed: HTTP 503: down"},
      {"not queried", [](Observation& o) { o.results.erase(kLat); }, "latency: not queried"},
      {"empty global", [](Observation& o) { o.results[kLat].samples.clear(); }, "latency: empty result"},
      {"no tenant sample", [](Observation& o) { o.results[kCov].samples.clear(); },
       "coverage: no sample for the tenant"},
      {"NaN", [](Observation& o) { o.results[kCov].samples[0].value = std::nan(""); }, "coverage: value is NaN"},
      {"one region over", [](Observation& o) { o.results[kLat].samples[1].value = 31; }, "latency: 31 > max 30"},
      {"alerts unavailable",
       [](Observation& o) {
         o.alerts_ok = false;
         o.alerts_error = "connection refused";
       },
       "alerts unavailable: connection refused"},
  };
  for (const Case& c : cases) {
    Sim sim;
    for (std::int64_t t = 0; t < 60'000; t += 10'000) sim.Run(Green(t));
    Observation o = Green(60'000);
    c.spoil(o);
    auto d = sim.Run(o);
    BOOST_TEST((d["a"].kind == Kind::kHold), c.name);
    BOOST_TEST(d["a"].to == 10, c.name);
    BOOST_TEST(d["a"].reason.find(c.reason) != std::string::npos, c.name << ": " << d["a"].reason);
  }
}

BOOST_AUTO_TEST_CASE(a_tenant_alert_freezes_that_tenant_only_and_it_resumes_after_a_full_soak) {
  Sim sim;
  for (std::int64_t t = 0; t < 60'000; t += 10'000) sim.Run(Green(t));
  Observation o = Green(60'000);
  o.alerts.push_back(Firing("DivergenceDetected", "critical", "a"));
  auto d = sim.Run(o);
  BOOST_TEST((d["a"].kind == Kind::kFreeze));
  BOOST_TEST(d["a"].reason.find("DivergenceDetected{severity=critical,tenant=a} firing") != std::string::npos,
             d["a"].reason);
  BOOST_TEST((d["a"].alerts == std::vector<std::string>{"DivergenceDetected{severity=critical,tenant=a}"}));
  BOOST_TEST((d["b"].kind == Kind::kAdvance));
  for (std::int64_t t = 70'000; t <= 150'000; t += 10'000) {
    o = Green(t);
    o.alerts.push_back(Firing("DivergenceDetected", "critical", "a"));
    d = sim.Run(o);
    BOOST_TEST((d["a"].kind == Kind::kFreeze));
  }
  // Cleared at 160 s: a full soak from there.
  for (std::int64_t t = 160'000; t < 220'000; t += 10'000) {
    d = sim.Run(Green(t));
    BOOST_TEST((d["a"].kind == Kind::kSoak), "t=" << t);
    BOOST_TEST(sim.pct["a"] == 10);
  }
  d = sim.Run(Green(220'000));
  BOOST_TEST((d["a"].kind == Kind::kAdvance));
}

BOOST_AUTO_TEST_CASE(which_alerts_freeze) {
  auto decide_a = [](std::vector<Alert> alerts, AlertRule rule = DefaultFreeze()) {
    Sim sim;
    sim.feature.freeze = rule;
    sim.Run(Green(0));
    Observation o = Green(70'000 - 60'000);
    o.alerts = std::move(alerts);
    return sim.Run(o)["a"].kind;
  };
  BOOST_TEST((decide_a({Firing("NotaryLag", "warning")}) == Kind::kFreeze));  // no tenant label: everyone
  BOOST_TEST((decide_a({Firing("CoverageBelow100", "warning", "b")}) == Kind::kSoak));  // other tenant
  Alert pending = Firing("DivergenceDetected", "critical", "a");
  pending.state = "pending";
  BOOST_TEST((decide_a({pending}) == Kind::kSoak));
  Alert silenced = Firing("DivergenceDetected", "critical", "a");
  silenced.silenced = true;
  BOOST_TEST((decide_a({silenced}) == Kind::kSoak));
  BOOST_TEST((decide_a({Firing("SomethingElse", "critical", "a")}) == Kind::kSoak));  // not in names
  BOOST_TEST((decide_a({Firing("SomethingElse", "critical")}, AlertRule{{}, {"critical"}}) == Kind::kFreeze));
  BOOST_TEST((decide_a({Firing("NotaryLag", "warning")}, AlertRule{{}, {"critical"}}) == Kind::kSoak));
}

BOOST_AUTO_TEST_CASE(rollback_on_critical_at_most_once_per_soak) {
  Sim sim;
  sim.feature.rollback = true;
  sim.pct = {{"a", 50}};
  sim.Run(Green(0, {"a"}));
  auto firing = [](std::int64_t t) {
    Observation o = Green(t, {"a"});
    o.alerts.push_back(Firing("DivergenceDetected", "critical", "a"));
    return o;
  };
  auto d = sim.Run(firing(10'000));
  BOOST_TEST((d["a"].kind == Kind::kRollback));
  BOOST_TEST(d["a"].to == 10);
  for (std::int64_t t = 20'000; t < 70'000; t += 10'000) {
    d = sim.Run(firing(t));
    BOOST_TEST((d["a"].kind == Kind::kFreeze), "t=" << t << " " << d["a"].reason);
    BOOST_TEST(sim.pct["a"] == 10);
  }
  d = sim.Run(firing(70'000));
  BOOST_TEST((d["a"].kind == Kind::kRollback));
  BOOST_TEST(d["a"].to == 0);
  // A warning alert freezes but does not roll back.
  Sim w;
  w.feature.rollback = true;
  w.pct = {{"a", 50}};
  w.Run(Green(0, {"a"}));
  Observation o = Green(10'000, {"a"});
  o.alerts.push_back(Firing("CoverageBelow100", "warning", "a"));
  BOOST_TEST((w.Run(o)["a"].kind == Kind::kFreeze));
}

BOOST_AUTO_TEST_CASE(a_run_gap_restarts_the_soak) {
  Sim sim;
  for (std::int64_t t = 0; t <= 20'000; t += 10'000) sim.Run(Green(t));
  auto d = sim.Run(Green(100'000));  // 80 s without a run > max_gap 30 s
  BOOST_TEST((d["a"].kind == Kind::kSoak));
  BOOST_TEST(d["a"].reason.find("soak restarted: no run for 80s") != std::string::npos, d["a"].reason);
  d = sim.Run(Green(130'000));
  BOOST_TEST((d["a"].kind == Kind::kSoak));
  d = sim.Run(Green(160'000));
  BOOST_TEST((d["a"].kind == Kind::kAdvance));
}

BOOST_AUTO_TEST_CASE(restart_mid_soak_keeps_the_step_start) {
  // Two controllers share one journal: the second starts mid-soak (within max_gap).
  Sim first;
  for (std::int64_t t = 0; t <= 40'000; t += 10'000) first.Run(Green(t));
  Sim second;
  second.journal = first.journal;
  auto d = second.Run(Green(50'000));
  BOOST_TEST((d["a"].kind == Kind::kSoak));
  d = second.Run(Green(60'000));
  BOOST_TEST((d["a"].kind == Kind::kAdvance));
  // Losing the journal is safe too: the soak starts again (late, never early).
  Sim amnesiac;
  for (std::int64_t t = 60'000; t < 120'000; t += 10'000) {
    BOOST_TEST((amnesiac.Run(Green(t))["a"].kind == Kind::kSoak));
  }
}

BOOST_AUTO_TEST_CASE(a_percent_changed_outside_restarts_the_step) {
  Sim sim;
  for (std::int64_t t = 0; t <= 50'000; t += 10'000) sim.Run(Green(t));
  sim.pct["a"] = 50;  // someone edited flags.spec
  auto d = sim.Run(Green(60'000));
  BOOST_TEST((d["a"].kind == Kind::kSoak));
  BOOST_TEST(d["a"].reason.find("percent changed outside the controller (10 -> 50)") != std::string::npos);
  BOOST_TEST((d["b"].kind == Kind::kAdvance));
  d = sim.Run(Green(110'000 + 0));
  BOOST_TEST(sim.pct["a"] == 50);
}

BOOST_AUTO_TEST_CASE(global_freeze_changes_nothing) {
  Sim sim;
  for (std::int64_t t = 0; t < 60'000; t += 10'000) sim.Run(Green(t));
  Observation o = Green(60'000);
  o.global_freeze = true;
  o.global_freeze_reason = "freeze file /x exists";
  auto d = sim.Run(o);
  BOOST_TEST((d["a"].kind == Kind::kFreeze));
  BOOST_TEST(d["a"].reason == "global freeze: freeze file /x exists");
  BOOST_TEST(sim.pct["a"] == 10);
}

BOOST_AUTO_TEST_CASE(ladder_positions) {
  // The ladder itself is recommend::NextStep/PreviousStep (tests/unit/recommend).
  Sim sim;
  sim.pct = {{"a", 0}};
  sim.Run(Green(0, {"a"}));
  for (std::int64_t t = 10'000; t < 60'000; t += 10'000) sim.Run(Green(t, {"a"}));
  BOOST_TEST(sim.Run(Green(60'000, {"a"}))["a"].to == 10);
}

BOOST_AUTO_TEST_CASE(tenant_filter_full_match) {
  Feature f = MakeFeature();
  f.allow = {"tenant-0.*"};
  f.deny = {"tenant-007"};
  TenantFilter filter(f);
  BOOST_TEST(filter.Selected("tenant-001"));
  BOOST_TEST(!filter.Selected("tenant-007"));
  BOOST_TEST(!filter.Selected("xtenant-001"));
  BOOST_TEST(!filter.Selected("tenant-100"));
}

BOOST_AUTO_TEST_CASE(records_only_changes_of_state) {
  Sim sim;
  for (std::int64_t t = 0; t < 50'000; t += 10'000) sim.Run(Green(t));
  // First run: one line per pair (first seen) + run lines; then only run lines.
  std::size_t decision_lines = 0;
  std::size_t pos = 0;
  while ((pos = sim.journal.find("\"decision\":\"soak\"", pos)) != std::string::npos) {
    ++decision_lines;
    ++pos;
  }
  BOOST_TEST(decision_lines == 2u);
}

}  // namespace
}  // namespace provledger::ramp
