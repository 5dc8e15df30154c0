// The HTTP server: one epoll event loop thread that owns every connection,
// plus a small pool of handler threads. An idle or slow connection costs a
// file descriptor and a few hundred bytes, never a thread, so idle clients
// and slowloris cannot take the scrape away (issue 9, defect 1; the design
// and the measurements are in the README, "HTTP server").
//
// Endpoints (GET and HEAD; any other method -> 405 with Allow):
//   <telemetry path>  the current render::Publisher exposition,
//                     Content-Type "text/plain; version=0.0.4; charset=utf-8",
//                     the pre-compressed gzip when Accept-Encoding allows it,
//                     Vary: Accept-Encoding. Answered on the event loop from
//                     one shared_ptr copy: never computes, never blocks.
//   /-/healthy, /-/ready  200 "OK" while the server runs (a database being
//                     down never fails them). Also on the event loop.
//   /                 HTML landing page (sources, per-tenant coverage), on a
//                     handler thread.
//   HttpOptions::routes  further routes (the API), on handler threads.
//   OPTIONS *         200 with "Allow: GET, HEAD".
//   anything else     404.
// Request parsing rules (what is refused with which status) are in
// http/request.hh.
//
// Connection policy (HttpOptions):
//   - a request's line and header fields (and body) must arrive within
//     header_timeout of its first byte (of the accept, for a new connection);
//     otherwise the connection is closed;
//   - a kept-alive connection idle for idle_timeout is closed;
//   - at most max_connections connections; when a new one arrives at the
//     limit, the connection that has been waiting longest for request bytes
//     (idle or incomplete, never one being answered) is closed to make room,
//     so a new scrape always gets in;
//   - a response must be taken by the client within write_timeout.
//
// Construction throws HttpError (naming the address) when the address is
// invalid or cannot be bound; the destructor stops the loop, lets running
// handlers finish and closes every connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hh"
#include "http/router.hh"
#include "http/landing.hh"
#include "render/publisher.hh"

namespace provledger::http {

class HttpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A request -> response function. Runs on a handler thread (never on the
// event loop), so it may take its time; it must be thread-safe. An exception
// becomes a 500 (logged). For HEAD requests the server drops the body.
using Handler = std::function<Response(const Request&)>;

struct Route {
  std::string path;                               // "/api/v1/evidence"
  bool prefix = false;                            // match path and everything under "path/"
  std::vector<std::string> methods = {"GET", "HEAD"};  // others -> 405 with Allow
  Handler handler;
  // The handler does its own authentication (the evidence API's bearer
  // tokens): the web config's basic auth, which would need the same
  // Authorization header, is not applied to this route.
  bool own_auth = false;
};

struct HttpOptions {
  std::string listen_address = ":23473";  // "[HOST]:PORT"; empty host = all IPv4 interfaces
  std::string telemetry_path = "/metrics";
  LandingLinks landing_links;             // web.prometheus_url / web.grafana_url on the landing page
  std::int64_t max_requests = 40;         // handler threads (landing page, routes), 1..1024, started on demand
  std::vector<Route> routes;              // beyond /metrics, /-/healthy, /-/ready and /
  std::size_t max_connections = 1024;     // clamped to the fd limit minus a reserve
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  RequestLimits limits;
  // --web.config.file (exporter-toolkit format, http/web_config.hh): TLS,
  // basic auth, extra response headers. Empty: plain HTTP, no auth. Read at
  // construction and again by ReloadWebConfig() (SIGHUP), never per
  // connection.
  std::string web_config_file;
};

// "[HOST]:PORT" parsed. ":23473" -> IPv4 any, "localhost:80" -> 127.0.0.1,
// "[::1]:80" -> IPv6. Throws HttpError on anything else (missing port,
// port > 65535, spaces, commas, host names other than localhost).
struct ListenAddress {
  bool ipv6 = false;
  std::string host;  // numeric; "0.0.0.0" for all IPv4 interfaces
  std::uint16_t port = 0;
};
// The syntax rule is config::ParseListenAddress (one rule for the check and the start).
ListenAddress ParseListenAddress(std::string_view listen_address);

// Whether the server can listen on IPv6 (config::LoadOptions::ipv6_listen): always.
bool Ipv6ListenAvailable();

class HttpServer {
 public:
  HttpServer(HttpOptions options, const render::Publisher& publisher);
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound TCP port (the real one when the address asked for port 0).
  int port() const;
  bool tls() const;

  // Re-reads options().web_config_file and builds its TLS context. On success
  // new connections use it (open ones keep theirs) and the basic-auth cache
  // starts empty; on failure throws (config::ConfigError with positioned
  // problems, or TlsError) and the previous one stays in force. Thread-safe.
  void ReloadWebConfig();
  const HttpOptions& options() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace provledger::http
