// The run-time all-divergent check (app::JudgeDivergence): undecided until
// enough operations settled with a receipt since the engine was built, then
// all-divergent only when none of them was attested.
#include <boost/test/unit_test.hpp>

#include "app/exporter.hh"

using provledger::app::DivergenceVerdict;
using provledger::app::JudgeDivergence;
using provledger::compute::SettledCounts;
using provledger::compute::Snapshot;

namespace {
Snapshot With(std::uint64_t attested, std::uint64_t divergent, std::uint64_t missing) {
  Snapshot s;
  s.settled["acme"] = SettledCounts{attested, missing, divergent};
  s.settled["beta"] = SettledCounts{0, 3, 0};   // missing operations never decide
  return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(all_divergent_verdict) {
  const SettledCounts none{};
  BOOST_TEST((JudgeDivergence(none, With(0, 9, 100), 10) == DivergenceVerdict::kUndecided));
  BOOST_TEST((JudgeDivergence(none, With(0, 10, 0), 10) == DivergenceVerdict::kAllDivergent));
  BOOST_TEST((JudgeDivergence(none, With(1, 9, 0), 10) == DivergenceVerdict::kFine));
  // Counters restored from the state file are the base: only new settlements count.
  const SettledCounts restored{500, 0, 20};
  BOOST_TEST((JudgeDivergence(restored, With(500, 29, 0), 10) == DivergenceVerdict::kUndecided));
  BOOST_TEST((JudgeDivergence(restored, With(500, 30, 0), 10) == DivergenceVerdict::kAllDivergent));
  BOOST_TEST((JudgeDivergence(restored, With(501, 30, 0), 10) == DivergenceVerdict::kFine));
}
