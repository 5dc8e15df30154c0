// libFuzzer target: the config loader (YAML -> validated Config) on any bytes.
// Contract checked: it returns a Config or throws ConfigError whose problems
// all name the file; nothing else escapes, nothing crashes, memory stays
// bounded (libFuzzer's -rss_limit_mb).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/load.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Each input is parsed once; the length's lowest bit picks whether the
  // HTTP server can listen on IPv6 (only the listen address check reads it),
  // so both modes are covered across the corpus at half the cost per input
  // (a long run of 10 M executions needs it: yaml-cpp under ASan is slow).
  const bool ipv6 = (size & 1U) == 0;
  try {
    provledger::config::ParseConfig(text, "f.yml", {.ipv6_listen = ipv6});
  } catch (const provledger::config::ConfigError& e) {
    for (const std::string& p : e.problems()) {
      if (p.rfind("f.yml:", 0) != 0) __builtin_trap();
    }
  }
  return 0;
}
