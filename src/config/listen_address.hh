// The one rule for a listen address "[HOST]:PORT" (web.listen_address and
// --web.listen-address), shared by the config loader (so --config.check
// refuses exactly what the start refuses) and the HTTP server.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace provledger::config {

struct ListenAddress {
  std::string host;   // "" = all IPv4 interfaces; "127.0.0.1"; "::1" (ipv6, without brackets)
  bool ipv6 = false;
  int port = 0;       // 0..65535
};

// HOST is empty, "localhost" (-> 127.0.0.1), an IPv4 literal, or an IPv6
// literal in brackets ("[::1]"); PORT is 0..65535. Host names other than
// localhost are refused (the server binds literals only). `ipv6_available`
// is whether the HTTP server can listen on IPv6 (Debian's CivetWeb cannot).
// nullopt with the reason in *why (no address text in it) otherwise.
std::optional<ListenAddress> ParseListenAddress(std::string_view address, bool ipv6_available,
                                                std::string* why);

}  // namespace provledger::config
