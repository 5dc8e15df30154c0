// The sd_notify protocol without libsystemd: one datagram to the AF_UNIX
// socket named by $NOTIFY_SOCKET (a leading '@' means the abstract
// namespace). A no-op when the variable is unset (containers, manual runs).
#pragma once

#include <string>

namespace provledger::app {

// Returns true when the message was sent, false when NOTIFY_SOCKET is unset;
// on a send error returns false and fills *error.
bool SdNotify(const std::string& message, std::string* error = nullptr);

}  // namespace provledger::app
