#include "http/router.hh"

#include <algorithm>

#include "http/negotiate.hh"

namespace provledger::http {

namespace {

constexpr std::string_view kHealthyPath = "/-/healthy";
constexpr std::string_view kReadyPath = "/-/ready";

std::string AllowValue(const std::vector<std::string>& methods) {
  std::vector<std::string> all = methods;
  const bool get = std::find(all.begin(), all.end(), "GET") != all.end();
  if (get && std::find(all.begin(), all.end(), "HEAD") == all.end()) all.push_back("HEAD");
  std::string out;
  for (const auto& m : all) out += (out.empty() ? "" : ", ") + m;
  return out;
}

bool Allows(const std::vector<std::string>& methods, std::string_view method) {
  if (std::find(methods.begin(), methods.end(), method) != methods.end()) return true;
  return method == "HEAD" && std::find(methods.begin(), methods.end(), "GET") != methods.end();
}

RouteDecision Respond(Response r) {
  RouteDecision d;
  d.kind = RouteDecision::Kind::kRespond;
  d.response = std::move(r);
  return d;
}

}  // namespace

RouteDecision Decide(const Request& request, std::string_view telemetry_path,
                     const std::vector<RouteEntry>& routes) {
  static const std::vector<std::string> kGetHead = {"GET", "HEAD"};
  const std::string_view path = request.path;
  const bool head = request.method == "HEAD";

  if (path == "*") {  // OPTIONS * (the parser allows "*" with OPTIONS only)
    Response r = Response::Text(200, "");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return Respond(std::move(r));
  }

  RouteDecision d;
  d.head = head;
  const std::vector<std::string>* methods = nullptr;
  if (path == telemetry_path) {
    d.kind = RouteDecision::Kind::kMetrics;
    methods = &kGetHead;
  } else if (path == kHealthyPath || path == kReadyPath) {
    d.kind = RouteDecision::Kind::kHealth;
    methods = &kGetHead;
  } else if (path == "/") {
    d.kind = RouteDecision::Kind::kLanding;
    methods = &kGetHead;
  } else {
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const RouteEntry& route = routes[i];
      const bool match = path == route.path ||
                         (route.prefix && path.size() > route.path.size() && path.substr(0, route.path.size()) == route.path &&
                          (route.path.back() == '/' || path[route.path.size()] == '/'));
      if (match) {
        d.kind = RouteDecision::Kind::kHandler;
        d.handler_index = i;
        methods = &route.methods;
        break;
      }
    }
  }
  if (methods == nullptr) return Respond(Response::Text(404, "404 page not found\n"));
  if (!Allows(*methods, request.method)) {
    Response r = Response::Text(405, "405 method not allowed\n");
    r.headers.emplace_back("Allow", AllowValue(*methods));
    return Respond(std::move(r));
  }
  if (d.kind == RouteDecision::Kind::kHealth) {
    // Ready as soon as the listener is bound; databases never gate this.
    return Respond(Response::Text(200, "OK"));
  }
  return d;
}

Response MetricsResponse(const Request& request, std::shared_ptr<const render::Published> published) {
  const auto accept = request.Header("accept-encoding");
  const bool gzip = accept && AcceptsGzip(*accept);
  Response r;
  r.status = 200;
  r.content_type = std::string(kMetricsContentType);
  if (gzip) r.headers.emplace_back("Content-Encoding", "gzip");
  r.headers.emplace_back("Vary", "Accept-Encoding");
  r.body_view = gzip ? std::string_view(published->exposition.gzip) : std::string_view(published->exposition.text);
  r.keep_alive_body = std::move(published);
  return r;
}

}  // namespace provledger::http
