#include "config/listen_address.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace provledger::config {

std::optional<ListenAddress> ParseListenAddress(std::string_view address, bool ipv6_available,
                                                std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<ListenAddress> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  if (address.find_first_of(", \t\r\n") != std::string_view::npos) return fail("must be a single [host]:port");
  ListenAddress out;
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const std::size_t close = address.find("]:");
    if (close == std::string_view::npos) return fail("IPv6 host must be written as [addr]:port");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    out.ipv6 = true;
  } else {
    const std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return fail("must be [host]:port, e.g. \":23473\" or \"127.0.0.1:23473\"");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail("IPv6 host must be written in brackets, e.g. \"[::1]:23473\"");
    }
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return fail("port must be a number from 0 to 65535");
  }
  std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (out.port > 65535) return fail("port must be a number from 0 to 65535");
  const std::string h(host);
  if (out.ipv6) {
    in6_addr a6{};
    if (inet_pton(AF_INET6, h.c_str(), &a6) != 1) return fail("invalid IPv6 host");
    if (!ipv6_available) {
      return fail("IPv6 addresses are not supported by this build's HTTP server (Debian's CivetWeb is built "
                  "without IPv6)");
    }
    out.host = h;
    return out;
  }
  if (host == "localhost") {
    out.host = "127.0.0.1";
    return out;
  }
  in_addr a4{};
  if (!host.empty() && inet_pton(AF_INET, h.c_str(), &a4) != 1) {
    return fail("host must be empty (all IPv4 interfaces), localhost, an IPv4 address or a bracketed IPv6 address");
  }
  out.host = h;
  return out;
}

}  // namespace provledger::config
