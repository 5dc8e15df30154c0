// config::Recommend (the `recommend:` section, validated by the loader) ->
// recommend::Thresholds. Header-only so src/recommend stays dependency-free.
#pragma once

#include <cstdint>

#include "config/config.hh"
#include "recommend/recommend.hh"

namespace provledger::recommend {

inline Thresholds ThresholdsFromConfig(const config::Recommend& c) {
  Thresholds t;
  t.advance_min_coverage_pct = c.advance_min_coverage_pct;
  t.min_operations = static_cast<std::uint64_t>(c.min_operations < 0 ? 0 : c.min_operations);
  t.rollback_below_coverage_pct = c.rollback_below_coverage_pct;
  t.rollback_drop_points = c.rollback_drop_points;
  t.rollback_on_new_divergence = c.rollback_on_new_divergence;
  t.steps = c.steps;
  return t;
}

}  // namespace provledger::recommend
