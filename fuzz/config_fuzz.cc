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
  for (bool ipv6 : {true, false}) {
    try {
      provledger::config::ParseConfig(text, "f.yml", {.ipv6_listen = ipv6});
    } catch (const provledger::config::ConfigError& e) {
      for (const std::string& p : e.problems()) {
        if (p.rfind("f.yml:", 0) != 0) __builtin_trap();
      }
    }
  }
  return 0;
}
