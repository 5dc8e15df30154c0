// The one ramp recommendation rule (src/recommend): every branch, its order,
// the exact reasons, steps and number formatting.
#define BOOST_TEST_MODULE recommend
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "recommend/recommend.hh"

namespace provledger::recommend {

std::ostream& operator<<(std::ostream& os, Decision d) { return os << DecisionName(d); }

namespace {

Inputs Healthy(double pct) {
  Inputs in;
  in.coverage_pct = 99.8;
  in.operations = 1000;
  in.divergence = 0;
  in.previous_coverage_pct = 99.9;
  in.previous_divergence = 0;
  in.current_pct = pct;
  return in;
}

std::vector<std::string> Codes(const Recommendation& r) {
  std::vector<std::string> out;
  for (const Reason& x : r.reasons) out.push_back(x.code);
  return out;
}

using V = std::vector<std::string>;

BOOST_AUTO_TEST_CASE(healthy_advances_one_step) {
  Thresholds t;
  Recommendation r = Recommend(Healthy(10), t);
  BOOST_TEST(DecisionName(r.decision) == std::string("advance"));
  BOOST_TEST(r.from_pct == 10.0);
  BOOST_TEST(r.to_pct == 50.0);
  BOOST_TEST(Codes(r) == (V{"coverage_ok", "no_divergence"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "coverage 99.8% >= 99.5%");
  BOOST_TEST(Recommend(Healthy(50), t).to_pct == 100.0);
  BOOST_TEST(Recommend(Healthy(0), t).to_pct == 10.0);
  // Off-step percent: the next step above it.
  BOOST_TEST(Recommend(Healthy(25), t).to_pct == 50.0);
}

BOOST_AUTO_TEST_CASE(advance_threshold_is_inclusive) {
  Thresholds t;
  Inputs in = Healthy(10);
  in.coverage_pct = 99.5;
  BOOST_TEST(Recommend(in, t).decision == Decision::kAdvance);
  in.coverage_pct = 99.49;
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(r.to_pct == 10.0);
  BOOST_TEST(Codes(r) == (V{"coverage_below_advance"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "coverage 99.49% < 99.5%");
}

BOOST_AUTO_TEST_CASE(last_step_holds) {
  Recommendation r = Recommend(Healthy(100), Thresholds{});
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(r.to_pct == 100.0);
  BOOST_TEST(Codes(r) == (V{"at_last_step"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "ramp is at 100%, the last step");
}

BOOST_AUTO_TEST_CASE(no_data_and_too_few_operations_hold) {
  Thresholds t;
  Inputs in = Healthy(10);
  in.coverage_pct.reset();
  in.operations = 0;
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(Codes(r) == (V{"no_data"}), boost::test_tools::per_element());

  // Few operations: neither advance nor a coverage-based rollback.
  in = Healthy(50);
  in.operations = 99;
  in.coverage_pct = 50;   // far below the floor and a big drop, but only 99 operations
  r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(Codes(r) == (V{"too_few_operations", "coverage_below_advance"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "99 operations < 100");
  in.operations = 100;
  BOOST_TEST(Recommend(in, t).decision == Decision::kRollback);
}

BOOST_AUTO_TEST_CASE(rollback_below_floor) {
  Thresholds t;
  Inputs in = Healthy(50);
  in.previous_coverage_pct = 95.5;
  in.coverage_pct = 94.9;
  Recommendation r = Recommend(in, t);
  BOOST_TEST(DecisionName(r.decision) == std::string("rollback"));
  BOOST_TEST(r.to_pct == 10.0);
  BOOST_TEST(Codes(r) == (V{"coverage_below_floor"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "coverage 94.9% < 95%");
  in.coverage_pct = 95;   // at the floor: not below; the drop of 0.5 is within 2
  r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  t.rollback_below_coverage_pct = 0;   // disabled
  in.coverage_pct = 1;
  in.previous_coverage_pct.reset();
  BOOST_TEST(Recommend(in, t).decision == Decision::kHold);
}

BOOST_AUTO_TEST_CASE(rollback_on_drop) {
  Thresholds t;
  Inputs in = Healthy(100);
  in.previous_coverage_pct = 99.9;
  in.coverage_pct = 97.8;   // 2.1 points
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kRollback);
  BOOST_TEST(r.to_pct == 50.0);
  BOOST_TEST(Codes(r) == (V{"coverage_drop"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "coverage fell 2.1 points (99.9% -> 97.8%), more than 2");
  in.coverage_pct = 97.9;   // exactly 2 points: not more than 2
  BOOST_TEST(Recommend(in, t).decision == Decision::kHold);
  in.coverage_pct = 90;
  in.previous_coverage_pct.reset();   // no previous: only the floor applies
  BOOST_TEST(Codes(Recommend(in, t)) == (V{"coverage_below_floor"}), boost::test_tools::per_element());
  t.rollback_drop_points = -1;   // disabled
  in.previous_coverage_pct = 99.9;
  in.coverage_pct = 96;
  BOOST_TEST(Recommend(in, t).decision == Decision::kHold);
}

BOOST_AUTO_TEST_CASE(divergence) {
  Thresholds t;
  Inputs in = Healthy(50);
  in.divergence = 3;
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kRollback);
  BOOST_TEST(r.to_pct == 10.0);
  BOOST_TEST(Codes(r) == (V{"divergence_appeared"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "3 divergence(s), previous period had none");
  in.previous_divergence.reset();
  BOOST_TEST(Recommend(in, t).reasons[0].text == "3 divergence(s), previous period unknown");
  // Divergence that persists: hold (not appeared).
  in.previous_divergence = 1;
  r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(Codes(r) == (V{"divergence_present"}), boost::test_tools::per_element());
  // Switched off: hold as well.
  t.rollback_on_new_divergence = false;
  in.previous_divergence = 0;
  BOOST_TEST(Recommend(in, t).decision == Decision::kHold);
}

BOOST_AUTO_TEST_CASE(rollback_reasons_are_all_listed_in_order) {
  Thresholds t;
  Inputs in = Healthy(100);
  in.coverage_pct = 80;
  in.divergence = 1;
  in.rollback_requests = {"alert DivergenceDetected critical"};
  in.freezes = {"alert X"};
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kRollback);
  BOOST_TEST(Codes(r) == (V{"coverage_below_floor", "coverage_drop", "divergence_appeared", "rollback_requested"}),
             boost::test_tools::per_element());
  BOOST_TEST(r.reasons[3].text == "alert DivergenceDetected critical");
}

BOOST_AUTO_TEST_CASE(rollback_at_first_step_goes_to_zero_and_at_zero_holds) {
  Thresholds t;
  Inputs in = Healthy(10);
  in.divergence = 1;
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kRollback);
  BOOST_TEST(r.to_pct == 0.0);
  in.current_pct = 0;
  r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(r.to_pct == 0.0);
  BOOST_TEST(Codes(r) == (V{"divergence_appeared", "nothing_to_roll_back"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(freeze_beats_advance_but_not_rollback) {
  Thresholds t;
  Inputs in = Healthy(10);
  in.freezes = {"alert CoverageBelow100 firing for tenant acme"};
  Recommendation r = Recommend(in, t);
  BOOST_TEST(DecisionName(r.decision) == std::string("freeze"));
  BOOST_TEST(r.to_pct == 10.0);
  BOOST_TEST(Codes(r) == (V{"frozen"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "alert CoverageBelow100 firing for tenant acme");
}

BOOST_AUTO_TEST_CASE(checks_must_all_be_green) {
  Thresholds t;
  Inputs in = Healthy(10);
  in.checks = {{"soak", Check::State::kGreen, "30m >= 30m"},
               {"anchor_latency_p95", Check::State::kGreen, ""}};
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kAdvance);
  BOOST_TEST(Codes(r) == (V{"coverage_ok", "no_divergence", "check_green", "check_green"}),
             boost::test_tools::per_element());
  BOOST_TEST(r.reasons[2].text == "soak: 30m >= 30m");
  BOOST_TEST(r.reasons[3].text == "anchor_latency_p95");
  in.checks[1] = {"anchor_latency_p95", Check::State::kRed, "42ms > 30ms"};
  in.checks.push_back({"notary_lag", Check::State::kUnknown, "Prometheus unreachable"});
  r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(Codes(r) == (V{"check_red", "check_unknown"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[1].text == "notary_lag: Prometheus unreachable");
}

// Rule 0: a global freeze beats everything, rollbacks included.
BOOST_AUTO_TEST_CASE(global_freeze_beats_rollback) {
  Thresholds t;
  Inputs in = Healthy(50);
  in.coverage_pct = 90;   // below the rollback floor
  in.rollback_requests = {"CriticalAlert firing"};
  in.freezes = {"tenant alert"};
  in.global_freezes = {"freeze file /x exists"};
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kFreeze);
  BOOST_TEST(r.to_pct == 50.0);
  BOOST_TEST(Codes(r) == (V{"global_freeze"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "freeze file /x exists");
}

// A due rollback that the caller blocks freezes, with every rollback reason.
BOOST_AUTO_TEST_CASE(blocked_rollback_freezes) {
  Thresholds t;
  Inputs in = Healthy(50);
  in.rollback_requests = {"A firing"};
  in.rollback_blocked = "already rolled back less than 1h ago";
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kFreeze);
  BOOST_TEST(r.to_pct == 50.0);
  BOOST_TEST(Codes(r) == (V{"rollback_requested", "rollback_blocked"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[1].text == "already rolled back less than 1h ago");
  // Not due: the block alone changes nothing.
  in.rollback_requests.clear();
  BOOST_TEST(Recommend(in, t).decision == Decision::kAdvance);
  // At 0 % nothing to roll back: hold, as without the block.
  in = Healthy(0);
  in.rollback_requests = {"A firing"};
  in.rollback_blocked = "recent";
  BOOST_TEST(Recommend(in, t).decision == Decision::kHold);
}

// coverage_by_checks: the coverage numbers are ignored (no rollback, no hold
// from them); the caller's checks decide.
BOOST_AUTO_TEST_CASE(coverage_by_checks_ignores_the_numbers) {
  Thresholds t;
  Inputs in;
  in.current_pct = 10;
  in.divergence = 7;              // would roll back (appeared) without the flag
  in.coverage_pct = 50;           // would roll back (below floor)
  in.operations = 1000;
  in.coverage_by_checks = true;
  in.checks = {{"coverage", Check::State::kGreen, ""}};
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kAdvance);
  BOOST_TEST(r.to_pct == 50.0);
  BOOST_TEST(Codes(r) == (V{"check_green"}), boost::test_tools::per_element());
  in.coverage_pct.reset();        // no data: not a reason either
  BOOST_TEST(Recommend(in, t).decision == Decision::kAdvance);
  in.checks[0].state = Check::State::kRed;
  r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(Codes(r) == (V{"check_red"}), boost::test_tools::per_element());
  BOOST_TEST(!r.all_green);
}

// kPending blocks an advance; a hold that only waits (pending checks, the
// last step) is all_green, any red or unknown check or coverage reason is not.
BOOST_AUTO_TEST_CASE(pending_checks_hold_all_green) {
  Thresholds t;
  Inputs in = Healthy(10);
  in.checks = {{"slo", Check::State::kGreen, ""}, {"soak", Check::State::kPending, "green for 5s of 60s"}};
  Recommendation r = Recommend(in, t);
  BOOST_TEST(r.decision == Decision::kHold);
  BOOST_TEST(r.to_pct == 10.0);
  BOOST_TEST(Codes(r) == (V{"check_pending"}), boost::test_tools::per_element());
  BOOST_TEST(r.reasons[0].text == "soak: green for 5s of 60s");
  BOOST_TEST(r.all_green);
  in.current_pct = 100;
  r = Recommend(in, t);
  BOOST_TEST(Codes(r) == (V{"check_pending", "at_last_step"}), boost::test_tools::per_element());
  BOOST_TEST(r.all_green);
  in.checks.clear();
  BOOST_TEST(Recommend(in, t).all_green);   // at the last step, everything green
  in.checks = {{"slo", Check::State::kUnknown, ""}, {"soak", Check::State::kPending, ""}};
  BOOST_TEST(!Recommend(in, t).all_green);
  in = Healthy(10);
  in.coverage_pct = 99;           // below advance
  in.checks = {{"soak", Check::State::kPending, ""}};
  BOOST_TEST(!Recommend(in, t).all_green);
  BOOST_TEST(!Recommend(Healthy(10), t).all_green);   // an advance is not a hold
}

BOOST_AUTO_TEST_CASE(steps) {
  const std::vector<double> s = {10, 50, 100};
  BOOST_TEST(*NextStep(0, s) == 10.0);
  BOOST_TEST(*NextStep(10, s) == 50.0);
  BOOST_TEST(*NextStep(99.9, s) == 100.0);
  BOOST_TEST(!NextStep(100, s).has_value());
  BOOST_TEST(PreviousStep(100, s) == 50.0);
  BOOST_TEST(PreviousStep(50, s) == 10.0);
  BOOST_TEST(PreviousStep(30, s) == 10.0);
  BOOST_TEST(PreviousStep(10, s) == 0.0);
  BOOST_TEST(PreviousStep(5, s) == 0.0);
  Thresholds t;
  t.steps = {25, 100};
  BOOST_TEST(Recommend(Healthy(25), t).to_pct == 100.0);
}

BOOST_AUTO_TEST_CASE(validate) {
  BOOST_TEST(Validate(Thresholds{}) == "");
  Thresholds t;
  t.rollback_below_coverage_pct = 99.6;
  BOOST_TEST(Validate(t) == "rollback_below_coverage_pct (99.6) must not exceed advance_min_coverage_pct (99.5)");
  t = Thresholds{};
  t.steps = {};
  BOOST_TEST(Validate(t) == "steps must list at least one percent");
  t.steps = {50, 10};
  BOOST_TEST(Validate(t) == "steps must be strictly increasing");
  t.steps = {10, 101};
  BOOST_TEST(Validate(t) == "steps must be within (0, 100], got 101");
  t = Thresholds{};
  t.advance_min_coverage_pct = 100.5;
  BOOST_TEST(Validate(t) == "advance_min_coverage_pct must be within 0..100");
}

BOOST_AUTO_TEST_CASE(format_number) {
  BOOST_TEST(FormatNumber(99.5) == "99.5");
  BOOST_TEST(FormatNumber(100) == "100");
  BOOST_TEST(FormatNumber(0.125) == "0.125");
  BOOST_TEST(FormatNumber(2.0999999999) == "2.1");
  BOOST_TEST(FormatNumber(-0.0001) == "0");
  BOOST_TEST(FormatNumber(-2.3) == "-2.3");
  BOOST_TEST(FormatNumber(1.0 / 3.0) == "0.333");
}

}  // namespace
}  // namespace provledger::recommend
