#define BOOST_TEST_MODULE state
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <climits>
#include <iterator>
#include <unistd.h>

#include "state/state_file.hh"

using namespace provledger;

namespace {
constexpr Micros kNow = 1800000000000000;

compute::PersistentState Sample() {
  compute::PersistentState st;
  st.saved_at = 1800000000000000;
  st.window_end = 1799999000000000;
  st.anchored_cursors["eu"] = {1799999100000123, "r-\"quoted\""};
  st.settled["tenant-1"] = {10, 2, 1};
  st.divergence["tenant-1"] = 3;
  st.latency_bounds_ms = {5, 10};
  st.anchor_latency[{"eu-west", "tenant-1"}] = {{1, 2}, 4, 37.5};
  st.counted_receipt_divergences = {{0xffffffffffffffffULL, 1799999000000001}};
  st.tenants_dropped = 7;
  return st;
}
}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_keeps_every_field) {
  const auto st = Sample();
  const auto back = state::DecodeState(state::EncodeState(st));
  BOOST_TEST(back.window_end == st.window_end);
  BOOST_TEST((back.anchored_cursors.at("eu") == st.anchored_cursors.at("eu")));
  BOOST_TEST(back.anchored_cursors.at("eu").id == "r-\"quoted\"");
  BOOST_TEST(back.settled.at("tenant-1").missing == 2u);
  BOOST_TEST(back.divergence.at("tenant-1") == 3u);
  BOOST_TEST(back.anchor_latency.at({"eu-west", "tenant-1"}).sum == 37.5);
  BOOST_TEST(back.counted_receipt_divergences[0].first == 0xffffffffffffffffULL);
  BOOST_TEST(back.tenants_dropped == 7u);
}

BOOST_AUTO_TEST_CASE(corrupt_or_foreign_state_is_an_error_not_a_crash) {
  BOOST_CHECK_THROW(state::DecodeState("{not json"), std::runtime_error);
  BOOST_CHECK_THROW(state::DecodeState("{}"), std::runtime_error);
  BOOST_CHECK_THROW(state::DecodeState("[1,2]"), std::runtime_error);
  auto text = state::EncodeState(Sample());
  BOOST_CHECK_THROW(state::DecodeState(text.substr(0, text.size() / 2)), std::runtime_error);
  auto v2 = text;
  v2.replace(v2.find("\"version\":1"), 11, "\"version\":9");
  BOOST_CHECK_THROW(state::DecodeState(v2), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(atomic_write_then_read) {
  const auto dir = std::filesystem::temp_directory_path() / ("provledger-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "state.json").string();
  BOOST_TEST(!state::ReadStateFile(path, kNow).has_value());
  state::WriteStateFile(path, Sample());
  BOOST_TEST(!std::filesystem::exists(path + ".tmp"));
  auto got = state::ReadStateFile(path, kNow);
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got->settled.at("tenant-1").attested == 10u);
  { std::ofstream(path) << "garbage"; }
  BOOST_CHECK_THROW(state::ReadStateFile(path, kNow), std::runtime_error);
  BOOST_CHECK_THROW(state::WriteStateFile((dir / "missing" / "state.json").string(), Sample()), std::runtime_error);
  std::filesystem::remove_all(dir);
}

namespace {

std::string Dir(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   (std::string("provledger-state-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The problem PlausibilityProblem finds after `change` is applied to Sample().
template <class F>
std::string ProblemAfter(F change) {
  auto st = Sample();
  change(st);
  return state::PlausibilityProblem(st, kNow);
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

// Issue 9 item 5: a symlink planted at <state_file>.tmp was followed and the
// file it pointed to overwritten.
BOOST_AUTO_TEST_CASE(writer_never_follows_a_planted_temp_path) {
  const std::string dir = Dir("symlink");
  const std::string path = dir + "/state.json";
  const std::string victim = dir + "/victim";
  { std::ofstream(victim) << "precious"; }
  std::filesystem::create_symlink(victim, path + ".tmp");
  state::WriteStateFile(path, Sample());
  BOOST_TEST(Slurp(victim) == "precious");
  BOOST_TEST(std::filesystem::is_symlink(path + ".tmp"));
  BOOST_TEST(!std::filesystem::is_symlink(path));
  BOOST_TEST(state::ReadStateFile(path, kNow).has_value());
  // A second write replaces the file; no temp file is left behind.
  state::WriteStateFile(path, Sample());
  std::size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  BOOST_TEST(entries == 3u);   // state.json, the planted symlink, victim
  const bool mode_0600 = (std::filesystem::status(path).permissions() & std::filesystem::perms::all) ==
                        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  BOOST_TEST(mode_0600);
  std::filesystem::remove_all(dir);
}

// Issue 9 item 6: window_end_us = INT64_MAX was accepted and written back,
// and every poll failed from then on.
BOOST_AUTO_TEST_CASE(implausible_values_make_the_file_unusable) {
  BOOST_TEST(ProblemAfter([](auto&) {}) == "");
  BOOST_TEST(ProblemAfter([](auto& st) { st.window_end = kMinMicros; }) == "");   // nothing settled yet
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.window_end = INT64_MAX; }), "window_end_us"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.window_end = kNow + 86400000001LL; }), "window_end_us"));
  BOOST_TEST(ProblemAfter([](auto& st) { st.window_end = kNow + 86400000000LL; }) == "");
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.window_end = kNow - state::kMaxStatePastUs - 1; }),
                      "window_end_us"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.window_end = INT64_MIN; }), "window_end_us"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.saved_at = 0; }), "saved_at_us"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.anchored_cursors["eu"].ts = INT64_MAX; }), "ts_us"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.anchored_cursors["eu"].id = std::string(5000, 'x'); }), ".id"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.settled["t"].missing = (1ULL << 53) + 1; }), "2^53"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.divergence["t"] = UINT64_MAX; }), "2^53"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.settled["a\xe2\x80\xae" "b"] = {1, 0, 0}; }),
                      "bidirectional"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.anchor_latency[{"eu-west", "tenant-1"}].count = 2; }),
                      "more than its count"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.anchor_latency[{"eu-west", "tenant-1"}].sum = -1; }),
                      "sum"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.latency_bounds_ms = {10, 5}; }), "increasing"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.counted_receipt_divergences[0].second = 1; }),
                      "counted_receipt_divergences"));
  BOOST_TEST(Contains(ProblemAfter([](auto& st) { st.dropped_tenants = {1, 2, 3, 4, 5, 6, 7, 8}; }),
                      "tenants_dropped"));

  // Through the file: the exact case of the issue.
  const std::string dir = Dir("implausible");
  const std::string path = dir + "/state.json";
  auto st = Sample();
  st.window_end = INT64_MAX;
  { std::ofstream(path) << state::EncodeState(st); }
  try {
    state::ReadStateFile(path, kNow);
    BOOST_ERROR("implausible state accepted");
  } catch (const state::UnusableState& e) {
    BOOST_TEST(Contains(e.what(), path + ": implausible value: window_end_us 9223372036854775807"), e.what());
  }
  // Set aside beside the original, not overwritten by the next write.
  std::string why;
  BOOST_TEST(state::SetAsideUnusable(path, &why) == path + ".unusable");
  BOOST_TEST(!std::filesystem::exists(path));
  BOOST_TEST(Contains(Slurp(path + ".unusable"), "9223372036854775807"));
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(negative_counters_are_refused_not_wrapped) {
  auto text = state::EncodeState(Sample());
  const std::string ten = "\"attested\":10";
  text.replace(text.find(ten), ten.size(), "\"attested\":-1");
  try {
    state::DecodeState(text);
    BOOST_ERROR("negative counter accepted");
  } catch (const state::UnusableState& e) {
    BOOST_TEST(Contains(e.what(), "settled must be a non-negative integer"), e.what());
  }
}

// Issue 9 item 8: garbage bytes of a state file were echoed to the log.
BOOST_AUTO_TEST_CASE(garbage_is_never_echoed_raw) {
  const std::string dir = Dir("garbage");
  const std::string path = dir + "/state.json";
  for (const std::string& garbage : {std::string("\xff\xfe\x1b[2J\x80garbage"), std::string("{\"version\":\xc3\x28}"),
                                     std::string("{\"version\":1,\"saved_at_us\":\"\xe2\x80\xae\"}")}) {
    { std::ofstream(path, std::ios::binary | std::ios::trunc) << garbage; }
    try {
      state::ReadStateFile(path, kNow);
      BOOST_ERROR("garbage accepted");
    } catch (const state::UnusableState& e) {
      const std::string w = e.what();
      BOOST_TEST(std::all_of(w.begin(), w.end(), [](char c) { return c >= 0x20 && c < 0x7f; }), w);
    }
  }
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(file_cursors_round_trip_and_old_files_load) {
  auto st = Sample();
  FileCursors fc;
  fc.read = {0xfffffffffffffff0ULL, 0x8000000000000001ULL, 123456789012ULL, 1799999000000000};
  fc.replay = {{1, 2, 0, kMinMicros}, {1, 2, 4096, 1799998000000000}};
  st.file_cursors["otel"] = fc;
  const std::string text = state::EncodeState(st);
  const auto back = state::DecodeState(text);
  BOOST_TEST((back.file_cursors.at("otel") == fc), "dev/ino beyond 2^53 survive (decimal strings)");
  // A state file written before the otlp_file store (no file_cursors) loads.
  const std::string old = state::EncodeState(Sample());
  BOOST_TEST(old.find("file_cursors") == std::string::npos);
  BOOST_TEST(state::DecodeState(old).file_cursors.empty());
  // A mangled file cursor is an error, not a silent 0.
  std::string bad = text;
  const auto at = bad.find("\"ino\":\"");
  BOOST_REQUIRE(at != std::string::npos);
  bad.replace(at, 7, "\"ino\":\"x");
  BOOST_CHECK_THROW(state::DecodeState(bad), state::UnusableState);
}
