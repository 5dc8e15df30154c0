// The journal's round trip and its bad lines; flags.spec rendering read back
// with the exporter's own parser (source::ParseFlagsSpec); the diff.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "ramp/flags_out.hh"
#include "ramp/journal.hh"
#include "source/flags_spec.hh"

namespace provledger::ramp {
namespace {

Decision MakeDecision() {
  Decision d;
  d.tenant = "acme";
  d.feature = "new_checkout";
  d.kind = Kind::kAdvance;
  d.from = 10;
  d.to = 50;
  d.reason = "advanced one step";
  d.checks = {{"coverage", 1.0, true, ""}, {"latency", std::nan(""), false, "value is NaN"}};
  d.alerts = {};
  d.next.pct = 50;
  d.next.step_started_ms = 1'000'000;
  d.next.status = Kind::kAdvance;
  d.next.green_since_ms = 940'000;
  d.record = true;
  return d;
}

BOOST_AUTO_TEST_CASE(journal_round_trip) {
  Decision d = MakeDecision();
  const std::string line = DecisionLine(d, 1'000'000);
  BOOST_TEST(line.back() == '\n');
  BOOST_TEST(line.find("\"time\":\"1970-01-01T00:16:40.000Z\"") != std::string::npos, line);
  BOOST_TEST(line.find("\"decision\":\"advance\"") != std::string::npos);
  BOOST_TEST(line.find("\"value\":null") != std::string::npos);  // NaN is not JSON
  JournalState js = ReadJournal(line + RunLine(1'000'500, 1, 1), "j");
  BOOST_TEST(js.errors.empty());
  BOOST_REQUIRE(js.pairs.count({"acme", "new_checkout"}) == 1u);
  const PairState& ps = js.pairs.at({"acme", "new_checkout"});
  BOOST_TEST(ps.pct == 50);
  BOOST_TEST(ps.step_started_ms == 1'000'000);
  BOOST_TEST(*ps.green_since_ms == 940'000);
  BOOST_TEST((ps.status == Kind::kAdvance));
  BOOST_TEST(*js.last_run_ms == 1'000'500);
  BOOST_TEST(js.entries_by_decision.at("advance") == 1u);
  BOOST_TEST(js.entries_by_decision.at("run") == 1u);
}

BOOST_AUTO_TEST_CASE(the_last_line_of_a_pair_wins) {
  Decision d = MakeDecision();
  std::string text = DecisionLine(d, 1'000'000);
  d.kind = Kind::kHold;
  d.from = d.to = 50;
  d.next.status = Kind::kHold;
  d.next.green_since_ms.reset();
  text += DecisionLine(d, 1'010'000);
  JournalState js = ReadJournal(text, "j");
  const PairState& ps = js.pairs.at({"acme", "new_checkout"});
  BOOST_TEST((ps.status == Kind::kHold));
  BOOST_TEST(!ps.green_since_ms.has_value());
  BOOST_TEST(ps.step_started_ms == 1'000'000);
}

BOOST_AUTO_TEST_CASE(bad_lines_are_errors_with_their_line_number) {
  const std::string good = RunLine(5, 0, 0);
  JournalState js = ReadJournal(good + "not json\n" + "{\"decision\":\"advance\",\"ts_ms\":1}\n" +
                                    "{\"decision\":\"sideways\",\"ts_ms\":1}\n" + "[1]\n" +
                                    "{\"decision\":\"soak\",\"ts_ms\":1,\"tenant\":\"a\",\"feature\":\"f\",\"to\":10,"
                                    "\"step_started_ms\":1}\n",
                                "j.jsonl");
  BOOST_REQUIRE(js.errors.size() == 5u);
  BOOST_TEST(js.errors[0] == "j.jsonl:2: not a JSON object");
  BOOST_TEST(js.errors[1].rfind("j.jsonl:3: a decision needs tenant", 0) == 0u);
  BOOST_TEST(js.errors[2] == "j.jsonl:4: unknown decision \"sideways\"");
  BOOST_TEST(js.errors[3] == "j.jsonl:5: not a JSON object");
  BOOST_TEST(js.errors[4] == "j.jsonl:6: a green decision without green_since_ms");
}

BOOST_AUTO_TEST_CASE(a_torn_last_line_is_a_warning) {
  const std::string good = RunLine(5, 0, 0);
  JournalState js = ReadJournal(good + "{\"decision\":\"ru", "j");
  BOOST_TEST(js.errors.empty());
  BOOST_REQUIRE(js.warnings.size() == 1u);
  BOOST_TEST(js.warnings[0] == "j:2: incomplete last line ignored (a write cut short)");
  BOOST_TEST(*js.last_run_ms == 5);
}

BOOST_AUTO_TEST_CASE(flags_spec_reads_back_with_the_exporters_parser) {
  const std::vector<FlagRow> rows = {
      {"acme", "new_checkout", 50},   {"acme", "fast_anchor", 100}, {"globex", "new_checkout", 12.5},
      {"true", "null", 0},            {"a: b", "x#y", 10},          {"123", "1e3", 100},
      {"ünïcode-tenant", "f", 10},     {"quo\"te\\", "tab\tfeature", 50}, {"-dash", "~", 25},
  };
  const std::string text = RenderFlagsSpec(rows);
  BOOST_TEST(text.rfind("# written by provledger_ramp", 0) == 0u);
  BOOST_TEST(text.find("\nacme: {new_checkout: 50, fast_anchor: 100}\n") != std::string::npos, text);
  source::FlagsSpec back = source::ParseFlagsSpec(text, "flags.spec");
  BOOST_TEST(!back.fatal);
  for (const auto& e : back.errors) BOOST_ERROR(e.str());
  BOOST_REQUIRE(back.rows.size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    BOOST_TEST(back.rows[i].tenant == rows[i].tenant);
    BOOST_TEST(back.rows[i].feature == rows[i].feature);
    BOOST_TEST(back.rows[i].pct == rows[i].pct);
  }
}

BOOST_AUTO_TEST_CASE(diff_shows_changed_tenants_only) {
  const std::vector<FlagRow> before = {{"a", "f", 10}, {"a", "g", 100}, {"b", "f", 10}};
  std::vector<FlagRow> after = before;
  after[0].pct = 50;
  BOOST_TEST(FlagsDiff(before, after) == "-a: {f: 10, g: 100}\n+a: {f: 50, g: 100}\n");
  BOOST_TEST(FlagsDiff(before, before).empty());
}

BOOST_AUTO_TEST_CASE(percent_formatting) {
  BOOST_TEST(FormatPct(50) == "50");
  BOOST_TEST(FormatPct(12.5) == "12.5");
  BOOST_TEST(FormatPct(0) == "0");
  BOOST_TEST(FormatPct(33.333333333333336) == "33.333333333333336");
}

}  // namespace
}  // namespace provledger::ramp
