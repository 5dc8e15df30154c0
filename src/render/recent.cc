#include "render/recent.hh"

#include <algorithm>
#include <cmath>

namespace provledger::render {

std::optional<double> HistogramQuantile(double q, const std::vector<double>& bounds,
                                        const std::vector<std::uint64_t>& buckets, std::uint64_t count) {
  if (count == 0 || !(q >= 0 && q <= 1) || bounds.empty()) return std::nullopt;
  const double rank = q * static_cast<double>(count);
  double below = 0;  // observations in the buckets before this one
  for (std::size_t i = 0; i < bounds.size() && i < buckets.size(); ++i) {
    const double in = static_cast<double>(buckets[i]);
    if (below + in >= rank && in > 0) {
      const double lower = i == 0 ? 0.0 : bounds[i - 1];
      const double lo = std::min(lower, bounds[i]);
      return lo + (bounds[i] - lo) * ((rank - below) / in);
    }
    below += in;
  }
  return bounds.back();  // the rank is in the +Inf bucket
}

std::vector<std::uint64_t> CounterWindow::Observe(const std::string& key, std::int64_t now, std::int64_t first_us,
                                                  const std::vector<std::uint64_t>& values) {
  auto& pts = points_[key];
  if (pts.empty()) {
    if (now > first_us) pts.push_back({first_us, std::vector<std::uint64_t>(values.size(), 0)});
    pts.push_back({now, values});
  } else if (pts.back().v != values && now - pts.back().t >= resolution_us_) {
    pts.push_back({now, values});
  }
  // Baseline: newest point at or before now - horizon, else the oldest.
  const std::int64_t edge = now - horizon_us_;
  while (pts.size() >= 2 && pts[1].t <= edge) pts.pop_front();
  const auto& base = pts.front().v;
  std::vector<std::uint64_t> out(values.size(), 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::uint64_t b = i < base.size() ? base[i] : 0;
    out[i] = values[i] >= b ? values[i] - b : values[i];
  }
  return out;
}

std::int64_t CounterWindow::Since(const std::string& key) const {
  const auto it = points_.find(key);
  return it == points_.end() || it->second.empty() ? 0 : it->second.front().t;
}

std::size_t CounterWindow::points() const {
  std::size_t n = 0;
  for (const auto& [k, p] : points_) n += p.size();
  return n;
}

RecentTracker::RecentTracker() : hour_(kHourUs, kResolutionUs), latency_(kLatencyUs, kResolutionUs) {}

namespace {

// Histogram as one counter vector: buckets..., count.
std::vector<std::uint64_t> Flatten(const compute::HistogramData& h, std::size_t nbounds) {
  std::vector<std::uint64_t> v(nbounds + 1, 0);
  for (std::size_t i = 0; i < nbounds && i < h.bucket_counts.size(); ++i) v[i] = h.bucket_counts[i];
  v[nbounds] = h.count;
  return v;
}

void Add(std::vector<std::uint64_t>& into, const std::vector<std::uint64_t>& v) {
  for (std::size_t i = 0; i < into.size() && i < v.size(); ++i) into[i] += v[i];
}

}  // namespace

Recent RecentTracker::Observe(const compute::Snapshot& s) {
  const std::int64_t now = s.now;
  if (!observed_) {
    observed_ = true;
    first_us_ = now;
  }
  Recent r;
  r.hour_since = std::max(first_us_, now - kHourUs);
  r.latency_since = std::max(first_us_, now - kLatencyUs);

  std::map<std::string, std::vector<std::uint64_t>> counters;  // tenant -> {divergence, missing}
  for (const auto& [t, n] : s.divergence) {
    auto& v = counters[t];
    v.resize(2, 0);
    v[0] = n;
  }
  for (const auto& [t, c] : s.settled) {
    auto& v = counters[t];
    v.resize(2, 0);
    v[1] = c.missing;
  }
  for (const auto& [t, v] : counters) {
    const auto d = hour_.Observe(t, now, first_us_, v);
    auto& tr = r.tenants[t];
    tr.divergence = d[0];
    tr.missing = d[1];
  }

  // Latency: deltas per (region, tenant) series, summed per region and per tenant.
  const std::size_t nb = s.latency_bounds_ms.size();
  std::map<std::string, std::vector<std::uint64_t>> by_region;
  std::map<std::string, std::vector<std::uint64_t>> by_tenant;
  for (const auto& [key, h] : s.anchor_latency) {
    std::string k = key.first;
    k.push_back('\0');  // neither a region nor a tenant name holds NUL
    k += key.second;
    const auto d = latency_.Observe(k, now, first_us_, Flatten(h, nb));
    auto& reg = by_region[key.first];
    if (reg.empty()) reg.assign(nb + 1, 0);
    Add(reg, d);
    if (!key.second.empty()) {
      auto& ten = by_tenant[key.second];
      if (ten.empty()) ten.assign(nb + 1, 0);
      Add(ten, d);
    }
  }
  auto quantile = [&](double q, const std::vector<std::uint64_t>& d) {
    const std::vector<std::uint64_t> buckets(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(nb));
    return HistogramQuantile(q, s.latency_bounds_ms, buckets, d[nb]);
  };
  for (const auto& [region, d] : by_region) {
    auto& rr = r.regions[region];
    rr.anchored = d[nb];
    rr.latency_p50_ms = quantile(0.5, d);
    rr.latency_p95_ms = quantile(0.95, d);
  }
  for (const auto& [tenant, d] : by_tenant) r.tenants[tenant].latency_p95_ms = quantile(0.95, d);
  return r;
}

}  // namespace provledger::render
