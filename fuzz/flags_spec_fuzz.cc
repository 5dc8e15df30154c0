// libFuzzer target: flags.spec parsing (ParseFlagsSpec) on any bytes. It
// must never throw; a fatal file has no rows; every error names the file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "source/flags_spec.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto spec = provledger::source::ParseFlagsSpec(text, "flags.spec", 128);
  if (spec.fatal && !spec.rows.empty()) __builtin_trap();
  for (const auto& e : spec.errors) {
    if (e.str().rfind("flags.spec", 0) != 0) __builtin_trap();
  }
  for (const auto& r : spec.rows) {
    if (!(r.pct >= 0 && r.pct <= 100)) __builtin_trap();
  }
  return 0;
}
