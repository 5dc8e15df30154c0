// The plan loader: defaults, every validation rule with its exact position,
// the shipped example plan, and docs/ramp.md naming every key.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/load.hh"
#include "ramp/plan.hh"

namespace provledger::ramp {
namespace {

// Lines 1-4: the required keys. A case's own text starts at line 5.
const std::string kBase =
    "prometheus: {url: \"http://127.0.0.1:9090/\"}\n"
    "flags_file: /tmp/flags.spec\n"
    "journal: /tmp/journal.jsonl\n"
    "features: [{name: new_checkout}]\n";

std::vector<std::string> ProblemsOf(const std::string& yaml) {
  try {
    ParsePlan(yaml, "p.yml");
  } catch (const config::ConfigError& e) {
    return e.problems();
  }
  BOOST_ERROR("plan accepted but should be rejected:\n" << yaml);
  return {};
}

void ExpectProblem(const std::string& yaml, const std::string& prefix, const std::string& fragment) {
  auto problems = ProblemsOf(yaml);
  bool found = false;
  for (const auto& p : problems) found = found || (p.rfind(prefix, 0) == 0 && p.find(fragment) != std::string::npos);
  std::string all;
  for (const auto& p : problems) all += "\n  " + p;
  BOOST_TEST(found, "expected a problem starting with \"" << prefix << "\" containing \"" << fragment
                                                          << "\"; got:" << all);
}

BOOST_AUTO_TEST_CASE(minimal_plan_takes_the_shipped_defaults) {
  Plan p = ParsePlan(kBase, "p.yml");
  BOOST_TEST(p.prometheus_url == "http://127.0.0.1:9090");  // trailing slash dropped
  BOOST_TEST(p.prometheus_timeout_ms == 10000);
  BOOST_TEST(p.max_age_ms == 120000);
  BOOST_TEST(p.interval_ms == 60000);
  BOOST_TEST(p.max_gap_ms == 180000);
  BOOST_TEST(p.freshness_query == DefaultFreshnessQuery());
  BOOST_REQUIRE(p.features.size() == 1u);
  const Feature& f = p.features[0];
  BOOST_TEST(f.name == "new_checkout");
  BOOST_TEST((f.steps == std::vector<double>{10, 50, 100}));
  BOOST_TEST(f.soak_ms == 3600000);
  BOOST_TEST(f.checks.size() == 4u);
  BOOST_TEST(f.checks[0].name == "coverage");
  BOOST_TEST(*f.checks[0].min == 1.0);
  BOOST_TEST(f.checks[1].name == "divergence");
  BOOST_TEST(*f.checks[1].max == 0.0);
  BOOST_TEST(f.checks[2].name == "anchor_latency_p95_ms");
  BOOST_TEST(*f.checks[2].max == 30.0);
  BOOST_TEST((f.checks[2].scope == Check::Scope::kGlobal));
  BOOST_TEST(f.checks[3].name == "notary_lag_seconds");
  BOOST_TEST(*f.checks[3].max == 60.0);
  BOOST_TEST(f.freeze.names.size() == 4u);
  BOOST_TEST(!f.rollback);
  BOOST_TEST((f.rollback_on.severities == std::vector<std::string>{"critical"}));
}

BOOST_AUTO_TEST_CASE(defaults_apply_and_features_override) {
  Plan p = ParsePlan(
      "prometheus: {url: http://p:9090, timeout: 3s, max_age: 30s}\n"
      "flags_file: f\njournal: j\ninterval: 5s\n"
      "defaults:\n"
      "  steps: [5, 25, 100]\n"
      "  soak: 20s\n"
      "  tenants: {allow: [\"tenant-0.*\"], deny: [tenant-007]}\n"
      "  checks: [{name: c, query: up, min: 1}]\n"
      "  rollback: true\n"
      "features:\n"
      "  - name: a\n"
      "  - name: b\n"
      "    soak: 1m\n"
      "    steps: [50, 100]\n"
      "    checks: [{name: d, query: 'sum by (tenant) (x)', max: 0.5, scope: tenant}]\n"
      "    freeze_alerts: {names: [X], severities: [critical]}\n",
      "p.yml");
  BOOST_TEST(p.interval_ms == 5000);
  BOOST_TEST(p.max_gap_ms == 15000);
  BOOST_TEST(p.prometheus_timeout_ms == 3000);
  BOOST_TEST(p.max_age_ms == 30000);
  BOOST_REQUIRE(p.features.size() == 2u);
  BOOST_TEST((p.features[0].steps == std::vector<double>{5, 25, 100}));
  BOOST_TEST(p.features[0].soak_ms == 20000);
  BOOST_TEST(p.features[0].allow.size() == 1u);
  BOOST_TEST(p.features[0].deny.size() == 1u);
  BOOST_TEST(p.features[0].checks.size() == 1u);
  BOOST_TEST(p.features[0].rollback);
  BOOST_TEST((p.features[1].steps == std::vector<double>{50, 100}));
  BOOST_TEST(p.features[1].soak_ms == 60000);
  BOOST_TEST(p.features[1].checks[0].name == "d");
  BOOST_TEST(!p.features[1].checks[0].min.has_value());
  BOOST_TEST(*p.features[1].checks[0].max == 0.5);
  BOOST_TEST((p.features[1].freeze.names == std::vector<std::string>{"X"}));
  BOOST_TEST(p.features[1].rollback);  // inherited
}

BOOST_AUTO_TEST_CASE(every_problem_with_its_position) {
  ExpectProblem("", "p.yml:1:1: ", "plan is empty");
  ExpectProblem("features: [\n", "p.yml:2:1: ", "YAML syntax error");
  // yaml-cpp's LoadAll never returned on these (found by fuzz_ramp_plan): the
  // plan is read like the config, one bounded document.
  ExpectProblem(",-$h,", "p.yml:1:1: ", "only one YAML document");
  ExpectProblem(",", "p.yml:1:1: ", "only one YAML document");
  ExpectProblem("--- {}\n--- {}\n", "p.yml:2:1: ", "only one YAML document");
  ExpectProblem("flags_file: f\njournal: j\nfeatures: [{name: a}]\n", "p.yml:1:1: ",
                "missing required key \"prometheus\"");
  ExpectProblem(kBase + "intervall: 5s\n", "p.yml:5:1: ", "unknown key \"intervall\" at top level; did you mean \"interval\"?");
  ExpectProblem(kBase + "interval: 5\n", "p.yml:5:11: ", "duration needs a unit");
  ExpectProblem(kBase + "interval: 500ms\n", "p.yml:5:11: ", "interval: must be at least 1s");
  ExpectProblem("prometheus: {url: ftp://x}\nflags_file: f\njournal: j\nfeatures: [{name: a}]\n", "p.yml:1:19: ",
                "prometheus.url: expected an http:// or https:// URL");
  ExpectProblem(kBase + "defaults: {steps: [10, 10, 100]}\n", "p.yml:5:24: ",
                "defaults.steps[1]: steps must be strictly increasing, got 10");
  ExpectProblem(kBase + "defaults: {steps: [10, 150]}\n", "p.yml:5:24: ",
                "a step must be greater than 0 and at most 100, got 150");
  ExpectProblem(kBase + "defaults: {steps: [\"10\"]}\n", "p.yml:5:20: ", "defaults.steps[0]: expected a number");
  ExpectProblem(kBase + "defaults: {steps: []}\n", "p.yml:5:19: ", "expected a non-empty list");
  ExpectProblem(kBase + "defaults:\n  checks:\n    - {name: c, query: up}\n", "p.yml:7:7: ",
                "defaults.checks[0]: needs a threshold");
  ExpectProblem(kBase + "defaults:\n  checks:\n    - {name: c, query: up, min: 2, max: 1}\n", "p.yml:7:41: ",
                "max is below min");
  ExpectProblem(kBase + "defaults:\n  checks:\n    - {name: c, query: up, min: 1, scope: region}\n", "p.yml:7:43: ",
                "expected tenant or global");
  ExpectProblem(kBase + "defaults:\n  checks:\n    - {name: c, query: '', min: 1}\n", "p.yml:7:24: ",
                "query: must not be empty");
  ExpectProblem(kBase + "defaults:\n  checks:\n    - {name: c, query: up, min: one}\n", "p.yml:7:33: ",
                "min: expected a number");
  ExpectProblem(kBase + "defaults:\n  checks:\n    - {name: c, query: up, min: 1}\n    - {name: c, query: x, min: 1}\n",
                "p.yml:8:14: ", "duplicate check name \"c\"");
  ExpectProblem(kBase + "defaults: {checks: []}\n", "p.yml:4:12: ", "no SLO checks");
  ExpectProblem(kBase + "defaults: {tenants: {allow: [\"(\"]}}\n", "p.yml:5:30: ", "invalid regular expression");
  ExpectProblem(kBase + "defaults: {rollback: yes}\n", "p.yml:5:22: ", "expected true or false");
  ExpectProblem(kBase + "defaults: {freeze_alerts: {names: [1, [x]]}}\n", "p.yml:5:39: ",
                "expected a non-empty string");
  ExpectProblem("prometheus: {url: http://p}\nflags_file: f\njournal: j\nfeatures: [{name: a}, {name: a}]\n",
                "p.yml:4:30: ", "feature \"a\" is already planned above");
  ExpectProblem("prometheus: {url: http://p}\nflags_file: f\njournal: j\nfeatures: []\n", "p.yml:4:11: ",
                "expected a non-empty list of features");
  ExpectProblem("prometheus: {url: http://p}\nflags_file: f\njournal: j\nfeatures: [{soak: 1m}]\n", "p.yml:4:12: ",
                "missing required key \"name\"");
  ExpectProblem("prometheus: {url: http://p}\nflags_file: ''\njournal: j\nfeatures: [{name: a}]\n", "p.yml:2:13: ",
                "flags_file: must not be empty");
}

BOOST_AUTO_TEST_CASE(all_problems_at_once_sorted) {
  auto problems = ProblemsOf(kBase + "interval: x\nmax_gap: 5\nbogus: 1\n");
  BOOST_REQUIRE(problems.size() == 3u);
  BOOST_TEST(problems[0].rfind("p.yml:5:", 0) == 0);
  BOOST_TEST(problems[1].rfind("p.yml:6:", 0) == 0);
  BOOST_TEST(problems[2].rfind("p.yml:7:", 0) == 0);
}

BOOST_AUTO_TEST_CASE(missing_file_is_a_clear_error) {
  try {
    LoadPlan("/nonexistent/plan.yml");
    BOOST_ERROR("accepted a missing file");
  } catch (const config::ConfigError& e) {
    BOOST_TEST(e.problems().at(0).find("/nonexistent/plan.yml: cannot read plan file") == 0u);
  }
}

std::string ReadFile(const char* env) {
  const char* path = std::getenv(env);
  BOOST_REQUIRE_MESSAGE(path != nullptr, env << " not set");
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

BOOST_AUTO_TEST_CASE(example_plan_is_valid_and_docs_name_every_key) {
  const char* example = std::getenv("PROVLEDGER_RAMP_EXAMPLE");
  BOOST_REQUIRE(example != nullptr);
  Plan p = LoadPlan(example);
  BOOST_TEST(!p.features.empty());
  const std::string doc = ReadFile("PROVLEDGER_RAMP_DOC");
  const std::string ex = ReadFile("PROVLEDGER_RAMP_EXAMPLE");
  for (const std::string& key : KnownPlanKeys()) {
    BOOST_TEST(doc.find("`" + key + "`") != std::string::npos, "docs/ramp.md does not document `" << key << "`");
    const std::string leaf = key.substr(key.find_last_of(".]") == std::string::npos ? 0 : key.find_last_of(".]") + 1);
    BOOST_TEST(ex.find(leaf + ":") != std::string::npos, "config/ramp.example.yml does not show " << key);
  }
}

}  // namespace
}  // namespace provledger::ramp
