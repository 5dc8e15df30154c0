// Prometheus / Alertmanager response parsers on fixtures shaped like the real
// APIs' answers, the silence matching, the command line and the metrics text.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ramp/cli.hh"
#include "ramp/controller.hh"
#include "ramp/prom.hh"

namespace provledger::ramp {
namespace {

BOOST_AUTO_TEST_CASE(vector_and_scalar_results) {
  QueryResult r = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"tenant":"a","job":"provledger_exporter"},"value":[1700000000.5,"1"]},
      {"metric":{"tenant":"b"},"value":[1700000000.5,"NaN"]},
      {"metric":{},"value":[1700000000.5,"+Inf"]}]}})");
  BOOST_TEST(r.ok);
  BOOST_REQUIRE(r.samples.size() == 3u);
  BOOST_TEST(r.samples[0].labels.at("tenant") == "a");
  BOOST_TEST(r.samples[0].value == 1.0);
  BOOST_TEST(std::isnan(r.samples[1].value));
  BOOST_TEST(std::isinf(r.samples[2].value));
  r = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"42.5"]}})");
  BOOST_TEST(r.ok);
  BOOST_REQUIRE(r.samples.size() == 1u);
  BOOST_TEST(r.samples[0].value == 42.5);
  r = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  BOOST_TEST(r.ok);
  BOOST_TEST(r.samples.empty());
}

BOOST_AUTO_TEST_CASE(query_errors) {
  QueryResult r = ParseQueryResponse(
      400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 3: unexpected"})");
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error == "HTTP 400: bad_data: parse error at char 3: unexpected");
  r = ParseQueryResponse(503, "Service Unavailable");
  BOOST_TEST(r.error == "HTTP 503: Service Unavailable");
  r = ParseQueryResponse(200, "<html>");
  BOOST_TEST(r.error.rfind("response is not JSON", 0) == 0u);
  r = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  BOOST_TEST(r.error == "expected an instant vector or scalar, got matrix");
  r = ParseQueryResponse(200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}})");
  BOOST_TEST(r.error == "malformed sample in vector result");
  BOOST_TEST(r.samples.empty());
}

BOOST_AUTO_TEST_CASE(alerts_and_silences) {
  std::vector<Alert> alerts;
  std::string err;
  BOOST_TEST(ParseAlertsResponse(200, R"({"status":"success","data":{"alerts":[
      {"labels":{"alertname":"DivergenceDetected","severity":"critical","tenant":"a","job":"provledger_exporter"},
       "annotations":{},"state":"firing","activeAt":"2026-12-04T21:00:00Z","value":"1e+00"},
      {"labels":{"alertname":"NotaryLag","severity":"warning","region":"eu"},"state":"pending"}]}})",
                                 alerts, err));
  BOOST_REQUIRE(alerts.size() == 2u);
  BOOST_TEST(alerts[0].state == "firing");
  BOOST_TEST(alerts[1].labels.at("region") == "eu");
  BOOST_TEST(!ParseAlertsResponse(502, "bad gateway", alerts, err));
  BOOST_TEST(err == "HTTP 502: bad gateway");
  BOOST_TEST(!ParseAlertsResponse(200, R"({"status":"success","data":{}})", alerts, err));
  BOOST_TEST(err == "response has no data.alerts list");

  std::vector<Labels> silenced;
  BOOST_TEST(ParseSilencedResponse(200, R"([{"labels":{"alertname":"DivergenceDetected","severity":"critical",
      "tenant":"a","job":"provledger_exporter","cluster":"eu1"},"status":{"state":"suppressed","silencedBy":["x"]}}])",
                                   silenced, err));
  BOOST_REQUIRE(silenced.size() == 1u);
  MarkSilenced(alerts, silenced);
  BOOST_TEST(alerts[0].silenced);   // AM's labels are a superset (external label cluster)
  BOOST_TEST(!alerts[1].silenced);
  BOOST_TEST(!ParseSilencedResponse(200, "{}", silenced, err));
}

BOOST_AUTO_TEST_CASE(command_line) {
  RampCli c = ParseRampCli({"--plan=p.yml", "--dry-run", "--git-dir", "/repo", "--at=1700000000.25"});
  BOOST_TEST(c.errors.empty());
  BOOST_TEST(c.plan == "p.yml");
  BOOST_TEST(c.dry_run);
  BOOST_TEST(c.once);
  BOOST_TEST(c.git_dir == "/repo");
  BOOST_TEST(*c.at_ms == 1700000000250);
  c = ParseRampCli({"--once=yes", "--bogus", "--at", "x"});
  BOOST_REQUIRE(c.errors.size() == 4u);
  BOOST_TEST(c.errors[0] == "--once takes no value");
  BOOST_TEST(c.errors[1] == "unknown argument \"--bogus\"");
  BOOST_TEST(c.errors[2] == "--at: expected Unix seconds, got \"x\"");
  BOOST_TEST(c.errors[3] == "--plan is required");
  BOOST_TEST(ParseRampCli({"--help"}).errors.empty());
  BOOST_TEST(ParseRampCli({"--plan"}).errors.at(0) == "--plan needs a value");
}

BOOST_AUTO_TEST_CASE(metrics_text) {
  RunResult r;
  r.ok = true;
  r.by_kind = {{"soak", 3}, {"advance", 1}};
  r.failing_checks = {{"feat\tcoverage", 2}};
  const std::string text = Controller::MetricsText(r, 1'700'000'000'250, 1'700'000'000'250,
                                                   {{"advance", 4}, {"run", 10}}, false);
  for (const char* line : {"provledger_ramp_journal_entries_total{decision=\"advance\"} 4\n",
                           "provledger_ramp_journal_entries_total{decision=\"rollback\"} 0\n",
                           "provledger_ramp_journal_entries_total{decision=\"run\"} 10\n",
                           "provledger_ramp_pairs{decision=\"soak\"} 3\n",
                           "provledger_ramp_pairs{decision=\"hold\"} 0\n",
                           "provledger_ramp_checks_failing{feature=\"feat\",check=\"coverage\"} 2\n",
                           "provledger_ramp_global_freeze 0\n", "provledger_ramp_last_run_success 1\n",
                           "provledger_ramp_last_run_timestamp_seconds 1700000000.25\n",
                           "provledger_ramp_last_success_timestamp_seconds 1700000000.25\n"}) {
    BOOST_TEST(text.find(line) != std::string::npos, "missing " << line << " in\n" << text);
  }
}

// Label values with a quote, a backslash and a newline (and invalid UTF-8)
// are escaped by prometheus-cpp's serializer, and promtool accepts the text.
BOOST_AUTO_TEST_CASE(metrics_text_escapes_awkward_names_and_passes_promtool) {
  RunResult r;
  r.ok = false;
  r.failing_checks = {{"fe\"at\\ure\nx\tche\"ck\\\nname", 3}, {std::string("bad\xff") + "\tc", 1}};
  const std::string text = Controller::MetricsText(r, 1'700'000'000'000, 0, {}, true);
  BOOST_TEST(text.find("provledger_ramp_checks_failing{feature=\"fe\\\"at\\\\ure\\nx\",check=\"che\\\"ck\\\\\\nname\"} 3\n") !=
                 std::string::npos,
             text);
  // Invalid UTF-8 becomes U+FFFD (the exporter's sanitizer).
  BOOST_TEST(text.find("provledger_ramp_checks_failing{feature=\"bad\xEF\xBF\xBD\",check=\"c\"} 1\n") != std::string::npos,
             text);
  BOOST_TEST(text.find("provledger_ramp_global_freeze 1\n") != std::string::npos);
  BOOST_TEST(text.find("provledger_ramp_last_success_timestamp_seconds") == std::string::npos);
  // promtool (from the prometheus package, on PATH) must accept it.
  char path[] = "/tmp/provledger_ramp_metrics_XXXXXX";
  const int fd = ::mkstemp(path);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p != nullptr);
  std::string output;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  const int status = ::pclose(p);
  ::unlink(path);
  BOOST_TEST(status == 0, "promtool check metrics failed (status " << status << "):\n" << output << "\non\n" << text);
  BOOST_TEST(output.empty(), output);
}

}  // namespace
}  // namespace provledger::ramp
