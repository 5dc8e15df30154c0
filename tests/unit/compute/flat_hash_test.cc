// FlatMap64 / FlatSet64 (src/compute/flat_hash.hh) against std::unordered_*,
// and SettledWindow (src/compute/settled_window.hh) against a sorted model.
#define BOOST_TEST_MODULE compute_flat
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "compute/flat_hash.hh"
#include "compute/settled_window.hh"

using namespace provledger;
using namespace provledger::compute;

namespace {

std::unordered_set<std::uint64_t> Contents(const FlatSet64& s) {
  std::unordered_set<std::uint64_t> out;
  s.for_each([&](std::uint64_t k) { BOOST_TEST(out.insert(k).second); });
  return out;
}

// Keys whose bucket index (capacity `cap`) is `home`: a forced cluster.
std::vector<std::uint64_t> KeysWithHome(std::size_t home, std::size_t cap, std::size_t n, std::uint64_t from = 1) {
  std::vector<std::uint64_t> keys;
  for (std::uint64_t k = from; keys.size() < n; ++k) {
    if ((MixKey(k) & (cap - 1)) == home) keys.push_back(k);
  }
  return keys;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flat_hash)

BOOST_AUTO_TEST_CASE(a_set_slot_is_the_key_alone) {
  FlatSet64 s;
  s.insert(7);
  BOOST_TEST(s.capacity() == FlatMap64<FlatEmptyValue>::kMinCapacity);
  BOOST_TEST(s.memory_bytes() == s.capacity() * sizeof(std::uint64_t));
}

BOOST_AUTO_TEST_CASE(mix_is_murmur3_fmix64) {
  // Reference values of MurmurHash3's fmix64.
  BOOST_TEST(MixKey(0) == 0u);
  BOOST_TEST(MixKey(1) == 0xb456bcfc34c2cb2cULL);
  BOOST_TEST(MixKey(0x9e3779b97f4a7c15ULL) == 0x9ca066f1a4ab2eeaULL);
}

BOOST_AUTO_TEST_CASE(random_operations_match_unordered_set) {
  std::mt19937_64 rng(20261128);
  FlatSet64 s;
  std::unordered_set<std::uint64_t> ref;
  // Small key universe so that inserts hit existing keys and erases hit
  // present ones; includes 0 and keys that share low bits.
  std::vector<std::uint64_t> universe = {0, 1, 2, UINT64_MAX, 1ULL << 63};
  for (int i = 0; i < 3000; ++i) universe.push_back(rng());
  for (int i = 0; i < 1000; ++i) universe.push_back(static_cast<std::uint64_t>(i) << 40);
  for (int step = 0; step < 400000; ++step) {
    const std::uint64_t k = universe[rng() % universe.size()];
    // Phases: mostly inserts, then mostly erases, so the table grows and shrinks.
    const int phase = (step / 50000) % 2;
    const bool insert = (rng() % 100) < (phase == 0 ? 70u : 30u);
    if (insert) {
      BOOST_TEST_REQUIRE(s.insert(k) == ref.insert(k).second);
    } else if (rng() % 4 == 0) {
      BOOST_TEST_REQUIRE(s.contains(k) == (ref.count(k) != 0));
    } else {
      BOOST_TEST_REQUIRE(s.erase(k) == (ref.erase(k) != 0));
    }
    BOOST_TEST_REQUIRE(s.size() == ref.size());
    if (step % 10007 == 0) BOOST_TEST_REQUIRE((Contents(s) == ref));
  }
  BOOST_TEST((Contents(s) == ref));
  for (std::uint64_t k : universe) BOOST_TEST_REQUIRE(s.contains(k) == (ref.count(k) != 0));
}

BOOST_AUTO_TEST_CASE(map_values_follow_their_keys_through_resizes) {
  std::mt19937_64 rng(7);
  FlatMap64<std::uint64_t> m;
  std::unordered_map<std::uint64_t, std::uint64_t> ref;
  for (int step = 0; step < 200000; ++step) {
    const std::uint64_t k = rng() % 20000;   // includes 0
    if (step < 100000 ? rng() % 3 != 0 : rng() % 3 == 0) {
      const std::uint64_t v = rng();
      auto [p, inserted] = m.try_emplace(k, v);
      auto [it, ref_inserted] = ref.try_emplace(k, v);
      BOOST_TEST_REQUIRE(inserted == ref_inserted);
      BOOST_TEST_REQUIRE(*p == it->second);   // an existing value is kept
      if (rng() % 2 == 0) *p = it->second = rng();   // values are writable in place
    } else {
      BOOST_TEST_REQUIRE(m.erase(k) == (ref.erase(k) != 0));
    }
  }
  BOOST_TEST(m.size() == ref.size());
  std::size_t seen = 0;
  m.for_each([&](std::uint64_t k, std::uint64_t v) {
    ++seen;
    BOOST_TEST_REQUIRE(ref.count(k) == 1u);
    BOOST_TEST_REQUIRE(ref.at(k) == v);
  });
  BOOST_TEST(seen == ref.size());
  for (const auto& [k, v] : ref) {
    BOOST_REQUIRE(m.find(k) != nullptr);
    BOOST_TEST(*m.find(k) == v);
  }
}

BOOST_AUTO_TEST_CASE(grows_below_three_quarters_and_shrinks_with_the_contents) {
  FlatSet64 s;
  BOOST_TEST(s.capacity() == 0u);
  BOOST_TEST(s.memory_bytes() == 0u);
  std::size_t max_cap = 0;
  for (std::uint64_t k = 1; k <= 100000; ++k) {
    s.insert(k * 0x9e3779b97f4a7c15ULL);
    BOOST_TEST_REQUIRE(s.size() * 4 <= s.capacity() * 3);
    BOOST_TEST_REQUIRE((s.capacity() & (s.capacity() - 1)) == 0u);   // power of two
    max_cap = std::max(max_cap, s.capacity());
  }
  BOOST_TEST(max_cap == 262144u);   // 131072 slots hold at most 98304 keys at load 3/4
  for (std::uint64_t k = 1; k <= 99990; ++k) {
    BOOST_TEST_REQUIRE(s.erase(k * 0x9e3779b97f4a7c15ULL));
    // Never emptier than 3/16 once past the minimum: memory follows the contents.
    if (s.capacity() > FlatMap64<FlatEmptyValue>::kMinCapacity) BOOST_TEST_REQUIRE(s.size() * 16 >= s.capacity() * 3);
  }
  BOOST_TEST(s.size() == 10u);
  BOOST_TEST(s.capacity() == 32u);   // 10 keys: 32 slots is above the 3/16 shrink point
  for (std::uint64_t k = 99991; k <= 100000; ++k) BOOST_TEST(s.contains(k * 0x9e3779b97f4a7c15ULL));
  for (std::uint64_t k = 99991; k <= 100000; ++k) BOOST_TEST(s.erase(k * 0x9e3779b97f4a7c15ULL));
  BOOST_TEST(s.capacity() == 0u);   // the array is released
  BOOST_TEST(s.empty());
}

BOOST_AUTO_TEST_CASE(key_zero_is_an_ordinary_key) {
  FlatMap64<int> m;
  BOOST_TEST(m.find(0) == nullptr);
  BOOST_TEST(!m.erase(0));
  BOOST_TEST(m.try_emplace(0, 5).second);
  BOOST_TEST(!m.try_emplace(0, 6).second);
  BOOST_TEST(*m.find(0) == 5);
  BOOST_TEST(m.size() == 1u);
  BOOST_TEST(m.capacity() == 0u);   // key 0 does not use the array
  m.try_emplace(3, 9);
  BOOST_TEST(m.size() == 2u);
  int zeros = 0;
  m.for_each([&](std::uint64_t k, int v) {
    if (k == 0) {
      ++zeros;
      BOOST_TEST(v == 5);
    }
  });
  BOOST_TEST(zeros == 1);
  BOOST_TEST(m.erase(0));
  BOOST_TEST(m.find(0) == nullptr);
  BOOST_TEST(*m.find(3) == 9);
  BOOST_TEST(m.size() == 1u);
  // Erasing the only array key releases the array; key 0 stays.
  m.try_emplace(0, 1);
  BOOST_TEST(m.erase(3));
  BOOST_TEST(m.capacity() == 0u);
  BOOST_TEST(*m.find(0) == 1);
}

BOOST_AUTO_TEST_CASE(erase_inside_a_wrapping_cluster_keeps_every_other_key_reachable) {
  // Fill a 64-slot table (load 0.7) with clusters: 20 keys whose home is slot
  // 60 (the cluster wraps past the end of the array), 12 homed at 2 and 13
  // at 30; then erase them in every order position and check all others.
  const std::size_t cap = 64;
  std::vector<std::uint64_t> keys = KeysWithHome(60, cap, 20);
  for (std::uint64_t k : KeysWithHome(2, cap, 12)) keys.push_back(k);
  for (std::uint64_t k : KeysWithHome(30, cap, 13)) keys.push_back(k);
  std::mt19937_64 rng(99);
  for (int round = 0; round < 50; ++round) {
    FlatSet64 s;
    for (std::uint64_t k : keys) BOOST_TEST_REQUIRE(s.insert(k));
    BOOST_TEST_REQUIRE(s.capacity() == cap);
    std::vector<std::uint64_t> order = keys;
    std::shuffle(order.begin(), order.end(), rng);
    std::unordered_set<std::uint64_t> ref(keys.begin(), keys.end());
    // Stop before the shrink threshold so the layout stays clustered.
    for (std::size_t i = 0; i < 30; ++i) {
      BOOST_TEST_REQUIRE(s.erase(order[i]));
      ref.erase(order[i]);
      BOOST_TEST_REQUIRE(!s.contains(order[i]));
      for (std::uint64_t k : ref) BOOST_TEST_REQUIRE(s.contains(k));
      BOOST_TEST_REQUIRE(s.capacity() == cap);
    }
    // Re-insert into the shifted layout: still found, no duplicates.
    for (std::size_t i = 0; i < 30; ++i) BOOST_TEST_REQUIRE(s.insert(order[i]));
    for (std::uint64_t k : keys) BOOST_TEST_REQUIRE(!s.insert(k));
    BOOST_TEST_REQUIRE(s.size() == keys.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(settled_window)

using Entry = SettledWindow::Entry;

BOOST_AUTO_TEST_CASE(entries_come_out_by_start_with_their_fields) {
  // Model: multimap by start. Starts mostly ascending, with some out of
  // order (late spans), equal starts, huge gaps (> 2^32 µs), negative
  // starts and large tenant ids; pops interleaved.
  std::mt19937_64 rng(5);
  SettledWindow w;
  std::multimap<Micros, Entry> ref;
  Micros t = -5'000'000'000LL;
  std::uint64_t key = 0;   // op key 0 included
  auto pop_and_check = [&] {
    BOOST_TEST_REQUIRE(w.MinStart() == ref.begin()->first);
    const Entry e = w.PopMin();
    BOOST_TEST_REQUIRE(e.start == ref.begin()->first);
    // Among equal starts any order: find the popped one.
    auto [lo, hi] = ref.equal_range(e.start);
    auto it = std::find_if(lo, hi, [&](const auto& p) { return p.second.op_key == e.op_key; });
    BOOST_TEST_REQUIRE((it != hi));
    BOOST_TEST_REQUIRE(it->second.tenant == e.tenant);
    BOOST_TEST_REQUIRE(it->second.with_receipt == e.with_receipt);
    ref.erase(it);
  };
  for (int step = 0; step < 200000; ++step) {
    const auto r = rng() % 1000;
    if (r < 550) {
      Micros start = t;
      if (r < 40) {
        start = t - static_cast<Micros>(rng() % 100000000);   // late
      } else if (r < 45) {
        t += static_cast<Micros>(rng() % (1ULL << 40));        // gap of up to ~12 days
        start = t;
      } else if (r >= 100) {
        t += static_cast<Micros>(rng() % 20000);               // 0 included: equal starts
        start = t;
      }
      int tenant = static_cast<int>(rng() % 200);
      if (r == 99) tenant = INT32_MAX;                          // does not fit the packed tag
      if (r == 98) tenant = INT32_MAX - 1;                      // largest that fits
      const Entry e{start, key++, tenant, rng() % 2 == 0};
      w.Push(e);
      ref.emplace(e.start, e);
    } else if (!ref.empty()) {
      pop_and_check();
    }
    BOOST_TEST_REQUIRE(w.size() == ref.size());
    BOOST_TEST_REQUIRE(w.empty() == ref.empty());
  }
  while (!ref.empty()) pop_and_check();
  BOOST_TEST(w.empty());
  BOOST_TEST(w.late_size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_late_entry_leaves_before_later_starts_already_held) {
  SettledWindow w;
  w.Push({100, 1, 0, false});
  w.Push({200, 2, 1, true});
  w.Push({150, 3, 2, true});   // settled after 200 (a span read late)
  BOOST_TEST(w.late_size() == 1u);
  BOOST_TEST(w.PopMin().op_key == 1u);
  BOOST_TEST(w.MinStart() == 150);
  const auto e = w.PopMin();
  BOOST_TEST(e.op_key == 3u);
  BOOST_TEST(e.tenant == 2);
  BOOST_TEST(e.with_receipt);
  BOOST_TEST(w.PopMin().op_key == 2u);
  BOOST_TEST(w.empty());
}

BOOST_AUTO_TEST_CASE(extreme_starts_and_gaps_are_exact) {
  SettledWindow w;
  const std::vector<Micros> starts = {kMinMicros, kMinMicros + 1, -1, 0, (1LL << 32) - 1, 1LL << 33, kMaxMicros};
  for (std::size_t i = 0; i < starts.size(); ++i) w.Push({starts[i], i, static_cast<int>(i), i % 2 == 1});
  BOOST_TEST(w.late_size() == 0u);   // all in order: packed
  BOOST_TEST(w.size() == starts.size());
  for (std::size_t i = 0; i < starts.size(); ++i) {
    BOOST_TEST_REQUIRE(w.MinStart() == starts[i]);
    const auto e = w.PopMin();
    BOOST_TEST(e.start == starts[i]);
    BOOST_TEST(e.op_key == i);
    BOOST_TEST(e.tenant == static_cast<int>(i));
  }
  BOOST_TEST(w.empty());
}

BOOST_AUTO_TEST_SUITE_END()
