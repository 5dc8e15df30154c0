// One UTC day's raw numbers, gathered from the Engine's settlement events
// (compute::EngineListener): outcomes per tenant and operation kind for the
// operations whose (earliest) span started in [day_start, day_end), the
// cross-ledger divergences whose later copy was created in the day, and the
// anchor latency of the receipts anchored in the day. Memory: per tenant x
// kind counters and per tenant a latency sketch of at most a few thousand
// buckets; nothing per operation. Pure. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compute/engine.hh"
#include "core/rows.hh"

namespace provledger::report {

struct Outcomes {
  std::uint64_t attested = 0;
  std::uint64_t divergent = 0;
  std::uint64_t missing = 0;
  std::uint64_t operations() const { return attested + divergent + missing; }
  Outcomes& operator+=(const Outcomes& o) {
    attested += o.attested;
    divergent += o.divergent;
    missing += o.missing;
    return *this;
  }
  bool operator==(const Outcomes&) const = default;
};

// Latency quantiles in bounded memory: microsecond values below 128 are
// exact; above, each power of two is split into 128 buckets, so a reported
// quantile (the bucket's upper end) is at most 1/128 (0.8 %) above the
// true value. Quantile q: the nearest rank, the smallest value v with
// count(<= v) >= ceil(q * count).
class LatencySketch {
 public:
  void Add(Micros us);
  std::uint64_t count() const { return count_; }
  // Milliseconds; nullopt when empty.
  std::optional<double> Quantile(double q) const;

 private:
  static std::uint32_t Bucket(std::uint64_t us);
  static std::uint64_t UpperEnd(std::uint32_t bucket);
  // Count per bucket, indexed by bucket, grown to the largest bucket seen (a
  // few thousand at most): one add per anchored receipt is an increment, not
  // a tree insert (it was ~5 % of the report's CPU as a std::map).
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
};

struct TenantDay {
  // kind (span name, "" = unnamed) -> outcomes; transparent, so a lookup by
  // string_view builds no string.
  std::map<std::string, Outcomes, std::less<>> kinds;
  std::uint64_t cross_ledger_divergence = 0;
  LatencySketch latency;
};

class DayAggregator final : public compute::EngineListener {
 public:
  DayAggregator(Micros day_start, Micros day_end) : start_(day_start), end_(day_end) {}

  void OnSettled(const std::string& tenant, std::string_view kind, Micros start,
                 compute::Outcome outcome) override;
  void OnAnchored(const std::string& tenant, Micros anchored_at, Micros latency_us) override;
  void OnReceiptDivergence(const std::string& tenant, Micros created) override;

  const std::map<std::string, TenantDay>& tenants() const { return tenants_; }
  bool InDay(Micros t) const { return t >= start_ && t < end_; }

 private:
  Micros start_, end_;
  std::map<std::string, TenantDay> tenants_;
};

}  // namespace provledger::report
