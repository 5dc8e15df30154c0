#include "ramp/prom.hh"

#include <curl/curl.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

namespace provledger::ramp {

namespace {
using nlohmann::json;

std::string Snippet(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// Prometheus' "error" envelope, or the HTTP status and the body's start.
std::string StatusError(long status, std::string_view body, const json& j) {
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    std::string e = j["error"].get<std::string>();
    if (j.contains("errorType") && j["errorType"].is_string()) e = j["errorType"].get<std::string>() + ": " + e;
    return "HTTP " + std::to_string(status) + ": " + e;
  }
  return "HTTP " + std::to_string(status) + ": " + Snippet(body);
}

bool ParseValue(const json& v, double& out) {
  // [ <unix seconds>, "<value>" ]
  if (!v.is_array() || v.size() != 2 || !v[1].is_string()) return false;
  const std::string s = v[1].get<std::string>();
  if (s == "NaN") {
    out = std::nan("");
    return true;
  }
  if (s == "+Inf") {
    out = HUGE_VAL;
    return true;
  }
  if (s == "-Inf") {
    out = -HUGE_VAL;
    return true;
  }
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end != nullptr && *end == '\0' && !s.empty();
}

bool ParseLabels(const json& j, Labels& out) {
  if (!j.is_object()) return false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) return false;
    out[it.key()] = it.value().get<std::string>();
  }
  return true;
}
}  // namespace

QueryResult ParseQueryResponse(long http_status, std::string_view body) {
  QueryResult r;
  json j = json::parse(body, nullptr, false);
  if (http_status != 200) {
    r.error = StatusError(http_status, body, j.is_discarded() ? json() : j);
    return r;
  }
  if (j.is_discarded() || !j.is_object()) {
    r.error = "response is not JSON: " + Snippet(body);
    return r;
  }
  if (!j.contains("status") || j["status"] != "success") {
    r.error = StatusError(http_status, body, j);
    return r;
  }
  if (!j.contains("data") || !j["data"].is_object() || !j["data"].contains("resultType")) {
    r.error = "response has no data.resultType";
    return r;
  }
  const json& data = j["data"];
  const json& type = data["resultType"];
  const json& result = data.contains("result") ? data["result"] : json();
  if (type == "scalar") {
    Sample s;
    if (!ParseValue(result, s.value)) {
      r.error = "malformed scalar result";
      return r;
    }
    r.samples.push_back(std::move(s));
  } else if (type == "vector") {
    if (!result.is_array()) {
      r.error = "malformed vector result";
      return r;
    }
    for (const json& e : result) {
      Sample s;
      if (!e.is_object() || !e.contains("metric") || !ParseLabels(e["metric"], s.labels) ||
          !e.contains("value") || !ParseValue(e["value"], s.value)) {
        r.error = "malformed sample in vector result";
        r.samples.clear();
        return r;
      }
      r.samples.push_back(std::move(s));
    }
  } else {
    r.error = "expected an instant vector or scalar, got " + (type.is_string() ? type.get<std::string>() : "?");
    return r;
  }
  r.ok = true;
  return r;
}

bool ParseAlertsResponse(long http_status, std::string_view body, std::vector<Alert>& out, std::string& error) {
  json j = json::parse(body, nullptr, false);
  if (http_status != 200 || j.is_discarded() || !j.is_object() || !j.contains("status") ||
      j["status"] != "success") {
    error = http_status != 200 || (j.is_object() && j.contains("error"))
                ? StatusError(http_status, body, j.is_discarded() ? json() : j)
                : "response is not the alerts JSON: " + Snippet(body);
    return false;
  }
  if (!j.contains("data") || !j["data"].is_object() || !j["data"].contains("alerts") ||
      !j["data"]["alerts"].is_array()) {
    error = "response has no data.alerts list";
    return false;
  }
  std::vector<Alert> alerts;
  for (const json& a : j["data"]["alerts"]) {
    Alert al;
    if (!a.is_object() || !a.contains("labels") || !ParseLabels(a["labels"], al.labels) || !a.contains("state") ||
        !a["state"].is_string()) {
      error = "malformed alert in data.alerts";
      return false;
    }
    al.state = a["state"].get<std::string>();
    alerts.push_back(std::move(al));
  }
  out = std::move(alerts);
  return true;
}

bool ParseSilencedResponse(long http_status, std::string_view body, std::vector<Labels>& out, std::string& error) {
  json j = json::parse(body, nullptr, false);
  if (http_status != 200) {
    error = StatusError(http_status, body, j.is_discarded() ? json() : j);
    return false;
  }
  if (j.is_discarded() || !j.is_array()) {
    error = "Alertmanager response is not a list of alerts: " + Snippet(body);
    return false;
  }
  std::vector<Labels> silenced;
  for (const json& a : j) {
    Labels l;
    if (!a.is_object() || !a.contains("labels") || !ParseLabels(a["labels"], l)) {
      error = "malformed alert in Alertmanager response";
      return false;
    }
    // The query asks for silenced alerts only; check anyway.
    if (a.contains("status") && a["status"].is_object() && a["status"].contains("state") &&
        a["status"]["state"] != "suppressed") {
      continue;
    }
    silenced.push_back(std::move(l));
  }
  out = std::move(silenced);
  return true;
}

void MarkSilenced(std::vector<Alert>& alerts, const std::vector<Labels>& silenced) {
  for (Alert& a : alerts) {
    for (const Labels& s : silenced) {
      bool all = true;
      for (const auto& [k, v] : a.labels) {
        auto it = s.find(k);
        if (it == s.end() || it->second != v) {
          all = false;
          break;
        }
      }
      if (all) {
        a.silenced = true;
        break;
      }
    }
  }
}

void HttpGlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }

HttpApi::HttpApi(std::string base, std::int64_t timeout_ms) : base_(std::move(base)), timeout_ms_(timeout_ms) {}

namespace {
std::size_t Collect(char* data, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  constexpr std::size_t kMaxBody = 64u << 20;  // a hostile or broken server cannot exhaust memory
  if (body->size() + size * n > kMaxBody) return 0;
  body->append(data, size * n);
  return size * n;
}
struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
}  // namespace

bool HttpApi::Get(const std::string& path_and_query, long& status, std::string& body, std::string& error) const {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    error = "curl_easy_init failed";
    return false;
  }
  const std::string url = base_ + path_and_query;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms_));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "provledger_ramp");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    error = base_ + ": " + (errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc)));
    return false;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return true;
}

namespace {
std::string Escape(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}
}  // namespace

QueryResult HttpApi::Query(const std::string& promql, std::int64_t at_ms) const {
  char t[64];
  std::snprintf(t, sizeof t, "%lld.%03lld", static_cast<long long>(at_ms / 1000), static_cast<long long>(at_ms % 1000));
  long status = 0;
  std::string body, error;
  if (!Get("/api/v1/query?query=" + Escape(promql) + "&time=" + t, status, body, error)) {
    QueryResult r;
    r.error = error;
    return r;
  }
  return ParseQueryResponse(status, body);
}

bool HttpApi::Alerts(std::vector<Alert>& out, std::string& error) const {
  long status = 0;
  std::string body;
  if (!Get("/api/v1/alerts", status, body, error)) return false;
  return ParseAlertsResponse(status, body, out, error);
}

bool HttpApi::Silenced(std::vector<Labels>& out, std::string& error) const {
  long status = 0;
  std::string body;
  if (!Get("/api/v2/alerts?active=false&silenced=true&inhibited=false&unprocessed=false", status, body, error)) {
    return false;
  }
  return ParseSilencedResponse(status, body, out, error);
}

}  // namespace provledger::ramp
