// libFuzzer target: the exporter-toolkit web config loader (--web.config.file)
// on any bytes. Contract checked: it returns a WebConfig or throws
// config::ConfigError whose every problem names the file (w.yml: or
// w.yml:LINE:COLUMN:); nothing else escapes, nothing hangs (yaml-cpp's LoadAll
// never returned on "," before the loader read exactly one document), and the
// result is deterministic. No file is read: certificate paths are only names
// here (they are opened by BuildTlsContext, not by the parser).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/load.hh"
#include "http/web_config.hh"

namespace {

std::vector<std::string> Outcome(const std::string& text) {
  try {
    const provledger::http::WebConfig cfg = provledger::http::ParseWebConfig(text, "w.yml");
    std::vector<std::string> out = {"ok", cfg.tls ? "tls" : "plain"};
    for (const auto& [user, hash] : cfg.basic_auth_users) out.push_back(user + "=" + hash);
    for (const auto& [name, value] : cfg.headers) out.push_back(name + ":" + value);
    return out;
  } catch (const provledger::config::ConfigError& e) {
    if (e.problems().empty()) __builtin_trap();
    for (const std::string& p : e.problems()) {
      if (p.rfind("w.yml:", 0) != 0) __builtin_trap();
    }
    return e.problems();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (Outcome(text) != Outcome(text)) __builtin_trap();
  return 0;
}
