#include "report/day.hh"

#include <bit>
#include <cmath>

namespace provledger::report {

namespace {
constexpr std::uint32_t kSub = 128;   // buckets per power of two (and exact below)
}

std::uint32_t LatencySketch::Bucket(std::uint64_t us) {
  if (us < kSub) return static_cast<std::uint32_t>(us);
  const int shift = std::bit_width(us) - 8;   // us >> shift in [128, 255]
  return kSub + static_cast<std::uint32_t>(shift) * kSub + static_cast<std::uint32_t>((us >> shift) - kSub);
}

std::uint64_t LatencySketch::UpperEnd(std::uint32_t bucket) {
  if (bucket < kSub) return bucket;
  const std::uint32_t shift = (bucket - kSub) / kSub;
  const std::uint64_t mantissa = kSub + (bucket - kSub) % kSub;
  return ((mantissa + 1) << shift) - 1;
}

void LatencySketch::Add(Micros us) {
  if (us < 0) return;
  const std::uint32_t b = Bucket(static_cast<std::uint64_t>(us));
  if (b >= buckets_.size()) buckets_.resize(std::size_t{b} + 1, 0);
  ++buckets_[b];
  ++count_;
}

std::optional<double> LatencySketch::Quantile(double q) const {
  if (count_ == 0) return std::nullopt;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  std::uint64_t seen = 0;
  for (std::uint32_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (buckets_[b] != 0 && seen >= rank) return static_cast<double>(UpperEnd(b)) / 1000.0;
  }
  // Unreachable (rank <= count_); the last bucket, which is never empty.
  return static_cast<double>(UpperEnd(static_cast<std::uint32_t>(buckets_.size() - 1))) / 1000.0;
}

void DayAggregator::OnSettled(const std::string& tenant, std::string_view kind, Micros start,
                              compute::Outcome outcome) {
  if (!InDay(start)) return;
  auto& kinds = tenants_[tenant].kinds;
  auto it = kinds.find(kind);
  if (it == kinds.end()) it = kinds.emplace(std::string(kind), Outcomes{}).first;
  Outcomes& o = it->second;
  switch (outcome) {
    case compute::Outcome::kAttested:
      ++o.attested;
      break;
    case compute::Outcome::kDivergent:
      ++o.divergent;
      break;
    case compute::Outcome::kMissing:
      ++o.missing;
      break;
  }
}

void DayAggregator::OnAnchored(const std::string& tenant, Micros anchored_at, Micros latency_us) {
  if (!InDay(anchored_at)) return;
  tenants_[tenant].latency.Add(latency_us);
}

void DayAggregator::OnReceiptDivergence(const std::string& tenant, Micros created) {
  if (!InDay(created)) return;
  ++tenants_[tenant].cross_ledger_divergence;
}

}  // namespace provledger::report
