// The pure parts of the coverage report: latency sketch, dates, building the
// report (catalog, drift, recommendations), JSON and Markdown, the CLI.
#define BOOST_TEST_MODULE report
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/cli.hh"
#include "report/day.hh"
#include "report/report.hh"

namespace provledger::report {
namespace {

using Json = nlohmann::json;
constexpr Micros kDayUs = 86400LL * 1000000;
const Micros kD = *ParseDate("2026-12-03");

Outcomes O(std::uint64_t a, std::uint64_t d, std::uint64_t m) { return Outcomes{a, d, m}; }

BuildInputs Base() {
  BuildInputs in;
  in.date = "2026-12-03";
  in.day_start = kD;
  in.day_end = kD + kDayUs;
  in.grace = 120LL * 1000000;
  in.window = 3600LL * 1000000;
  in.days["acme"].kinds["checkout.create"] = O(984, 5, 5);
  in.days["acme"].kinds["refund.issue"] = O(6, 0, 0);       // acme: 995 of 1000 = 99.5 %
  in.days["acme"].cross_ledger_divergence = 2;
  in.days["globex"].kinds["checkout.create"] = O(97, 0, 3);  // 97 %
  return in;
}

BOOST_AUTO_TEST_CASE(latency_sketch_quantiles) {
  LatencySketch s;
  BOOST_TEST(!s.Quantile(0.5).has_value());
  for (int i = 1; i <= 100; ++i) s.Add(i);   // 1..100 µs: exact below 128
  BOOST_TEST(s.count() == 100u);
  BOOST_TEST(*s.Quantile(0.5) == 0.050);
  BOOST_TEST(*s.Quantile(0.95) == 0.095);
  BOOST_TEST(*s.Quantile(0.99) == 0.099);
  BOOST_TEST(*s.Quantile(1.0) == 0.1);
  s.Add(-5);   // ignored
  BOOST_TEST(s.count() == 100u);
  // Above 128 µs: the bucket's upper end, at most 1/128 above the value.
  LatencySketch big;
  big.Add(1000000);   // 1 s
  const double q = *big.Quantile(0.5);
  BOOST_TEST(q >= 1000.0);
  BOOST_TEST(q <= 1000.0 * (1 + 1.0 / 128));
  for (Micros v : {129LL, 255LL, 256LL, 1000LL, 123456789LL}) {
    LatencySketch one;
    one.Add(v);
    const double got = *one.Quantile(0.99) * 1000;
    BOOST_TEST(got >= static_cast<double>(v));
    BOOST_TEST(got <= static_cast<double>(v) * (1 + 1.0 / 128));
  }
}

BOOST_AUTO_TEST_CASE(day_aggregator_keeps_only_the_day) {
  DayAggregator agg(kD, kD + kDayUs);
  agg.OnSettled("acme", "k", kD - 1, compute::Outcome::kMissing);              // day before
  agg.OnSettled("acme", "k", kD, compute::Outcome::kAttested);                 // first µs
  agg.OnSettled("acme", "k", kD + kDayUs - 1, compute::Outcome::kDivergent);   // last µs
  agg.OnSettled("acme", "k", kD + kDayUs, compute::Outcome::kMissing);         // next day
  agg.OnAnchored("acme", kD + 5, 1000);
  agg.OnAnchored("acme", kD + kDayUs, 1000);
  agg.OnReceiptDivergence("acme", kD + 7);
  agg.OnReceiptDivergence("acme", kD - 7);
  const TenantDay& t = agg.tenants().at("acme");
  BOOST_TEST((t.kinds.at("k") == O(1, 1, 0)));
  BOOST_TEST(t.latency.count() == 1u);
  BOOST_TEST(t.cross_ledger_divergence == 1u);
}

BOOST_AUTO_TEST_CASE(dates) {
  BOOST_TEST(FormatDate(kD) == "2026-12-03");
  BOOST_TEST(FormatTimestamp(kD + kDayUs) == "2026-12-04T00:00:00Z");
  BOOST_TEST(FormatTimestamp(kD + 3661LL * 1000000) == "2026-12-03T01:01:01Z");
  BOOST_TEST(*ParseDate("1970-01-01") == 0);
  BOOST_TEST(*ParseDate("2024-02-29") == *ParseDate("2024-02-28") + kDayUs);
  BOOST_TEST(!ParseDate("2026-02-29").has_value());
  BOOST_TEST(!ParseDate("2026-13-01").has_value());
  BOOST_TEST(!ParseDate("2026-1-01").has_value());
  BOOST_TEST(!ParseDate("yesterday").has_value());
  BOOST_TEST(ReportFileName("2026-12-03") == "coverage-20261203.json");
  BOOST_TEST(SummaryFileName("2026-12-03") == "coverage-20261203.md");
}

BOOST_AUTO_TEST_CASE(build_without_catalog_or_previous) {
  Report r = Build(Base());
  BOOST_REQUIRE(r.tenants.size() == 2u);
  const TenantReport& a = r.tenants[0];
  BOOST_TEST(a.tenant == "acme");
  BOOST_TEST((a.counted == O(990, 5, 5)));
  BOOST_TEST((a.all_kinds == O(990, 5, 5)));
  BOOST_TEST(*a.coverage_pct == 99.5);
  BOOST_TEST(a.divergence == 7u);   // 5 divergent operations + 2 cross-ledger copies
  BOOST_TEST(a.unmapped_kinds.empty());
  BOOST_TEST(a.idle_kinds.empty());
  BOOST_TEST(*r.tenants[1].coverage_pct == 97.0);
  BOOST_TEST(r.totals.operations() == 1100u);
  BOOST_TEST(*r.total_coverage_pct == 99.273);   // 1092 / 1100, rounded to 3 decimals
  BOOST_TEST(r.total_divergence == 7u);
  BOOST_TEST(r.appeared.empty());
  BOOST_TEST(r.headline == "coverage 2026-12-03: 99.273% overall, first report (no previous)");
}

BOOST_AUTO_TEST_CASE(catalog_counts_only_mapped_kinds) {
  BuildInputs in = Base();
  Catalog c;
  c.file = "catalog.yml";
  c.kinds = {"checkout.create", "payment.capture"};
  in.catalog = c;
  Report r = Build(in);
  const TenantReport& a = r.tenants[0];
  BOOST_TEST((a.counted == O(984, 5, 5)));          // refund.issue is unmapped
  BOOST_TEST((a.all_kinds == O(990, 5, 5)));
  BOOST_TEST(*a.coverage_pct == 99.497);            // 989 / 994
  BOOST_TEST(a.unmapped_kinds == (std::vector<std::string>{"refund.issue"}), boost::test_tools::per_element());
  BOOST_TEST(a.idle_kinds == (std::vector<std::string>{"payment.capture"}), boost::test_tools::per_element());
  BOOST_TEST(!a.kinds[1].mapped);
  BOOST_TEST(r.catalog_kinds == 2u);
}

BOOST_AUTO_TEST_CASE(drift_and_recommendations) {
  BuildInputs in = Base();
  in.days.erase("globex");
  in.days["initech"].kinds["x"] = O(100, 0, 0);
  in.previous = ParsePrevious(R"({"schema":"provledger.coverage-report/v1","date":"2026-12-02","tenants":[
      {"tenant":"acme","coverage_pct":99.9,"divergence":0},
      {"tenant":"globex","coverage_pct":97.0,"divergence":0},
      {"tenant":"quiet","coverage_pct":null,"divergence":0}]})", "coverage-20261202.json");
  in.flags = {{"acme", "new_checkout", 50}, {"acme", "fast_anchor", 100}, {"initech", "beta", 10}};
  Report r = Build(in);
  BOOST_REQUIRE(r.tenants.size() == 2u);
  const TenantReport& a = r.tenants[0];
  BOOST_TEST(a.in_previous);
  BOOST_TEST(*a.previous_coverage_pct == 99.9);
  BOOST_TEST(*a.coverage_change_points == -0.4);
  BOOST_TEST(r.appeared == (std::vector<std::string>{"initech"}), boost::test_tools::per_element());
  BOOST_TEST(r.disappeared == (std::vector<std::string>{"globex", "quiet"}), boost::test_tools::per_element());
  // acme: divergence appeared (7, previous 0): roll back both features; sorted by feature.
  BOOST_REQUIRE(a.recommendations.size() == 2u);
  BOOST_TEST(a.recommendations[0].feature == "fast_anchor");
  BOOST_TEST(recommend::DecisionName(a.recommendations[0].rec.decision) == std::string("rollback"));
  BOOST_TEST(a.recommendations[0].rec.to_pct == 50.0);
  BOOST_TEST(a.recommendations[1].rec.to_pct == 10.0);
  BOOST_TEST(a.recommendations[1].rec.reasons[0].text == "7 divergence(s), previous period had none");
  // initech is new: previous divergence counts as 0, 100 % coverage on 100 operations: advance.
  const TenantReport& i = r.tenants[1];
  BOOST_TEST(recommend::DecisionName(i.recommendations[0].rec.decision) == std::string("advance"));
  BOOST_TEST(i.recommendations[0].rec.to_pct == 50.0);
  BOOST_TEST(r.headline == "coverage 2026-12-03: 99.545% overall, largest drop acme -0.4 points (99.9% -> 99.5%)");
}

BOOST_AUTO_TEST_CASE(json_is_deterministic_and_complete) {
  BuildInputs in = Base();
  in.days["acme"].latency.Add(12000);
  in.flags = {{"globex", "f", 10}, {"nodata", "g", 50}};
  const std::string a = ToJson(Build(in)), b = ToJson(Build(in));
  BOOST_TEST(a == b);
  BOOST_TEST(a.back() == '\n');
  const Json j = Json::parse(a);
  BOOST_TEST(j["schema"] == "provledger.coverage-report/v1");
  BOOST_TEST(j["day"]["start"] == "2026-12-03T00:00:00Z");
  BOOST_TEST(j["day"]["end"] == "2026-12-04T00:00:00Z");
  BOOST_TEST(j["previous"].is_null());
  BOOST_TEST(j["catalog"].is_null());
  BOOST_TEST(j["totals"]["operations"] == 1100);
  BOOST_TEST(j["tenants"].size() == 3u);
  BOOST_TEST(j["tenants"][0]["tenant"] == "acme");
  BOOST_TEST(j["tenants"][0]["anchor_latency_ms"]["anchored"] == 1);
  BOOST_TEST(j["tenants"][0]["anchor_latency_ms"]["p50"].get<double>() >= 12.0);
  BOOST_TEST(j["tenants"][0]["settled_all_kinds"]["divergent"] == 5);
  BOOST_TEST(j["tenants"][0]["kinds"][0]["kind"] == "checkout.create");
  // A tenant with only a ramp: no operations, coverage null, hold for lack of data.
  BOOST_TEST(j["tenants"][2]["tenant"] == "nodata");
  BOOST_TEST(j["tenants"][2]["coverage_pct"].is_null());
  BOOST_TEST(j["tenants"][2]["recommendations"][0]["decision"] == "hold");
  BOOST_TEST(j["tenants"][2]["recommendations"][0]["reasons"][0]["code"] == "no_data");
  // globex 97 %: hold (between rollback floor and advance threshold).
  BOOST_TEST(j["tenants"][1]["recommendations"][0]["decision"] == "hold");
  // Keys are sorted at every level.
  // Keys are sorted at every level: the text lists the top-level keys in order.
  std::vector<std::size_t> at;
  for (const char* k : {"\"catalog\"", "\"date\"", "\"day\"", "\"drift\"", "\"previous\"", "\"schema\"",
                        "\"settlement\"", "\"tenants\"", "\"thresholds\"", "\"totals\""}) {
    at.push_back(a.find(std::string("\n  ") + k + ":"));
  }
  for (std::size_t i = 0; i < at.size(); ++i) {
    BOOST_TEST(at[i] != std::string::npos);
    if (i > 0) BOOST_TEST(at[i] > at[i - 1]);
  }
  // A report reads back as the previous one.
  Previous p = ParsePrevious(a, "x.json");
  BOOST_TEST(p.date == "2026-12-03");
  BOOST_TEST(*p.tenants.at("acme").coverage_pct == 99.5);
  BOOST_TEST(p.tenants.at("acme").divergence == 7u);
  BOOST_TEST(!p.tenants.at("nodata").coverage_pct.has_value());
}

BOOST_AUTO_TEST_CASE(previous_errors) {
  for (const char* bad : {"", "[]", "{\"schema\":\"other\"}", "{\"schema\":\"provledger.coverage-report/v1\"}",
                          "{\"schema\":\"provledger.coverage-report/v1\",\"date\":\"d\",\"tenants\":[{\"tenant\":1}]}"}) {
    try {
      ParsePrevious(bad, "coverage-20261202.json");
      BOOST_ERROR("accepted: " << bad);
    } catch (const std::runtime_error& e) {
      BOOST_TEST(std::string(e.what()).rfind("previous report coverage-20261202.json is unusable: ", 0) == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(markdown_summary) {
  BuildInputs in = Base();
  in.previous = ParsePrevious(R"({"schema":"provledger.coverage-report/v1","date":"2026-12-02","tenants":[
      {"tenant":"acme","coverage_pct":99.9,"divergence":0},{"tenant":"globex","coverage_pct":99.0,"divergence":0}]})",
                              "coverage-20261202.json");
  in.flags = {{"acme", "new|checkout", 50}};
  const std::string md = ToMarkdown(Build(in));
  BOOST_TEST(md.rfind("# Coverage report 2026-12-03\n\ncoverage 2026-12-03: 99.273% overall, largest drop globex -2 points (99% -> 97%).\n", 0) == 0);
  BOOST_TEST(md.find("| globex | 99% | 97% | -2 |\n| acme | 99.9% | 99.5% | -0.4 |") != std::string::npos);
  BOOST_TEST(md.find("- acme: 7 (5 divergent operations, 2 cross-ledger copies); previous 0") != std::string::npos);
  BOOST_TEST(md.find("| acme | new\\|checkout | 50% -> 10% | rollback |") != std::string::npos);
  BOOST_TEST(md.back() == '\n');
  BOOST_TEST(md.find("\n\n\n") == std::string::npos);
  const std::string msg = CommitMessage(Build(in));
  BOOST_TEST(msg.rfind("coverage 2026-12-03: 99.273% overall, largest drop globex -2 points (99% -> 97%)\n\n", 0) == 0);
  BOOST_TEST(msg.find("Recommendations: rollback 1;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cli_arguments) {
  ParsedArgs p = ParseArgs({"coverage", "--config.file=c.yml", "--date=2026-12-03", "--output-dir=out",
                            "--catalog=k.yml", "--git-dir=g", "--git-branch=b", "--progress=never"});
  BOOST_TEST(p.error == "");
  BOOST_TEST(p.args.config_file == "c.yml");
  BOOST_TEST(*p.args.date == "2026-12-03");
  BOOST_TEST(p.args.output_dir == "out");
  BOOST_TEST((p.args.progress == ProgressMode::kNever));
  BOOST_TEST(ParseArgs({"coverage"}).error == "--config.file is required");
  BOOST_TEST(ParseArgs({}).error == "missing command (coverage)");
  BOOST_TEST(ParseArgs({"report", "--config.file=c"}).error == "unknown command \"report\" (expected coverage)");
  BOOST_TEST(ParseArgs({"coverage", "--config.file=c", "--bogus"}).error == "unknown argument \"--bogus\"");
  BOOST_TEST(ParseArgs({"coverage", "--config.file=c", "--progress=maybe"}).error ==
             "--progress must be auto, always or never, got \"maybe\"");
  BOOST_TEST(ParseArgs({"coverage", "--config.file=c", "--output-dir="}).error == "unknown argument \"--output-dir=\"");
  BOOST_TEST(ParseArgs({"--help"}).args.help);

  std::string err;
  Args a;
  const Micros now = kD + kDayUs + 5LL * 3600 * 1000000;   // 2026-12-04 05:00
  BOOST_TEST(*ResolveDay(a, now, err) == kD);              // yesterday
  a.date = "2026-12-04";
  BOOST_TEST(!ResolveDay(a, now, err).has_value());
  BOOST_TEST(err == "--date 2026-12-04 is not over yet (UTC); the latest day that can be reported is 2026-12-03");
  a.date = "2026-12-32";
  BOOST_TEST(!ResolveDay(a, now, err).has_value());
  BOOST_TEST(err == "--date must be a valid date YYYY-MM-DD, got \"2026-12-32\"");
}

}  // namespace
}  // namespace provledger::report
