// HTTP/1.x requests: the incremental parser of the request line, header
// fields and a Content-Length body (RFC 9112), and the response type the
// handlers return with its serialisation. Pure: no sockets, no clock. This is
// the code the HTTP fuzz target drives (fuzz/http_request_fuzz.cc).
//
// What the parser accepts and refuses (each refusal is an HTTP status, and
// the server closes the connection after answering it):
//   request line  METHOD SP request-target SP HTTP/1.x, exactly one space
//                 each; METHOD a token. The target is origin-form
//                 ("/path?query"), absolute-form ("http://host/path?query":
//                 the path is taken from it), or "*" (only with OPTIONS).
//                 Anything else -> 400. "HTTP/1.0" and "HTTP/1.1" (and 1.2..9,
//                 treated as 1.1); any other well-formed version -> 505;
//                 a malformed one -> 400. The answer is always "HTTP/1.1":
//                 the client's token is never echoed.
//   path          percent-decoded once. An invalid escape, or a decoded NUL
//                 or other control character (< 0x20, 0x7f) -> 400: so
//                 "/metrics%00.html" is refused, never served as /metrics.
//   header fields name ":" OWS value OWS, name a token; a line ending in
//                 CRLF (a bare LF is accepted too). Obsolete line folding,
//                 whitespace before the colon, a NUL or a bare CR in a value
//                 -> 400. Request line + fields larger than
//                 RequestLimits::max_header_bytes -> 431; more than
//                 max_header_fields fields -> 431; a request line longer than
//                 max_target_bytes -> 414.
//   Host          required in HTTP/1.1 (RFC 9112 3.2): missing or repeated -> 400.
//   body          Content-Length (one value, or repeats of the same value)
//                 up to max_body_bytes, else 413; a malformed one -> 400.
//                 Transfer-Encoding -> 501 (not supported; not needed by any
//                 route).
//   Upgrade       ignored: the request is answered as plain HTTP/1.1 and the
//                 connection stays HTTP (so a pipelined request after it is
//                 answered too).
//   keep-alive    HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
//                 "Connection: keep-alive".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace provledger::http {

struct RequestLimits {
  std::size_t max_header_bytes = 16 * 1024;  // request line + header fields + blank line
  std::size_t max_target_bytes = 8 * 1024;   // request line
  std::size_t max_header_fields = 100;
  std::size_t max_body_bytes = 1024 * 1024;
};

struct Request {
  std::string method;                 // case-sensitive token, "GET"
  std::string target;                 // as sent: "/metrics?x=1", "http://h/metrics", "*"
  std::string path;                   // percent-decoded path ("/metrics"); "*" for OPTIONS *
  std::string query;                  // raw, without '?'
  int minor_version = 1;              // HTTP/1.<minor>: 0 or 1
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  bool keep_alive = true;

  // The first field with this (lower-case) name.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

enum class ParseState { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  std::size_t consumed = 0;  // bytes of the buffer that made up the request (kComplete)
  int error_status = 0;      // kError: 400, 413, 414, 431, 501 or 505
  std::string error;         // kError: why, for the response body and the debug log
  Request request;           // kComplete
};

// Parses one request from the start of `buffer`. kIncomplete means more bytes
// are needed (and none of the limits is exceeded yet); kComplete gives the
// request and how many bytes it took (pipelined bytes after it stay for the
// next call); kError gives the status to answer before closing.
ParseResult ParseRequest(std::string_view buffer, const RequestLimits& limits = {});

// A response. The body is either owned (`body`) or a view into memory that
// `keep_alive_body` keeps alive (the published exposition: no copy per scrape).
struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields, sent as given
  std::string body;
  std::string_view body_view;                 // used instead of `body` when keep_alive_body is set
  std::shared_ptr<const void> keep_alive_body;
  bool close = false;                         // close the connection after this response

  std::string_view Body() const { return keep_alive_body ? body_view : std::string_view(body); }
  static Response Text(int status, std::string body);
};

// "OK", "Not Found", ... for the statuses the server sends; "Unknown" otherwise.
std::string_view ReasonPhrase(int status);

// Status line and header block of `response` (ends with the blank line).
// Always "HTTP/1.1"; adds Content-Type, Content-Length (of the body, also for
// HEAD), Date (`http_date`, preformatted by the caller: no clock here) and
// "Connection: close" when `close`. Header values with CR or LF are dropped.
std::string SerializeHead(const Response& response, std::string_view http_date, bool close);

// "Sun, 06 Nov 1994 08:49:37 GMT" for Unix seconds (RFC 9110 IMF-fixdate).
std::string FormatHttpDate(std::int64_t unix_seconds);

}  // namespace provledger::http
