// Which tenants are exported: allow/deny patterns, a stable shard, and a cap.
// Pure; not thread-safe (owned by the Engine, which is used under one lock).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace provledger::compute {

// FNV-1a 64-bit over the bytes. Stable across versions and machines: the
// shard of a tenant is StableHash64(name) % total, so replicas agree.
std::uint64_t StableHash64(std::string_view s);
// Same, continuing from a previous hash (to hash several fields with a separator).
std::uint64_t StableHash64(std::uint64_t seed, std::string_view s);

// Longest accepted allow/deny pattern, bytes.
inline constexpr std::size_t kMaxTenantPatternBytes = 4096;

// The one rule for an allow/deny pattern: RE2 syntax (as Prometheus label
// matchers), matched against the whole name, at most kMaxTenantPatternBytes.
// Returns "" when `pattern` is usable, else why not (one line, no pattern text).
std::string TenantPatternError(std::string_view pattern);

struct TenantPolicy {
  std::int64_t max = 10000;
  std::vector<std::string> allow;   // full-match RE2 patterns (TenantPatternError); empty = all
  std::vector<std::string> deny;
  std::int64_t shard_index = 0;
  std::int64_t shard_total = 1;
  bool operator==(const TenantPolicy&) const = default;
};

// Transparent hashing so lookups by string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class TenantRegistry {
 public:
  static constexpr int kFiltered = -1;   // not ours: allow/deny or another shard
  static constexpr int kDropped = -2;    // ours, but over the cap

  // Throws std::invalid_argument on a bad pattern (the config loader validates
  // first, with the same rule: TenantPatternError).
  explicit TenantRegistry(TenantPolicy policy);
  ~TenantRegistry();
  TenantRegistry(TenantRegistry&&) noexcept;
  TenantRegistry& operator=(TenantRegistry&&) noexcept;

  // Id (>= 0) of an admitted tenant, or kFiltered / kDropped. The first `max`
  // distinct tenants that pass the filters are admitted, for the life of the
  // registry; later ones are dropped and counted once each.
  int Admit(std::string_view name);
  const std::string& Name(int id) const { return names_[static_cast<std::size_t>(id)]; }
  std::size_t size() const { return names_.size(); }
  std::uint64_t dropped() const { return dropped_count_; }
  // Restart bookkeeping: which tenants were refused by the cap, so a restart
  // or reload does not count them again.
  std::vector<std::uint64_t> DroppedFingerprints() const;
  void ImportDropped(const std::vector<std::uint64_t>& fingerprints, std::uint64_t count);

 private:
  bool Passes(std::string_view name) const;

  TenantPolicy policy_;
  struct Patterns;                      // compiled RE2s (RE2 stays out of this header)
  std::unique_ptr<Patterns> patterns_;
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> ids_;
  std::vector<std::string> names_;
  std::unordered_set<std::uint64_t> filtered_cache_;   // fingerprints of filtered names (bounded)
  std::unordered_set<std::uint64_t> dropped_;          // fingerprints of dropped names (bounded)
  std::uint64_t dropped_count_ = 0;
};

}  // namespace provledger::compute
