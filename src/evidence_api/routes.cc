#include "evidence_api/routes.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace provledger::evidence_api {
namespace {

using json = nlohmann::json;
using http::Response;

Response Json(int status, const json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump() + "\n";
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Error(int status, const std::string& message) { return Json(status, json{{"error", message}}); }

Response Unauthorized(TokenSet::Outcome o) {
  Response r = Error(401, o == TokenSet::Outcome::kMissing ? "a bearer token is required"
                                                            : "the bearer token is not valid");
  std::string challenge = "Bearer realm=\"provledger-evidence\"";
  if (o != TokenSet::Outcome::kMissing) challenge += ", error=\"invalid_token\"";
  r.headers.emplace_back("WWW-Authenticate", challenge);
  return r;
}

Response MethodNotAllowed(const char* allow) {
  Response r = Error(405, std::string("method not allowed; allowed: ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

std::string StatusUrl(const std::string& id) { return std::string(kApiPath) + "/" + id; }

json JobJson(const JobRecord& r) {
  json j = json::parse(RecordToJson(r));
  j["status_url"] = StatusUrl(r.id);
  if (r.state == JobState::kDone) j["bundle_url"] = StatusUrl(r.id) + "/bundle";
  return j;
}

// Reads the whole bundle through one fd (a sweep removing the file after the
// open does not cut the response).
bool ReadBundle(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return false;
  }
  out->assign(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out->size()) {
    const ssize_t n = ::read(fd, out->data() + got, out->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return got == out->size();
}

}  // namespace

Response Handle(JobManager& manager, const TokenSet& tokens, const http::Request& req) {
  std::string_view rest = std::string_view(req.path).substr(kApiPath.size());   // "", "/id", "/id/bundle"
  if (rest.empty() || rest == "/") {
    if (req.method == "GET" || req.method == "HEAD") {
      return Json(200, json{{"create", "POST " + std::string(kApiPath)},
                            {"status", "GET " + std::string(kApiPath) + "/{id}"},
                            {"bundle", "GET " + std::string(kApiPath) + "/{id}/bundle"},
                            {"auth", "Authorization: Bearer <token>"},
                            {"docs", "docs/evidence.md"}});
    }
    if (req.method != "POST") return MethodNotAllowed("GET, HEAD, POST");
  } else if (req.method != "GET" && req.method != "HEAD") {
    return MethodNotAllowed("GET, HEAD");
  }

  const auto auth = tokens.Authenticate(req.Header("authorization"));
  if (auth.outcome != TokenSet::Outcome::kOk) return Unauthorized(auth.outcome);
  const Token& token = *auth.token;
  const auto& api = manager.api();

  if (req.method == "POST") {
    if (req.body.size() > static_cast<std::size_t>(api.max_request_bytes)) {
      return Error(413, "the request body is " + std::to_string(req.body.size()) + " bytes, over the limit of " +
                            std::to_string(api.max_request_bytes) + " (evidence.api.max_request_bytes)");
    }
    ParsedRequest p = ParseExportRequest(req.body, static_cast<std::size_t>(api.max_operations));
    if (!p.query) return Error(400, p.error);
    if (!TokenSet::Allows(token, p.query->tenant)) return Error(403, "this token may not export that tenant");
    const auto s = manager.Submit(std::move(*p.query));
    if (!s.accepted) {
      Response r = Error(429, "too many export jobs queued (evidence.api.max_queued_jobs); retry later");
      r.headers.emplace_back("Retry-After", std::to_string((api.retry_after_ms + 999) / 1000));
      return r;
    }
    Response r = Json(202, JobJson(s.record));
    r.headers.emplace_back("Location", StatusUrl(s.record.id));
    return r;
  }

  // "/{id}" or "/{id}/bundle"
  rest.remove_prefix(1);
  const std::size_t slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string_view tail = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (!IsJobId(id) || (!tail.empty() && tail != "/bundle")) return Error(404, "no such endpoint or job");
  const auto job = manager.Get(id);
  if (!job) return Error(404, "unknown job (never created, or removed by retention or the disk budget)");
  if (!TokenSet::Allows(token, job->query.tenant)) return Error(403, "this token may not read that tenant's jobs");
  if (tail.empty()) return Json(200, JobJson(*job));
  if (job->state != JobState::kDone) {
    return Json(409, json{{"error", std::string("the job is ") + JobStateName(job->state) + ", not done"},
                          {"state", JobStateName(job->state)}});
  }
  Response r;
  if (!ReadBundle(manager.BundlePath(id), &r.body)) {
    return Error(404, "the bundle was removed (retention or disk budget)");
  }
  r.status = 200;
  r.content_type = "application/zip";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"evidence-" + id + ".zip\"");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Route MakeRoute(JobManager& manager, const TokenStore& tokens) {
  http::Route r;
  r.path = std::string(kApiPath);
  r.prefix = true;
  r.methods = {"GET", "HEAD", "POST"};
  r.own_auth = true;
  r.handler = [&manager, &tokens](const http::Request& req) {
    const std::shared_ptr<const TokenSet> set = tokens.Get();   // this request's tokens, even across a reload
    return Handle(manager, *set, req);
  };
  return r;
}

}  // namespace provledger::evidence_api
