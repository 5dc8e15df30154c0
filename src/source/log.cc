#include "source/log.hh"

#include <spdlog/spdlog.h>

namespace provledger::source {

LogFn SpdlogLogFn() {
  return [](LogLevel level, std::string_view message, const LogFields& fields) {
    std::string line(message);
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += "=\"";
      for (char c : v) {   // logfmt-style quoting
        if (c == '"' || c == '\\') {
          line += '\\';
          line += c;
        } else if (c == '\n') {
          line += "\\n";
        } else {
          line += c;
        }
      }
      line += '"';
    }
    switch (level) {
      case LogLevel::kDebug: spdlog::debug("{}", line); break;
      case LogLevel::kInfo: spdlog::info("{}", line); break;
      case LogLevel::kWarn: spdlog::warn("{}", line); break;
      case LogLevel::kError: spdlog::error("{}", line); break;
    }
  };
}

}  // namespace provledger::source
