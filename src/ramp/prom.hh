// Prometheus and Alertmanager HTTP APIs, read-only, through libcurl.
//
//   GET {prometheus}/api/v1/query?query=Q&time=T   -> QueryResult
//   GET {prometheus}/api/v1/alerts                 -> alerts (firing and pending)
//   GET {alertmanager}/api/v2/alerts?silenced=true&active=false&inhibited=false
//                                                  -> label sets silenced now
//
// Every failure (connection refused, timeout, HTTP status other than 200,
// a body that is not the documented JSON, status "error", a result type other
// than vector/scalar) comes back as an error text; nothing throws except
// std::bad_alloc. The Parse* functions are pure and unit-tested on fixtures.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ramp/decide.hh"

namespace provledger::ramp {

QueryResult ParseQueryResponse(long http_status, std::string_view body);
// false with `error` set when the body is unusable.
bool ParseAlertsResponse(long http_status, std::string_view body, std::vector<Alert>& out, std::string& error);
bool ParseSilencedResponse(long http_status, std::string_view body, std::vector<Labels>& out, std::string& error);

// Marks alerts whose labels are all present, equal, in one of `silenced`
// (Alertmanager adds external labels, so it holds a superset).
void MarkSilenced(std::vector<Alert>& alerts, const std::vector<Labels>& silenced);

class HttpApi {
 public:
  // `base`: "http://host:port[/prefix]" without a trailing slash.
  HttpApi(std::string base, std::int64_t timeout_ms);
  QueryResult Query(const std::string& promql, std::int64_t at_ms) const;
  bool Alerts(std::vector<Alert>& out, std::string& error) const;
  bool Silenced(std::vector<Labels>& out, std::string& error) const;

 private:
  // false with `error` set on a transport failure.
  bool Get(const std::string& path_and_query, long& status, std::string& body, std::string& error) const;
  std::string base_;
  std::int64_t timeout_ms_;
};

// curl_global_init once, before any thread (main calls it).
void HttpGlobalInit();

}  // namespace provledger::ramp
