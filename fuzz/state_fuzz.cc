// libFuzzer target: the state file (DecodeState + PlausibilityProblem) on any
// bytes. It returns a state or throws UnusableState with a printable message;
// a state it accepts and finds plausible encodes and decodes to itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "state/state_file.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace provledger;
  const std::string text(reinterpret_cast<const char*>(data), size);
  compute::PersistentState st;
  try {
    st = state::DecodeState(text);
  } catch (const state::UnusableState& e) {
    for (const char* p = e.what(); *p != '\0'; ++p) {
      if (static_cast<unsigned char>(*p) < 0x20 || static_cast<unsigned char>(*p) >= 0x7f) __builtin_trap();
    }
    return 0;
  }
  constexpr Micros kNow = 1800000000000000;
  if (!state::PlausibilityProblem(st, kNow).empty()) return 0;
  const auto again = state::DecodeState(state::EncodeState(st));
  if (again.window_end != st.window_end || again.settled.size() != st.settled.size() ||
      again.tenants_dropped != st.tenants_dropped || again.anchored_cursors != st.anchored_cursors) {
    __builtin_trap();
  }
  return 0;
}
