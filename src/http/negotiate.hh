// Content-coding negotiation for the telemetry endpoint. Pure.
#pragma once

#include <string_view>

namespace provledger::http {

// True when an Accept-Encoding header value allows gzip (RFC 9110 12.5.3):
// an entry "gzip" (or "x-gzip") with q > 0, or, when gzip is not listed, an
// entry "*" with q > 0. Codings are case-insensitive; "gzip;q=0" refuses
// gzip; an entry with a malformed q-value is ignored. An empty or absent
// header means identity only (false).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace provledger::http
