// The HTTP server: CivetWeb (C API) serving the published exposition.
//
// Endpoints (GET and HEAD; any other method -> 405 with Allow):
//   <telemetry path>  the current render::Publisher exposition,
//                     Content-Type "text/plain; version=0.0.4; charset=utf-8",
//                     the pre-compressed gzip when Accept-Encoding allows it,
//                     Vary: Accept-Encoding. Never computes, never blocks on
//                     a database: one shared_ptr copy, then a write.
//   /-/healthy, /-/ready  200 "OK" while the server runs (a database being
//                     down never fails them).
//   /                 HTML landing page (sources, per-tenant coverage).
//   anything else     404.
//
// Thread safety: handlers run on CivetWeb's worker threads and only read the
// Publisher (thread-safe). The Publisher must outlive the HttpServer.
// Construction throws HttpError (naming the address) when the address is
// invalid or cannot be bound; the destructor stops the server and waits for
// running requests.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "render/publisher.hh"

struct mg_context;
struct mg_connection;

namespace provledger::http {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

class HttpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpOptions {
  std::string listen_address = ":23473";  // "[HOST]:PORT"; empty host = all IPv4 interfaces
  std::string telemetry_path = "/metrics";
  std::int64_t max_requests = 40;         // worker threads = concurrent requests (clamped to 1..1024)
};

// "[HOST]:PORT" -> CivetWeb's listening_ports value. ":23473" -> "23473",
// "127.0.0.1:0" -> "127.0.0.1:0", "localhost:80" -> "127.0.0.1:80",
// "[::1]:80" -> "[::1]:80" (only when CivetWeb has IPv6). Throws HttpError
// on anything else (missing port, port > 65535, spaces, commas).
// The syntax rule is config::ParseListenAddress (one rule for the check and the start).
std::string ToCivetListeningPorts(std::string_view listen_address, bool ipv6_available);

// Whether this CivetWeb build can listen on IPv6 (config::LoadOptions::ipv6_listen).
bool Ipv6ListenAvailable();

class HttpServer {
 public:
  HttpServer(HttpOptions options, const render::Publisher& publisher);
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound TCP port (the real one when the address asked for port 0).
  int port() const { return port_; }
  const HttpOptions& options() const { return options_; }

 private:
  static int HandleRequest(::mg_connection* conn);
  int Dispatch(::mg_connection* conn);
  int ServeMetrics(::mg_connection* conn, bool head);
  int ServeText(::mg_connection* conn, bool head, int status, const char* content_type,
                std::string_view body, const char* extra_header_name = nullptr,
                const char* extra_header_value = nullptr);

  const HttpOptions options_;
  const render::Publisher& publisher_;
  ::mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::string wake_host_;  // IPv4 address the destructor connects to, to stop quickly
};

}  // namespace provledger::http
