// Open-addressing hash map and set keyed by uint64_t, for the engine's
// per-operation state (src/compute/engine.hh), where node-based
// std::unordered_* cost 40-60 B per element (a heap node plus buckets).
//
// Layout: one power-of-two array of slots {key, value} (a set's slot is the
// key alone, 8 B), linear probing from MixKey(key) & (capacity - 1). Key 0
// marks an empty slot, so a real key 0 lives outside the array (a flag plus
// one value). Deletion shifts the following cluster back (no tombstones), so
// lookups never slow down with churn.
// Load: grows (doubles) before the load would pass 3/4, shrinks (halves) when
// it falls under 3/16, so memory follows the number of elements within 2x in
// both directions; the array is freed when the last element goes. Capacity 0
// (no allocation) until the first insert, minimum 16 slots.
// Cost: O(1) expected per operation; a resize is O(capacity), amortized.
// Pointers returned by find/try_emplace are valid until the next insert or
// erase (either may move every element). Keys should already be well spread
// (they are 64-bit hashes here); MixKey spreads them again so the low bits
// used for the index depend on all 64.
// Allocation failure throws std::bad_alloc. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace provledger::compute {

// MurmurHash3's 64-bit finalizer: a bijection, every output bit depends on
// every input bit. Used only for the bucket index, never persisted.
inline std::uint64_t MixKey(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

struct FlatEmptyValue {
  bool operator==(const FlatEmptyValue&) const = default;
};

template <class V>
class FlatMap64 {
 public:
  static constexpr std::size_t kMinCapacity = 16;

  std::size_t size() const { return count_ + (zero_present_ ? 1 : 0); }
  bool empty() const { return size() == 0; }
  // Slots in the array (0 before the first insert).
  std::size_t capacity() const { return slots_.size(); }
  // Heap bytes held (the slot array).
  std::size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

  V* find(std::uint64_t key) {
    if (key == 0) return zero_present_ ? &zero_value_ : nullptr;
    if (slots_.empty()) return nullptr;
    for (std::size_t i = Home(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == 0) return nullptr;
    }
  }
  const V* find(std::uint64_t key) const { return const_cast<FlatMap64*>(this)->find(key); }
  bool contains(std::uint64_t key) const { return find(key) != nullptr; }

  // Inserts (key, value) unless key is present. Returns the stored value and
  // whether it was inserted (an existing value is left unchanged).
  std::pair<V*, bool> try_emplace(std::uint64_t key, const V& value) {
    if (key == 0) {
      if (zero_present_) return {&zero_value_, false};
      zero_present_ = true;
      zero_value_ = value;
      return {&zero_value_, true};
    }
    if (V* v = find(key)) return {v, false};
    if ((count_ + 1) * 4 > slots_.size() * 3) Rehash(slots_.empty() ? kMinCapacity : slots_.size() * 2);
    std::size_t i = Home(key);
    while (slots_[i].key != 0) i = (i + 1) & mask_;
    slots_[i].key = key;
    slots_[i].value = value;
    ++count_;
    return {&slots_[i].value, true};
  }

  // Removes key; false when it was not there.
  bool erase(std::uint64_t key) {
    if (key == 0) {
      if (!zero_present_) return false;
      zero_present_ = false;
      zero_value_ = V{};
      return true;
    }
    if (slots_.empty()) return false;
    std::size_t hole = Home(key);
    while (slots_[hole].key != key) {
      if (slots_[hole].key == 0) return false;
      hole = (hole + 1) & mask_;
    }
    // Backward shift: move each following element of the cluster into the
    // hole when the hole lies on its probe path (between its home and it).
    for (std::size_t j = (hole + 1) & mask_; slots_[j].key != 0; j = (j + 1) & mask_) {
      const std::size_t home = Home(slots_[j].key);
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --count_;
    if (count_ == 0) {
      Release();
    } else if (slots_.size() > kMinCapacity && count_ * 16 < slots_.size() * 3) {
      Rehash(slots_.size() / 2);
    }
    return true;
  }

  void clear() {
    Release();
    zero_present_ = false;
    zero_value_ = V{};
  }

  // Calls f(key, value) for every element, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    if (zero_present_) f(std::uint64_t{0}, zero_value_);
    for (const Slot& s : slots_) {
      if (s.key != 0) f(s.key, s.value);
    }
  }

 private:
  struct Slot {
    std::uint64_t key = 0;
    [[no_unique_address]] V value{};
  };

  std::size_t Home(std::uint64_t key) const { return static_cast<std::size_t>(MixKey(key)) & mask_; }

  void Release() {
    std::vector<Slot>().swap(slots_);
    mask_ = 0;
    count_ = 0;
  }

  void Rehash(std::size_t capacity) {   // capacity: a power of two > count_ * 4 / 3
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    for (const Slot& s : old) {
      if (s.key == 0) continue;
      std::size_t i = Home(s.key);
      while (slots_[i].key != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;   // keys in slots_ (not counting key 0)
  bool zero_present_ = false;
  V zero_value_{};
};

// A set of uint64_t: 8 B per slot.
class FlatSet64 {
 public:
  std::size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  std::size_t capacity() const { return map_.capacity(); }
  std::size_t memory_bytes() const { return map_.memory_bytes(); }
  bool contains(std::uint64_t key) const { return map_.contains(key); }
  // True when inserted, false when already present.
  bool insert(std::uint64_t key) { return map_.try_emplace(key, FlatEmptyValue{}).second; }
  bool erase(std::uint64_t key) { return map_.erase(key); }
  void clear() { map_.clear(); }
  template <class F>
  void for_each(F&& f) const {
    map_.for_each([&](std::uint64_t k, const FlatEmptyValue&) { f(k); });
  }

 private:
  FlatMap64<FlatEmptyValue> map_;
};

}  // namespace provledger::compute
