// RenderFamilies: metric list, histogram math, omission rules, label
// escaping and number formatting of prometheus-cpp 1.0.1.
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <boost/test/unit_test.hpp>
#include <prometheus/text_serializer.h>

#include "fixture.hh"
#include "render/exposition.hh"
#include "render/families.hh"
#include "render/metrics.hh"

namespace provledger::render {
namespace {

using namespace testing;

std::string Text(const compute::Snapshot& s) {
  return RenderExposition(s, ProcessStats{}, GoldenBuild()).text;
}

BOOST_AUTO_TEST_SUITE(metric_list)

// The contract of common.md / the seed, spelled out independently of metrics.hh.
BOOST_AUTO_TEST_CASE(names_and_types_are_the_contract) {
  const std::map<std::string, prometheus::MetricType> want = {
      {"attest_coverage_pct", MetricType::Gauge},
      {"attest_divergence_count", MetricType::Counter},
      {"attest_ops_settled_total", MetricType::Counter},
      {"ledger_anchor_latency_ms", MetricType::Histogram},
      {"anchor_queue_depth", MetricType::Gauge},
      {"proofs_last_ts", MetricType::Gauge},
      {"flag_ramp_pct", MetricType::Gauge},
      {"provledger_exporter_source_up", MetricType::Gauge},
      {"provledger_exporter_poll_duration_seconds", MetricType::Histogram},
      {"provledger_exporter_poll_errors_total", MetricType::Counter},
      {"provledger_exporter_last_poll_success_timestamp_seconds", MetricType::Gauge},
      {"provledger_exporter_rows_read_total", MetricType::Counter},
      {"provledger_exporter_query_plan_unindexed", MetricType::Gauge},
      {"provledger_exporter_tenants", MetricType::Gauge},
      {"provledger_exporter_tenants_dropped_total", MetricType::Counter},
      {"provledger_exporter_state_write_errors_total", MetricType::Counter},
      {"provledger_exporter_pending_operations", MetricType::Gauge},
      {"provledger_exporter_window_operations", MetricType::Gauge},
      {"provledger_exporter_held_receipts", MetricType::Gauge},
      {"provledger_exporter_heap_inuse_bytes", MetricType::Gauge},
      {"provledger_exporter_coverage_window_end_timestamp_seconds", MetricType::Gauge},
      {"provledger_exporter_evidence_jobs_total", MetricType::Counter},
      {"provledger_exporter_evidence_job_duration_seconds", MetricType::Histogram},
      {"provledger_exporter_evidence_jobs_queued", MetricType::Gauge},
      {"provledger_exporter_evidence_jobs_running", MetricType::Gauge},
      {"provledger_exporter_build_info", MetricType::Gauge},
      {"process_cpu_seconds_total", MetricType::Counter},
      {"process_resident_memory_bytes", MetricType::Gauge},
      {"process_virtual_memory_bytes", MetricType::Gauge},
      {"process_open_fds", MetricType::Gauge},
      {"process_max_fds", MetricType::Gauge},
      {"process_start_time_seconds", MetricType::Gauge},
  };
  std::map<std::string, prometheus::MetricType> got;
  for (const MetricDef* m : kMetrics) got[std::string(m->name)] = m->type;
  BOOST_TEST(got.size() == kMetrics.size());  // no duplicates
  BOOST_TEST((got == want));
}

BOOST_AUTO_TEST_CASE(help_is_safe_and_states_the_source) {
  for (const MetricDef* m : kMetrics) {
    BOOST_TEST_CONTEXT(m->name) {
      BOOST_TEST(IsSafeHelp(m->help));
      BOOST_TEST(m->help.find('\\') == std::string_view::npos);
      BOOST_TEST(m->help.find('\n') == std::string_view::npos);
      // Everything except the constants says the value is from the last poll.
      if (m != &kBuildInfo && m != &kProcessStart) {
        BOOST_TEST(m->help.find("last poll") != std::string_view::npos);
      }
    }
  }
  BOOST_TEST(!IsSafeHelp("a\\b"));
  BOOST_TEST(!IsSafeHelp("a\nb"));
  BOOST_TEST(!IsSafeHelp(""));
  BOOST_TEST(!IsValidMetricName("9abc"));
  BOOST_TEST(!IsValidMetricName("a-b"));
  BOOST_TEST(IsValidMetricName("a_b:c9"));
}

BOOST_AUTO_TEST_CASE(every_rendered_family_is_listed_in_order) {
  ProcessStats p;
  p.cpu_seconds = 1;
  p.resident_bytes = 2;
  p.virtual_bytes = 3;
  p.open_fds = 4;
  p.max_fds = 5;
  p.start_time_seconds = 6;
  p.heap_inuse_bytes = 7;
  const auto families = RenderFamilies(GoldenSnapshot(), p, GoldenBuild());
  BOOST_TEST(families.size() == kMetrics.size());  // the golden snapshot fills every family
  std::size_t next = 0;
  for (const auto& f : families) {
    while (next < kMetrics.size() && kMetrics[next]->name != f.name) ++next;
    BOOST_TEST_REQUIRE(next < kMetrics.size(), f.name << " missing from kMetrics or out of order");
    BOOST_TEST(f.help == std::string(kMetrics[next]->help));
    BOOST_TEST((f.type == kMetrics[next]->type));
    BOOST_TEST(!f.metric.empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(histograms)

BOOST_AUTO_TEST_CASE(buckets_are_cumulative) {
  compute::Snapshot s;
  s.latency_bounds_ms = {5, 10, 15, 20};
  s.anchor_latency[{"eu", "t"}] = Hist({1, 2, 0, 3}, 4, 123.5);  // count = 10
  const std::string t = Text(s);
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="5"} 1)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="10"} 3)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="15"} 3)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="20"} 6)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="+Inf"} 10)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_count{region="eu",tenant="t"} 10)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_sum{region="eu",tenant="t"} 123.5)"));
}

BOOST_AUTO_TEST_CASE(unsorted_bounds_still_give_ascending_cumulative_buckets) {
  compute::Snapshot s;
  s.latency_bounds_ms = {20, 5, 10};
  s.anchor_latency[{"eu", "t"}] = Hist({7, 1, 2}, 0, 1);  // 20ms:7, 5ms:1, 10ms:2
  const auto b = LinesStartingWith(Text(s), "ledger_anchor_latency_ms_bucket");
  BOOST_TEST_REQUIRE(b.size() == 4u);
  BOOST_TEST(b[0] == R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="5"} 1)");
  BOOST_TEST(b[1] == R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="10"} 3)");
  BOOST_TEST(b[2] == R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="20"} 10)");
  BOOST_TEST(b[3] == R"(ledger_anchor_latency_ms_bucket{region="eu",tenant="t",le="+Inf"} 10)");
}

// In every histogram of the golden snapshot: buckets ascend in le and count,
// and +Inf equals _count.
BOOST_AUTO_TEST_CASE(inf_bucket_equals_count_everywhere) {
  const std::string t = Text(GoldenSnapshot());
  std::map<std::string, std::vector<std::pair<std::string, std::uint64_t>>> buckets;  // series -> (le, n)
  std::map<std::string, std::uint64_t> counts;
  for (const auto& line : Lines(t)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    const std::string head = line.substr(0, space);
    const std::string value = line.substr(space + 1);
    const auto le = head.find(",le=\"") != std::string::npos ? head.find(",le=\"") : head.find("{le=\"");
    if (head.find("_bucket") != std::string::npos && le != std::string::npos) {
      std::string series = head.substr(0, le);
      series.replace(series.find("_bucket"), 7, "");
      const std::string le_value = head.substr(le + 5, head.size() - le - 5 - 2);
      buckets[series].emplace_back(le_value, std::stoull(value));
    } else if (const auto c = head.find("_count"); c != std::string::npos) {
      std::string series = head;
      series.replace(c, 6, "");
      if (series.back() == '}') series.pop_back();  // "{...}" -> "{..." to match the bucket key
      counts[series] = std::stoull(value);
    }
  }
  BOOST_TEST(buckets.size() == 7u);  // 3 latency series + 3 poll duration series + evidence job duration
  for (const auto& [series, list] : buckets) {
    BOOST_TEST_CONTEXT(series) {
      BOOST_TEST_REQUIRE(counts.count(series) == 1u);
      BOOST_TEST(list.back().first == "+Inf");
      BOOST_TEST(list.back().second == counts[series]);
      for (std::size_t i = 1; i < list.size(); ++i) {
        BOOST_TEST(list[i - 1].second <= list[i].second);
        if (list[i].first != "+Inf") BOOST_TEST(std::stod(list[i - 1].first) < std::stod(list[i].first));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(per_tenant_switch_drops_the_tenant_label) {
  compute::Snapshot s = GoldenSnapshot();
  s.latency_per_tenant = false;
  s.anchor_latency.clear();
  s.anchor_latency[{"eu-west", ""}] = Hist({1, 0, 0, 0, 0, 0, 0, 0, 0}, 2, 1500);
  const std::string t = Text(s);
  const auto lines = LinesStartingWith(t, "ledger_anchor_latency_ms");
  BOOST_TEST(lines.size() == 12u);  // 9 bounds + +Inf + _sum + _count
  for (const auto& l : lines) BOOST_TEST(l.find("tenant") == std::string::npos, l);
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu-west",le="5"} 1)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu-west",le="+Inf"} 3)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_count{region="eu-west"} 3)"));
  // The tenant label stays on the other tenant families.
  BOOST_TEST(HasLine(t, R"(attest_coverage_pct{tenant="acme"} 98.5)"));
}

BOOST_AUTO_TEST_CASE(per_tenant_switch_off_merges_leftover_tenant_series) {
  compute::Snapshot s;
  s.latency_bounds_ms = {5, 10};
  s.latency_per_tenant = false;
  s.anchor_latency[{"eu", "a"}] = Hist({1, 1}, 0, 10);
  s.anchor_latency[{"eu", "b"}] = Hist({0, 2}, 1, 40);
  const std::string t = Text(s);
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu",le="5"} 1)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_bucket{region="eu",le="10"} 4)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_count{region="eu"} 5)"));
  BOOST_TEST(HasLine(t, R"(ledger_anchor_latency_ms_sum{region="eu"} 50)"));
  BOOST_TEST(LinesStartingWith(t, "ledger_anchor_latency_ms_count").size() == 1u);
}

BOOST_AUTO_TEST_CASE(poll_duration_uses_the_snapshot_buckets) {
  compute::Snapshot s;
  s.poll_duration_buckets = {0.5, 1};
  compute::SourceHealth src;
  src.name = "l";
  src.poll_duration = Hist({1, 2}, 3, 9.25);
  s.sources = {src};
  const std::string t = Text(s);
  BOOST_TEST(HasLine(t, R"(provledger_exporter_poll_duration_seconds_bucket{source="l",le="0.5"} 1)"));
  BOOST_TEST(HasLine(t, R"(provledger_exporter_poll_duration_seconds_bucket{source="l",le="1"} 3)"));
  BOOST_TEST(HasLine(t, R"(provledger_exporter_poll_duration_seconds_bucket{source="l",le="+Inf"} 6)"));
  BOOST_TEST(HasLine(t, R"(provledger_exporter_poll_duration_seconds_sum{source="l"} 9.25)"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(omission)

BOOST_AUTO_TEST_CASE(empty_snapshot_renders_only_the_scalar_health_families) {
  const std::string t = Text(compute::Snapshot{});
  std::set<std::string> families;
  for (const auto& l : LinesStartingWith(t, "# TYPE ")) families.insert(l.substr(7, l.find(' ', 7) - 7));
  const std::set<std::string> want = {
      "provledger_exporter_tenants", "provledger_exporter_tenants_dropped_total",
      "provledger_exporter_state_write_errors_total", "provledger_exporter_pending_operations",
      "provledger_exporter_window_operations", "provledger_exporter_held_receipts",
      "provledger_exporter_build_info"};
  BOOST_TEST((families == want));
  BOOST_TEST(HasLine(t, R"(provledger_exporter_build_info{version="0.1.0",revision="abcdef123456"} 1)"));
  // No HELP without samples either.
  BOOST_TEST(t.find("attest_") == std::string::npos);
  BOOST_TEST(t.find("window_end") == std::string::npos);
}

// Every metric has its row in the README's metric tables.
BOOST_AUTO_TEST_CASE(every_metric_is_documented_in_the_readme) {
  const std::string readme = ReadFile(PROVLEDGER_README_PATH);
  for (const MetricDef* m : kMetrics) {
    BOOST_TEST_CONTEXT(m->name) {
      // A row of its own ("| `name` |") or in the process_* row's list.
      const bool row = readme.find("| `" + std::string(m->name) + "` |") != std::string::npos;
      const bool listed = readme.find("`" + std::string(m->name) + "`, ") != std::string::npos ||
                          readme.find(", `" + std::string(m->name) + "` |") != std::string::npos;
      BOOST_TEST((row || listed));
    }
  }
}

// The evidence API's families: all three outcomes (zeros included), the
// duration histogram, the queue and running gauges, only when enabled.
BOOST_AUTO_TEST_CASE(evidence_job_families_only_when_the_api_is_enabled) {
  compute::Snapshot s = GoldenSnapshot();
  std::string t = Text(s);
  BOOST_TEST(HasLine(t, R"(provledger_exporter_evidence_jobs_total{outcome="done"} 4)"));
  BOOST_TEST(HasLine(t, R"(provledger_exporter_evidence_jobs_total{outcome="failed"} 1)"));
  BOOST_TEST(HasLine(t, R"(provledger_exporter_evidence_jobs_total{outcome="rejected"} 0)"));
  BOOST_TEST(HasLine(t, R"(provledger_exporter_evidence_job_duration_seconds_bucket{le="1"} 3)"));
  BOOST_TEST(HasLine(t, R"(provledger_exporter_evidence_job_duration_seconds_count 5)"));
  BOOST_TEST(HasLine(t, "provledger_exporter_evidence_jobs_queued 2"));
  BOOST_TEST(HasLine(t, "provledger_exporter_evidence_jobs_running 1"));
  s.evidence_jobs.enabled = false;
  t = Text(s);
  BOOST_TEST(t.find("provledger_exporter_evidence_") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(tenant_without_settled_ops_and_never_successful_source_are_absent) {
  const std::string t = Text(GoldenSnapshot());
  BOOST_TEST(t.find(R"(tenant="idle")") == std::string::npos);
  BOOST_TEST(HasLine(t, R"(provledger_exporter_source_up{source="traces"} 0)"));
  BOOST_TEST(t.find(R"(provledger_exporter_last_poll_success_timestamp_seconds{source="traces"})") ==
             std::string::npos);
  BOOST_TEST(HasLine(t, R"(provledger_exporter_last_poll_success_timestamp_seconds{source="ledger-eu"} 1699999999.25)"));
  // All four error kinds for every source, zeros included.
  for (const char* kind : {"connect", "query", "decode", "timeout"}) {
    BOOST_TEST(t.find(std::string(R"(provledger_exporter_poll_errors_total{source="traces",kind=")") + kind) !=
               std::string::npos);
  }
  BOOST_TEST(HasLine(t, R"(provledger_exporter_coverage_window_end_timestamp_seconds 1699999880)"));
}

BOOST_AUTO_TEST_CASE(settled_total_has_all_three_outcomes_per_tenant) {
  compute::Snapshot s;
  s.settled["only"] = {0, 0, 0};
  const std::string t = Text(s);
  BOOST_TEST(HasLine(t, R"(attest_ops_settled_total{tenant="only",outcome="attested"} 0)"));
  BOOST_TEST(HasLine(t, R"(attest_ops_settled_total{tenant="only",outcome="divergent"} 0)"));
  BOOST_TEST(HasLine(t, R"(attest_ops_settled_total{tenant="only",outcome="missing"} 0)"));
}

BOOST_AUTO_TEST_CASE(process_families_follow_process_stats) {
  ProcessStats p;
  p.cpu_seconds = 1.5;
  p.open_fds = 7;
  const auto t = RenderExposition(compute::Snapshot{}, p, GoldenBuild()).text;
  BOOST_TEST(HasLine(t, "process_cpu_seconds_total 1.5"));
  BOOST_TEST(HasLine(t, "process_open_fds 7"));
  BOOST_TEST(t.find("process_max_fds") == std::string::npos);
  BOOST_TEST(t.find("process_resident_memory_bytes") == std::string::npos);
  BOOST_TEST(t.find("provledger_exporter_heap_inuse_bytes") == std::string::npos);
  p.heap_inuse_bytes = 1048576;
  const auto h = RenderExposition(compute::Snapshot{}, p, GoldenBuild()).text;
  BOOST_TEST(HasLine(h, "provledger_exporter_heap_inuse_bytes 1048576"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(escaping)

// prometheus-cpp 1.0.1 escapes \ " and newline in label values; UTF-8 passes.
BOOST_AUTO_TEST_CASE(label_values_are_escaped_and_utf8_passes_through) {
  compute::Snapshot s;
  s.divergence["a\\b\"c\nd"] = 1;
  s.divergence["Z\xC3\xBCrich-\xE7\xA7\x9F\xE6\x88\xB7"] = 2;  // "Zürich-租户"
  const std::string t = Text(s);
  BOOST_TEST(HasLine(t, "attest_divergence_count{tenant=\"a\\\\b\\\"c\\nd\"} 1"));
  BOOST_TEST(HasLine(t, "attest_divergence_count{tenant=\"Z\xC3\xBCrich-\xE7\xA7\x9F\xE6\x88\xB7\"} 2"));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_replaced) {
  BOOST_TEST(SanitizeUtf8("plain") == "plain");
  BOOST_TEST(SanitizeUtf8("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");      // valid 4-byte
  BOOST_TEST(SanitizeUtf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");              // invalid byte
  BOOST_TEST(SanitizeUtf8("\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");       // overlong NUL
  BOOST_TEST(SanitizeUtf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  BOOST_TEST(SanitizeUtf8("x\xE2\x82") == "x\xEF\xBF\xBD\xEF\xBF\xBD");      // truncated
  compute::Snapshot s;
  s.divergence["bad\xFF"] = 1;
  BOOST_TEST(HasLine(Text(s), "attest_divergence_count{tenant=\"bad\xEF\xBF\xBD\"} 1"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(numbers)

// Documents how prometheus-cpp 1.0.1 prints values: 16 significant digits,
// so counters are exact up to 2^53 only when they have <= 16 digits; larger
// ones switch to exponent notation (still parseable, rounded).
BOOST_AUTO_TEST_CASE(prometheus_cpp_1_0_1_number_format) {
  compute::Snapshot s;
  s.divergence["a"] = 1234567890123456ULL;        // 16 digits: exact
  s.divergence["b"] = 9007199254740993ULL;        // 2^53 + 1: not a double; 2^53 printed
  s.divergence["c"] = 123456789012345678ULL;      // 18 digits: exponent, rounded
  s.divergence["d"] = 18446744073709551615ULL;    // UINT64_MAX
  s.ramp[{"n", "nan"}] = std::numeric_limits<double>::quiet_NaN();
  s.ramp[{"p", "inf"}] = std::numeric_limits<double>::infinity();
  s.ramp[{"q", "-inf"}] = -std::numeric_limits<double>::infinity();
  s.proofs_last_ts["r"] = 1700000000.123456;
  const std::string t = Text(s);
  BOOST_TEST(HasLine(t, R"(attest_divergence_count{tenant="a"} 1234567890123456)"));
  BOOST_TEST(HasLine(t, R"(attest_divergence_count{tenant="b"} 9007199254740992)"));
  BOOST_TEST(HasLine(t, R"(attest_divergence_count{tenant="c"} 1.234567890123457e+17)"));
  BOOST_TEST(HasLine(t, R"(attest_divergence_count{tenant="d"} 1.844674407370955e+19)"));
  BOOST_TEST(HasLine(t, R"(flag_ramp_pct{tenant="n",feature="nan"} Nan)"));
  BOOST_TEST(HasLine(t, R"(flag_ramp_pct{tenant="p",feature="inf"} +Inf)"));
  BOOST_TEST(HasLine(t, R"(flag_ramp_pct{tenant="q",feature="-inf"} -Inf)"));
  BOOST_TEST(HasLine(t, R"(proofs_last_ts{region="r"} 1700000000.123456)"));
  // Prometheus' parser accepts all of them (gauges/counters, no lint issue
  // beyond the seed's counter name).
  const auto r = RunPromtool(t);
  BOOST_TEST(r.exit_code != 1, r.output);  // 1 = parse error; 3 = lint only
  for (const auto& l : Lines(r.output)) {
    if (l.empty()) continue;
    BOOST_TEST(l.rfind("attest_divergence_count ", 0) == 0, l);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace provledger::render
