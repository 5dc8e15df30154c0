// libFuzzer target: the HTTP request handling that is ours (src/http):
// request-line and header parsing (pipelined, as the server reads a buffer),
// routing, content negotiation and response serialisation. Invariants
// checked beyond "no crash, no sanitizer report":
//   - a complete request consumed > 0 and <= the bytes given;
//   - a decoded path never contains a control character;
//   - every status line is "HTTP/1.1 NNN " and the head ends with one blank line;
//   - an error status is one the parser documents.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/negotiate.hh"
#include "http/request.hh"
#include "http/router.hh"

namespace {

using namespace provledger::http;

void Check(bool ok) {
  if (!ok) std::abort();
}

std::shared_ptr<const provledger::render::Published> Sample() {
  auto p = std::make_shared<provledger::render::Published>();
  p->exposition.text = "# HELP x y\n# TYPE x gauge\nx 1\n";
  p->exposition.gzip = std::string("\x1f\x8b\x08\x00", 4);
  return p;
}

void CheckHead(const std::string& head) {
  Check(head.rfind("HTTP/1.1 ", 0) == 0);
  Check(head.size() >= 13 && head[12] == ' ');
  Check(head.find("\r\n\r\n") == head.size() - 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto published = Sample();
  static const std::vector<RouteEntry> routes = {
      {"/api/v1/evidence", true, {"GET", "POST"}},
      {"/api/v1/exact", false, {"PUT"}},
  };
  RequestLimits limits;
  limits.max_header_bytes = 4096;  // small limits reach the limit paths with small inputs
  limits.max_target_bytes = 1024;
  limits.max_header_fields = 20;
  limits.max_body_bytes = 2048;

  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::size_t off = 0;
  for (int i = 0; i < 64 && off < all.size(); ++i) {
    const ParseResult r = ParseRequest(all.substr(off), limits);
    if (r.state == ParseState::kIncomplete) break;
    if (r.state == ParseState::kError) {
      const int s = r.error_status;
      Check(s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505);
      CheckHead(SerializeHead(Response::Text(s, r.error), "Thu, 01 Jan 1970 00:00:00 GMT", true));
      break;
    }
    Check(r.consumed > 0 && r.consumed <= all.size() - off);
    for (const char c : r.request.path) {
      Check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    }
    const RouteDecision d = Decide(r.request, "/metrics", routes);
    Response resp;
    if (d.kind == RouteDecision::Kind::kMetrics) {
      resp = MetricsResponse(r.request, published);
    } else if (d.kind == RouteDecision::Kind::kRespond) {
      resp = d.response;
    } else {
      resp = Response::Text(200, r.request.body);
      resp.headers.emplace_back("X-Echo", r.request.query);  // CR/LF-free by construction; dropped otherwise
    }
    if (const auto ae = r.request.Header("accept-encoding")) (void)AcceptsGzip(*ae);
    CheckHead(SerializeHead(resp, "", !r.request.keep_alive));
    off += r.consumed;
  }
  return 0;
}
