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
  ++buckets_[Bucket(static_cast<std::uint64_t>(us))];
  ++count_;
}

std::optional<double> LatencySketch::Quantile(double q) const {
  if (count_ == 0) return std::nullopt;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  std::uint64_t seen = 0;
  for (const auto& [b, n] : buckets_) {
    seen += n;
    if (seen >= rank) return static_cast<double>(UpperEnd(b)) / 1000.0;
  }
  return static_cast<double>(UpperEnd(buckets_.rbegin()->first)) / 1000.0;
}

void DayAggregator::OnSettled(const std::string& tenant, std::string_view kind, Micros start,
                              compute::Outcome outcome) {
  if (!InDay(start)) return;
  Outcomes& o = tenants_[tenant].kinds[std::string(kind)];
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
