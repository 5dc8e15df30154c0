#include "compute/tenants.hh"

#include <algorithm>

namespace provledger::compute {

namespace {
constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;
// Caches of refused names are bounded so a flood of distinct names cannot
// grow memory without limit; past the bound we simply re-evaluate.
constexpr std::size_t kMaxRefusedCache = 100000;
}  // namespace

std::uint64_t StableHash64(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

std::uint64_t StableHash64(std::string_view s) { return StableHash64(kFnvOffset, s); }

TenantRegistry::TenantRegistry(TenantPolicy policy) : policy_(std::move(policy)) {
  for (const auto& p : policy_.allow) allow_.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
  for (const auto& p : policy_.deny) deny_.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
  if (policy_.shard_total < 1) policy_.shard_total = 1;
}

bool TenantRegistry::Passes(std::string_view name) const {
  if (policy_.shard_total > 1) {
    const auto shard = StableHash64(name) % static_cast<std::uint64_t>(policy_.shard_total);
    if (shard != static_cast<std::uint64_t>(policy_.shard_index)) return false;
  }
  if (!allow_.empty()) {
    bool any = false;
    for (const auto& re : allow_) {
      if (std::regex_match(name.begin(), name.end(), re)) { any = true; break; }
    }
    if (!any) return false;
  }
  for (const auto& re : deny_) {
    if (std::regex_match(name.begin(), name.end(), re)) return false;
  }
  return true;
}

int TenantRegistry::Admit(std::string_view name) {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;   // the hot path: no allocation
  const std::uint64_t fp = StableHash64(name);
  if (filtered_cache_.count(fp) != 0) return kFiltered;
  if (dropped_.count(fp) != 0) return kDropped;
  if (!Passes(name)) {
    if (filtered_cache_.size() < kMaxRefusedCache) filtered_cache_.insert(fp);
    return kFiltered;
  }
  if (static_cast<std::int64_t>(names_.size()) >= policy_.max) {
    // Distinct tenants are counted exactly up to the cache bound; past it every
    // refusal counts (an over-count is visible, a silent stop is not).
    if (dropped_.size() < kMaxRefusedCache) dropped_.insert(fp);
    ++dropped_count_;
    return kDropped;
  }
  const int id = static_cast<int>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(std::string(name), id);
  return id;
}

std::vector<std::uint64_t> TenantRegistry::DroppedFingerprints() const {
  std::vector<std::uint64_t> out(dropped_.begin(), dropped_.end());
  std::sort(out.begin(), out.end());
  return out;
}

void TenantRegistry::ImportDropped(const std::vector<std::uint64_t>& fingerprints, std::uint64_t count) {
  for (auto fp : fingerprints) {
    if (dropped_.size() < kMaxRefusedCache) dropped_.insert(fp);
  }
  dropped_count_ = std::max<std::uint64_t>(count, dropped_.size());
}

}  // namespace provledger::compute
