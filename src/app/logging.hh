// spdlog set-up: logfmt or JSON lines on stderr, UTC timestamps, every message
// escaped for its format. Messages are written as "text key=value ..." by the
// callers; the formatter quotes or escapes the whole text.
#pragma once

#include <string>

namespace provledger::app {

void SetupLogging(const std::string& level, const std::string& format);

}  // namespace provledger::app
