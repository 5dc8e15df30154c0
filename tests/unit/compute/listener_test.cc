// EngineListener and operation kinds: the events behind the counters, as the
// coverage report consumes them; the counters themselves are unchanged.
#define BOOST_TEST_MODULE compute_listener
#include <boost/test/unit_test.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "compute/engine.hh"

using namespace provledger;
using namespace provledger::compute;

namespace {

constexpr Micros kS = 1000000;
constexpr Micros kT0 = 1'800'000'000LL * kS;

struct Recorder final : EngineListener {
  std::vector<std::tuple<std::string, std::string, Micros, Outcome>> settled;
  std::vector<std::tuple<std::string, Micros, Micros>> anchored;
  std::vector<std::tuple<std::string, Micros>> divergences;
  void OnSettled(const std::string& t, std::string_view kind, Micros start, Outcome o) override {
    settled.emplace_back(t, std::string(kind), start, o);
  }
  void OnAnchored(const std::string& t, Micros at, Micros latency) override { anchored.emplace_back(t, at, latency); }
  void OnReceiptDivergence(const std::string& t, Micros created) override { divergences.emplace_back(t, created); }
};

EngineOptions Opts(bool kinds) {
  EngineOptions o;
  o.window = 600 * kS;
  o.grace = 60 * kS;
  o.track_kinds = kinds;
  o.sources = {{"eu", SourceKind::kLedger, "eu-west"}, {"us", SourceKind::kLedger, "us-east"},
               {"traces", SourceKind::kTraces, ""}};
  return o;
}

SpanRow Span(const std::string& tenant, const std::string& op, Micros start, const std::string& hash,
             const std::string& name) {
  SpanRow s;
  s.trace_id = "t";
  s.span_id = "s-" + op + name;
  s.tenant = tenant;
  s.op_id = op;
  s.start = start;
  s.attested_hash = hash;
  s.name = name;
  return s;
}

ReceiptRow Receipt(const std::string& id, const std::string& op, Micros created, const std::string& hash) {
  ReceiptRow r;
  r.receipt_id = id;
  r.tenant = "acme";
  r.op_id = op;
  r.created_at = created;
  r.content_hash = hash;
  return r;
}

void Run(Engine& e) {
  TraceBatch t;
  t.source = "traces";
  t.spans = {Span("acme", "a", kT0, "h-a", "checkout"),
             Span("acme", "m", kT0 + 2 * kS, "", "db.write"),      // child first ...
             Span("acme", "m", kT0 + 1 * kS, "h-m", "refund"),     // ... then the earlier root: its kind
             Span("acme", "u", kT0 + 3 * kS, "h-u", ""),           // unnamed first ...
             Span("acme", "u", kT0 + 4 * kS, "", "named.later"),   // ... a later span names it
             Span("acme", "x", kT0 + 5 * kS, "h-x", "checkout"),
             Span("acme", "n", kT0 + 6 * kS, "h-n", "checkout")};
  t.complete_upto = kT0 + 100 * kS;
  e.ApplyTrace(t);
  LedgerBatch eu;
  eu.source = "eu";
  eu.region = "eu-west";
  eu.receipts = {Receipt("r-a", "a", kT0 + kS, "h-a"), Receipt("r-m", "m", kT0 + 2 * kS, "h-m"),
                 Receipt("r-u", "u", kT0 + 4 * kS, "h-u"), Receipt("r-x", "x", kT0 + 6 * kS, "other"),
                 Receipt("dup", "d", kT0 + 7 * kS, "A")};
  eu.anchored = {{"r-a", "acme", kT0 + kS, kT0 + kS + 15000}};
  eu.receipts_complete_upto = kT0 + 200 * kS;
  eu.anchored_complete_upto = kT0 + 200 * kS;
  e.ApplyLedger(eu);
  LedgerBatch us;
  us.source = "us";
  us.region = "us-east";
  us.receipts = {Receipt("dup", "d", kT0 + 9 * kS, "B")};
  us.receipts_complete_upto = kT0 + 200 * kS;
  us.anchored_complete_upto = kT0 + 200 * kS;
  e.ApplyLedger(us);
  e.Advance(kT0 + 300 * kS);
}

BOOST_AUTO_TEST_CASE(events_match_the_counters) {
  Engine e(Opts(true));
  Recorder r;
  e.SetListener(&r);
  Run(e);
  using T = std::tuple<std::string, std::string, Micros, Outcome>;
  const std::vector<T> want = {{"acme", "checkout", kT0, Outcome::kAttested},
                               {"acme", "refund", kT0 + kS, Outcome::kAttested},
                               {"acme", "named.later", kT0 + 3 * kS, Outcome::kAttested},
                               {"acme", "checkout", kT0 + 5 * kS, Outcome::kDivergent},
                               {"acme", "checkout", kT0 + 6 * kS, Outcome::kMissing}};
  BOOST_TEST(r.settled.size() == want.size());
  for (std::size_t i = 0; i < want.size() && i < r.settled.size(); ++i) {
    BOOST_TEST_CONTEXT(i) { BOOST_TEST((r.settled[i] == want[i])); }
  }
  BOOST_REQUIRE(r.anchored.size() == 1u);
  BOOST_TEST((r.anchored[0] == std::tuple<std::string, Micros, Micros>{"acme", kT0 + kS + 15000, 15000}));
  BOOST_REQUIRE(r.divergences.size() == 1u);
  BOOST_TEST((r.divergences[0] == std::tuple<std::string, Micros>{"acme", kT0 + 9 * kS}));
  // The same numbers as the counters.
  const Snapshot s = e.MakeSnapshot(kT0 + 300 * kS);
  BOOST_TEST(s.settled.at("acme").attested == 3u);
  BOOST_TEST(s.settled.at("acme").divergent == 1u);
  BOOST_TEST(s.settled.at("acme").missing == 1u);
  BOOST_TEST(s.divergence.at("acme") == 2u);
}

BOOST_AUTO_TEST_CASE(kinds_off_by_default) {
  Engine e(Opts(false));
  Recorder r;
  e.SetListener(&r);
  Run(e);
  BOOST_REQUIRE(r.settled.size() == 5u);
  for (const auto& s : r.settled) BOOST_TEST(std::get<1>(s) == "");
}

}  // namespace
