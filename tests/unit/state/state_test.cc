#define BOOST_TEST_MODULE state
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "state/state_file.hh"

using namespace provledger;

namespace {
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
  BOOST_TEST(!state::ReadStateFile(path).has_value());
  state::WriteStateFile(path, Sample());
  BOOST_TEST(!std::filesystem::exists(path + ".tmp"));
  auto got = state::ReadStateFile(path);
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got->settled.at("tenant-1").attested == 10u);
  { std::ofstream(path) << "garbage"; }
  BOOST_CHECK_THROW(state::ReadStateFile(path), std::runtime_error);
  BOOST_CHECK_THROW(state::WriteStateFile((dir / "missing" / "state.json").string(), Sample()), std::runtime_error);
  std::filesystem::remove_all(dir);
}
