// Routing of a parsed request, and the built-in responses. Pure (the
// published snapshot is passed in), so the fuzz target drives it as the
// server does.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hh"
#include "render/publisher.hh"

namespace provledger::http {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

struct RouteEntry {
  std::string path;
  bool prefix = false;
  std::vector<std::string> methods;
  bool own_auth = false;   // the handler authenticates (web config basic auth is not applied)
};

struct RouteDecision {
  enum class Kind { kMetrics, kHealth, kLanding, kHandler, kRespond };
  Kind kind = Kind::kRespond;
  std::size_t handler_index = 0;  // kHandler: index into the route table
  bool head = false;              // HEAD: answer without a body
  Response response;              // kRespond: the answer (404, 405, OPTIONS *)
};

// Built-in paths first (telemetry path, /-/healthy, /-/ready, /), then the
// route table in order (exact path, or prefix: the path itself or anything
// under "path/"). A route allows its methods; HEAD is allowed wherever GET is.
RouteDecision Decide(const Request& request, std::string_view telemetry_path,
                     const std::vector<RouteEntry>& routes);

// The telemetry response for a published snapshot: gzip when Accept-Encoding
// allows it, Vary: Accept-Encoding; the body is a view kept alive by the
// snapshot (no copy).
Response MetricsResponse(const Request& request, std::shared_ptr<const render::Published> published);

}  // namespace provledger::http
