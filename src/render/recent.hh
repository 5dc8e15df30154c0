// Recent activity for the landing page, from the cumulative counters of
// successive snapshots: divergences and missing operations per tenant in the
// last hour, anchor latency quantiles per tenant and region over the last 5
// minutes. Pure (time comes from Snapshot::now); bounded memory.
//
// How a "last N" value is computed: for each key (tenant, region) the tracker
// keeps change points (time, counter values), at most one per `resolution`
// (1 minute) and only when the values changed. The baseline is the newest
// point at or before now - horizon, else the oldest point kept (then the span
// is shorter: "since" says from when). value = current - baseline. So a
// "last hour" figure covers at least the last hour and at most one
// resolution more; points older than the baseline are dropped. The first
// snapshot observed (the restored state, or zeros) is everyone's baseline; a
// tenant or region that appears later starts from zero at that first
// observation. A counter lower than its baseline (counters restarted) counts
// from zero.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compute/snapshot.hh"

namespace provledger::render {

// Prometheus's histogram_quantile over non-cumulative bucket counts with upper
// bounds `bounds` (the +Inf bucket is count - sum(buckets)): the rank q*count
// is located in its bucket and interpolated linearly between the bucket's
// lower bound (0 for the first) and upper bound; a rank in the +Inf bucket
// gives the largest finite bound. nullopt when count is 0 or q is outside
// [0, 1].
std::optional<double> HistogramQuantile(double q, const std::vector<double>& bounds,
                                        const std::vector<std::uint64_t>& buckets, std::uint64_t count);

// Change points of named counter vectors; see the file comment.
class CounterWindow {
 public:
  CounterWindow(std::int64_t horizon_us, std::int64_t resolution_us)
      : horizon_us_(horizon_us), resolution_us_(resolution_us) {}

  // Records `values` for `key` at `now` and returns values - baseline (per
  // element; an element below its baseline counts from zero). `first_us` is
  // the tracker's first observation (a new key's implicit zero point).
  std::vector<std::uint64_t> Observe(const std::string& key, std::int64_t now, std::int64_t first_us,
                                     const std::vector<std::uint64_t>& values);
  // Start of the span the last Observe of `key` covered.
  std::int64_t Since(const std::string& key) const;
  std::size_t points() const;  // for tests: memory bound

 private:
  struct Point {
    std::int64_t t;
    std::vector<std::uint64_t> v;
  };
  std::int64_t horizon_us_;
  std::int64_t resolution_us_;
  std::map<std::string, std::deque<Point>> points_;
};

struct TenantRecent {
  std::uint64_t divergence = 0;             // attest_divergence_count increase, last hour
  std::uint64_t missing = 0;                // settled `missing`, last hour
  std::optional<double> latency_p95_ms;     // anchors observed in the last 5 minutes; none: nullopt
};

struct RegionRecent {
  std::optional<double> latency_p50_ms;     // last 5 minutes, all tenants of the region
  std::optional<double> latency_p95_ms;
  std::uint64_t anchored = 0;               // receipts anchored in the last 5 minutes
};

struct Recent {
  std::int64_t hour_since = 0;              // the 1 h figures cover (hour_since, now]
  std::int64_t latency_since = 0;           // the 5 min figures cover (latency_since, now]
  std::map<std::string, TenantRecent> tenants;
  std::map<std::string, RegionRecent> regions;
};

class RecentTracker {
 public:
  static constexpr std::int64_t kHourUs = 3600LL * 1000000;
  static constexpr std::int64_t kLatencyUs = 300LL * 1000000;
  static constexpr std::int64_t kResolutionUs = 60LL * 1000000;

  RecentTracker();
  Recent Observe(const compute::Snapshot& s);
  std::size_t points() const { return hour_.points() + latency_.points(); }

 private:
  bool observed_ = false;
  std::int64_t first_us_ = 0;
  CounterWindow hour_;
  CounterWindow latency_;
};

}  // namespace provledger::render
