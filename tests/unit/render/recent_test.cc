// Recent activity for the landing page (render/recent.hh): last-hour deltas of
// the divergence and missing counters, 5-minute latency quantiles, baselines,
// resets, and the memory bound.
#include <boost/test/unit_test.hpp>

#include "render/recent.hh"

namespace provledger::render {
namespace {

constexpr std::int64_t kMin = 60LL * 1000000;
constexpr std::int64_t kT0 = 1700000000LL * 1000000;

compute::Snapshot Snap(std::int64_t now, std::uint64_t div, std::uint64_t missing) {
  compute::Snapshot s;
  s.now = now;
  s.divergence["acme"] = div;
  s.settled["acme"].missing = missing;
  s.settled["acme"].attested = 100;
  return s;
}

BOOST_AUTO_TEST_CASE(histogram_quantile_interpolates_like_prometheus) {
  const std::vector<double> b = {10, 20, 30};
  // 100 observations: 50 <= 10, 40 in (10, 20], 10 in (20, 30].
  BOOST_TEST(*HistogramQuantile(0.5, b, {50, 40, 10}, 100) == 10.0);
  BOOST_TEST(*HistogramQuantile(0.95, b, {50, 40, 10}, 100) == 25.0);
  BOOST_TEST(*HistogramQuantile(0.25, b, {50, 40, 10}, 100) == 5.0);  // first bucket from 0
  // 10 observations above the last bound: a rank there gives the last bound.
  BOOST_TEST(*HistogramQuantile(0.99, b, {50, 40, 0}, 100) == 30.0);
  BOOST_TEST(!HistogramQuantile(0.5, b, {0, 0, 0}, 0));
  BOOST_TEST(!HistogramQuantile(1.5, b, {1, 0, 0}, 1));
}

BOOST_AUTO_TEST_CASE(first_observation_is_the_baseline) {
  RecentTracker tr;
  // Restored state: 7 divergences and 3 missing from before; none is recent.
  Recent r = tr.Observe(Snap(kT0, 7, 3));
  BOOST_TEST(r.tenants.at("acme").divergence == 0u);
  BOOST_TEST(r.tenants.at("acme").missing == 0u);
  r = tr.Observe(Snap(kT0 + 2 * kMin, 9, 3));
  BOOST_TEST(r.tenants.at("acme").divergence == 2u);
  BOOST_TEST(r.hour_since == kT0);  // less than an hour of history: since the start
}

BOOST_AUTO_TEST_CASE(an_hour_later_the_old_increase_drops_out) {
  RecentTracker tr;
  tr.Observe(Snap(kT0, 0, 0));
  tr.Observe(Snap(kT0 + 10 * kMin, 1, 4));  // divergence + missing at minute 10
  Recent r = tr.Observe(Snap(kT0 + 69 * kMin, 1, 4));
  BOOST_TEST(r.tenants.at("acme").divergence == 1u);
  BOOST_TEST(r.tenants.at("acme").missing == 4u);
  r = tr.Observe(Snap(kT0 + 71 * kMin, 1, 4));  // minute 10 is more than an hour ago
  BOOST_TEST(r.tenants.at("acme").divergence == 0u);
  BOOST_TEST(r.tenants.at("acme").missing == 0u);
  BOOST_TEST(r.hour_since == kT0 + 11 * kMin);
}

BOOST_AUTO_TEST_CASE(new_tenant_counts_from_zero_and_reset_counts_from_zero) {
  RecentTracker tr;
  compute::Snapshot s0;
  s0.now = kT0;
  tr.Observe(s0);
  Recent r = tr.Observe(Snap(kT0 + kMin, 2, 1));  // a tenant first seen now
  BOOST_TEST(r.tenants.at("acme").divergence == 2u);
  BOOST_TEST(r.tenants.at("acme").missing == 1u);
  r = tr.Observe(Snap(kT0 + 3 * kMin, 1, 0));  // counters restarted below the baseline
  BOOST_TEST(r.tenants.at("acme").divergence == 1u);
  BOOST_TEST(r.tenants.at("acme").missing == 0u);
}

BOOST_AUTO_TEST_CASE(latency_over_the_last_five_minutes_per_region_and_tenant) {
  RecentTracker tr;
  compute::Snapshot s;
  s.now = kT0;
  s.latency_bounds_ms = {10, 20, 30, 50};
  s.anchor_latency[{"eu", "acme"}] = {{100, 0, 0, 0}, 100, 500};  // old, fast
  s.anchor_latency[{"eu", "beta"}] = {{0, 0, 0, 0}, 0, 0};
  tr.Observe(s);
  s.now = kT0 + 2 * kMin;
  s.anchor_latency[{"eu", "acme"}] = {{100, 0, 0, 20}, 120, 1500};  // 20 new, all in (30, 50]
  s.anchor_latency[{"eu", "beta"}] = {{20, 0, 0, 0}, 20, 100};      // 20 new, fast
  Recent r = tr.Observe(s);
  BOOST_TEST(r.regions.at("eu").anchored == 40u);
  BOOST_TEST(*r.tenants.at("acme").latency_p95_ms == 49.0);  // rank 19 of 20 in (30, 50]: 30 + 20 * 19/20
  BOOST_TEST(*r.tenants.at("beta").latency_p95_ms == 9.5);
  BOOST_TEST(*r.regions.at("eu").latency_p50_ms == 10.0);
  BOOST_TEST(*r.regions.at("eu").latency_p95_ms > 30.0);
  // Six minutes later with nothing new: no latency in the window.
  s.now = kT0 + 9 * kMin;
  r = tr.Observe(s);
  BOOST_TEST(r.regions.at("eu").anchored == 0u);
  BOOST_TEST(!r.regions.at("eu").latency_p95_ms);
  BOOST_TEST(!r.tenants.at("acme").latency_p95_ms);
}

BOOST_AUTO_TEST_CASE(memory_is_bounded_by_the_resolution) {
  RecentTracker tr;
  // A counter that changes every 5 s for three hours keeps at most ~62 points.
  for (int i = 0; i < 3 * 720; ++i) tr.Observe(Snap(kT0 + i * 5LL * 1000000, static_cast<std::uint64_t>(i), 0));
  BOOST_TEST(tr.points() <= 62u);
  BOOST_TEST(tr.points() >= 59u);
}

}  // namespace
}  // namespace provledger::render
