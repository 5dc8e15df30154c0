#include "compute/tenants.hh"

#include <re2/re2.h>

#include <algorithm>
#include <stdexcept>

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

namespace {

// RE2 compiles without recursion and matches in linear time; its program size
// is bounded by max_mem, so a pattern such as "(a{1000}){1000}" is refused
// instead of taking memory without limit.
RE2::Options PatternOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  return o;
}

}  // namespace

std::string TenantPatternError(std::string_view pattern) {
  if (pattern.size() > kMaxTenantPatternBytes) {
    return "regular expression is " + std::to_string(pattern.size()) + " bytes long; the limit is " +
           std::to_string(kMaxTenantPatternBytes);
  }
  RE2 re(re2::StringPiece(pattern.data(), pattern.size()), PatternOptions());
  if (!re.ok()) {
    // RE2 quotes the offending part of the pattern: keep the message one short line.
    std::string why = re.error();
    if (why.size() > 100) {
      std::size_t n = 100;
      while (n > 0 && (static_cast<unsigned char>(why[n]) & 0xC0) == 0x80) --n;   // a UTF-8 boundary
      why = why.substr(0, n) + "...";
    }
    return "invalid regular expression (RE2 syntax): " + why;
  }
  return "";
}

struct TenantRegistry::Patterns {
  std::vector<std::unique_ptr<RE2>> allow;
  std::vector<std::unique_ptr<RE2>> deny;

  static void Compile(const std::vector<std::string>& in, std::vector<std::unique_ptr<RE2>>& out) {
    for (const auto& p : in) {
      if (std::string why = TenantPatternError(p); !why.empty()) throw std::invalid_argument("tenant pattern: " + why);
      out.push_back(std::make_unique<RE2>(p, PatternOptions()));
    }
  }
  static bool Any(const std::vector<std::unique_ptr<RE2>>& res, std::string_view name) {
    const re2::StringPiece text(name.data(), name.size());
    for (const auto& re : res) {
      if (RE2::FullMatch(text, *re)) return true;
    }
    return false;
  }
};

TenantRegistry::TenantRegistry(TenantPolicy policy)
    : policy_(std::move(policy)), patterns_(std::make_unique<Patterns>()) {
  Patterns::Compile(policy_.allow, patterns_->allow);
  Patterns::Compile(policy_.deny, patterns_->deny);
  if (policy_.shard_total < 1) policy_.shard_total = 1;
}

TenantRegistry::~TenantRegistry() = default;
TenantRegistry::TenantRegistry(TenantRegistry&&) noexcept = default;
TenantRegistry& TenantRegistry::operator=(TenantRegistry&&) noexcept = default;

bool TenantRegistry::Passes(std::string_view name) const {
  if (policy_.shard_total > 1) {
    const auto shard = StableHash64(name) % static_cast<std::uint64_t>(policy_.shard_total);
    if (shard != static_cast<std::uint64_t>(policy_.shard_index)) return false;
  }
  if (!patterns_->allow.empty() && !Patterns::Any(patterns_->allow, name)) return false;
  return !Patterns::Any(patterns_->deny, name);
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
