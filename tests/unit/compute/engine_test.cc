#define BOOST_TEST_MODULE compute
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compute/engine.hh"

// prefix + number, built with append: GCC 12 at -O3 (release builds) reports a
// false -Wrestrict on "literal" + std::string&& (GCC bug 105329).
template <class N>
std::string Named(const char* prefix, N n) {
  std::string s(prefix);
  s.append(std::to_string(n));
  return s;
}

using namespace provledger;
using namespace provledger::compute;

namespace {

constexpr Micros kS = 1000000;   // one second in µs
constexpr Micros kT0 = 1'800'000'000LL * kS;

EngineOptions Opts(Micros window = 600 * kS, Micros grace = 60 * kS) {
  EngineOptions o;
  o.window = window;
  o.grace = grace;
  o.sources = {{"eu", SourceKind::kLedger, "eu-west"},
               {"us", SourceKind::kLedger, "us-east"},
               {"traces", SourceKind::kTraces, ""},
               {"flags", SourceKind::kFlags, ""}};
  return o;
}

SpanRow Span(const std::string& tenant, const std::string& op, Micros start, const std::string& hash) {
  SpanRow s;
  s.trace_id = "t-" + op;
  s.span_id = "s-" + op;
  s.tenant = tenant;
  s.op_id = op;
  s.start = start;
  s.attested_hash = hash;
  return s;
}

ReceiptRow Receipt(const std::string& id, const std::string& tenant, const std::string& op, Micros created,
                   const std::string& hash) {
  ReceiptRow r;
  r.receipt_id = id;
  r.tenant = tenant;
  r.op_id = op;
  r.created_at = created;
  r.content_hash = hash;
  return r;
}

// Feeds both ledgers and the trace store with "complete up to" marks.
struct Feed {
  Engine& e;
  void Ledger(const std::string& name, std::vector<ReceiptRow> rows, Micros complete,
              std::vector<AnchoredRow> anchored = {}) {
    LedgerBatch b;
    b.source = name;
    b.region = name == "eu" ? "eu-west" : "us-east";
    b.receipts = std::move(rows);
    b.anchored = std::move(anchored);
    b.receipts_complete_upto = complete;
    b.anchored_complete_upto = complete;
    e.ApplyLedger(b);
  }
  void Traces(std::vector<SpanRow> spans, Micros complete) {
    TraceBatch b;
    b.source = "traces";
    b.spans = std::move(spans);
    b.complete_upto = complete;
    e.ApplyTrace(b);
  }
  // All sources complete up to `now`, then advance.
  void AllAt(Micros now) {
    Ledger("eu", {}, now);
    Ledger("us", {}, now);
    Traces({}, now);
    e.Advance(now);
  }
};

const TenantCoverage* Cov(const Snapshot& s, const std::string& tenant) {
  for (const auto& c : s.coverage) {
    if (c.tenant == tenant) return &c;
  }
  return nullptr;
}

SettledCounts Settled(const Snapshot& s, const std::string& tenant) {
  auto it = s.settled.find(tenant);
  return it == s.settled.end() ? SettledCounts{} : it->second;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(settlement)

BOOST_AUTO_TEST_CASE(nothing_settles_until_every_source_has_been_read) {
  Engine e(Opts());
  Feed f{e};
  f.Traces({Span("a", "op1", kT0, "h1")}, kT0 + 1000 * kS);
  f.Ledger("eu", {Receipt("r1", "a", "op1", kT0 + kS, "h1")}, kT0 + 1000 * kS);
  e.Advance(kT0 + 1000 * kS);   // ledger "us" never polled
  auto s = e.MakeSnapshot(kT0 + 1000 * kS);
  BOOST_TEST(s.coverage.empty());
  BOOST_TEST(s.window_end == kMinMicros);
  BOOST_TEST(s.pending_ops == 1u);
  f.Ledger("us", {}, kT0 + 1000 * kS);
  e.Advance(kT0 + 1000 * kS);
  s = e.MakeSnapshot(kT0 + 1000 * kS);
  BOOST_TEST(Settled(s, "a").attested == 1u);
  BOOST_TEST(s.pending_ops == 0u);
}

// The memory gauges: pending operations until E reaches them, then in-window
// operations until they leave (E - window, E]; receipts held (distinct ids,
// a cross-ledger copy counts once) until E - grace passes their creation.
BOOST_AUTO_TEST_CASE(memory_gauges_follow_pending_window_and_held_receipts) {
  const Micros window = 600 * kS, grace = 60 * kS;
  Engine e(Opts(window, grace));
  Feed f{e};
  const Micros t = kT0;
  f.Traces({Span("a", "op1", t, "h1"), Span("a", "op2", t + 10 * kS, "h2")}, t + 20 * kS);
  f.Ledger("eu", {Receipt("r1", "a", "op1", t + kS, "h1"), Receipt("r2", "a", "op2", t + 11 * kS, "h2")},
           t + 20 * kS);
  f.Ledger("us", {Receipt("r1", "a", "op1", t + 2 * kS, "h1")}, t + 20 * kS);
  e.Advance(t + 20 * kS);   // E = t + 20s - grace: before both starts
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.pending_ops == 2u);
  BOOST_TEST(s.window_ops == 0u);
  BOOST_TEST(s.held_receipts == 2u);

  f.AllAt(t + 5 * kS + grace);   // E = t + 5s: op1 settles
  s = e.MakeSnapshot(0);
  BOOST_TEST(s.pending_ops == 1u);
  BOOST_TEST(s.window_ops == 1u);

  f.AllAt(t + 10 * kS + grace);   // E = t + 10s: op2 settles too
  s = e.MakeSnapshot(0);
  BOOST_TEST(s.pending_ops == 0u);
  BOOST_TEST(s.window_ops == 2u);
  BOOST_TEST(Settled(s, "a").attested == 2u);

  f.AllAt(t + 20 * kS + 2 * grace);   // E - grace = t + 20s: both receipts released
  s = e.MakeSnapshot(0);
  BOOST_TEST(s.held_receipts == 0u);
  BOOST_TEST(s.window_ops == 2u);

  f.AllAt(t + window + grace);   // E = t + window: op1 (start t) left (E - window, E]
  s = e.MakeSnapshot(0);
  BOOST_TEST(s.window_ops == 1u);
  f.AllAt(t + 10 * kS + window + grace);
  s = e.MakeSnapshot(0);
  BOOST_TEST(s.window_ops == 0u);
  BOOST_TEST(Settled(s, "a").attested == 2u);
}

BOOST_AUTO_TEST_CASE(grace_boundary_is_inclusive_at_now_minus_grace) {
  const Micros grace = 60 * kS;
  Engine e(Opts(600 * kS, grace));
  Feed f{e};
  const Micros t = kT0;
  f.Traces({Span("a", "op1", t, "h")}, t + 10 * grace);
  // Ledgers read far enough; only now - grace limits E.
  f.Ledger("eu", {}, t + 10 * grace);
  f.Ledger("us", {}, t + 10 * grace);
  e.Advance(t + grace - 1);   // E = t - 1: not yet
  BOOST_TEST(e.MakeSnapshot(0).pending_ops == 1u);
  e.Advance(t + grace);       // E = t: settles (t is in (E - window, E])
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.pending_ops == 0u);
  BOOST_TEST(Settled(s, "a").missing == 1u);
  BOOST_TEST(s.window_end == t);
}

BOOST_AUTO_TEST_CASE(window_end_is_held_back_by_the_slowest_source) {
  const Micros grace = 60 * kS;
  Engine e(Opts(600 * kS, grace));
  Feed f{e};
  const Micros now = kT0 + 1000 * kS;
  f.Traces({}, now - 5 * kS);                 // trace store read up to now - 5s
  f.Ledger("eu", {}, now - 5 * kS);
  f.Ledger("us", {}, now - 300 * kS);         // lagging ledger (down for a while)
  e.Advance(now);
  BOOST_TEST(e.window_end() == now - 300 * kS - grace);
  f.Ledger("us", {}, now - 5 * kS);
  e.Advance(now);
  BOOST_TEST(e.window_end() == now - 5 * kS - grace);
  // Never moves back, even if a source reports an older horizon.
  f.Traces({}, now - 900 * kS);
  e.Advance(now);
  BOOST_TEST(e.window_end() == now - 5 * kS - grace);
}

BOOST_AUTO_TEST_CASE(outcomes_attested_missing_divergent_and_unhashed_span) {
  Engine e(Opts());
  Feed f{e};
  f.Traces({Span("a", "ok", kT0, "h1"), Span("a", "miss", kT0 + 1, "h2"), Span("a", "div", kT0 + 2, "h3"),
            Span("a", "nohash", kT0 + 3, "")},
           kT0 + 10 * kS);
  f.Ledger("eu", {Receipt("r1", "a", "ok", kT0 + 5, "h1"), Receipt("r3", "a", "div", kT0 + 6, "OTHER"),
                  Receipt("r4", "a", "nohash", kT0 + 7, "whatever")},
           kT0 + 100 * kS);
  f.AllAt(kT0 + 100 * kS);
  auto s = e.MakeSnapshot(0);
  const auto c = Settled(s, "a");
  BOOST_TEST(c.attested == 2u);
  BOOST_TEST(c.missing == 1u);
  BOOST_TEST(c.divergent == 1u);
  BOOST_TEST(s.divergence.at("a") == 1u);
  const auto* cov = Cov(s, "a");
  BOOST_REQUIRE(cov != nullptr);
  BOOST_TEST(cov->settled_in_window == 4u);
  BOOST_TEST(cov->with_receipt == 3u);
  BOOST_TEST(cov->pct == 75.0);
}

BOOST_AUTO_TEST_CASE(receipt_in_other_ledger_with_matching_hash_attests) {
  Engine e(Opts());
  Feed f{e};
  f.Traces({Span("a", "op", kT0, "good")}, kT0 + 10 * kS);
  f.Ledger("eu", {Receipt("r1", "a", "op", kT0 + 5, "bad")}, kT0 + 1000 * kS);
  f.Ledger("us", {Receipt("r2", "a", "op", kT0 + 5, "good")}, kT0 + 1000 * kS);
  f.AllAt(kT0 + 1000 * kS);
  BOOST_TEST(Settled(e.MakeSnapshot(0), "a").attested == 1u);
}

BOOST_AUTO_TEST_CASE(coverage_window_edges) {
  const Micros window = 600 * kS;
  const Micros grace = 60 * kS;
  Engine e(Opts(window, grace));
  Feed f{e};
  // E will be kT0: window (kT0 - window, kT0].
  f.Traces({Span("a", "at_start", kT0 - window, "h"), Span("a", "after_start", kT0 - window + 1, "h"),
            Span("a", "at_end", kT0, "h"), Span("a", "after_end", kT0 + 1, "h")},
           kT0 + 10 * kS);
  f.Ledger("eu", {}, kT0 + grace);
  f.Ledger("us", {}, kT0 + grace);
  e.Advance(kT0 + grace);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.window_end == kT0);
  // at_start settles (counted) but is already outside (E - window, E].
  BOOST_TEST(Settled(s, "a").missing == 3u);
  BOOST_REQUIRE(Cov(s, "a") != nullptr);
  BOOST_TEST(Cov(s, "a")->settled_in_window == 2u);
  BOOST_TEST(s.pending_ops == 1u);   // after_end
  // Everything leaves the window once E passes it; the gauge then has no sample.
  f.AllAt(kT0 + 2 * window + grace);
  s = e.MakeSnapshot(0);
  BOOST_TEST(Cov(s, "a") == nullptr);
  BOOST_TEST(Settled(s, "a").missing == 4u);
}

BOOST_AUTO_TEST_CASE(duplicate_spans_and_receipts_count_once) {
  Engine e(Opts());
  Feed f{e};
  auto sp = Span("a", "op", kT0, "h");
  f.Traces({sp, sp}, kT0 + 10 * kS);
  auto second = sp;
  second.span_id = "child";
  second.start = kT0 + 5;
  f.Traces({second}, kT0 + 10 * kS);
  auto r = Receipt("r1", "a", "op", kT0 + 5, "h");
  f.Ledger("eu", {r, r}, kT0 + 100 * kS);
  f.Ledger("eu", {r}, kT0 + 100 * kS);
  f.AllAt(kT0 + 100 * kS);
  // And the same span read again after it settled (a re-read) is ignored.
  f.Traces({sp}, kT0 + 100 * kS);
  f.AllAt(kT0 + 101 * kS);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(Settled(s, "a").attested == 1u);
  BOOST_TEST(Cov(s, "a")->settled_in_window == 1u);
}

BOOST_AUTO_TEST_CASE(late_span_beyond_window_is_ignored_late_span_inside_is_settled_once) {
  const Micros window = 600 * kS;
  Engine e(Opts(window));
  Feed f{e};
  f.AllAt(kT0 + 10000 * kS);
  const Micros end = e.window_end();
  f.Traces({Span("a", "ancient", end - window, "h"), Span("a", "late", end - 10 * kS, "h")}, kT0 + 10000 * kS);
  f.AllAt(kT0 + 10000 * kS);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(Settled(s, "a").missing == 1u);
  BOOST_TEST(Cov(s, "a")->settled_in_window == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(divergence)

BOOST_AUTO_TEST_CASE(cross_ledger_receipt_divergence_counts_once_ever) {
  Engine e(Opts());
  Feed f{e};
  const Micros now = kT0 + 100 * kS;
  f.Ledger("eu", {Receipt("r1", "a", "op", kT0, "h1")}, now);
  f.Ledger("us", {Receipt("r1", "a", "op", kT0, "h2")}, now);
  BOOST_TEST(e.MakeSnapshot(0).divergence.at("a") == 1u);
  // Read again (re-poll, replay) from either side: still once.
  f.Ledger("us", {Receipt("r1", "a", "op", kT0, "h2")}, now);
  f.Ledger("eu", {Receipt("r1", "a", "op", kT0, "h1")}, now);
  BOOST_TEST(e.MakeSnapshot(0).divergence.at("a") == 1u);
  // Same receipt, same content in two ledgers: not a divergence.
  f.Ledger("eu", {Receipt("r2", "a", "op2", kT0, "x")}, now);
  f.Ledger("us", {Receipt("r2", "a", "op2", kT0, "x")}, now);
  BOOST_TEST(e.MakeSnapshot(0).divergence.at("a") == 1u);
}

BOOST_AUTO_TEST_CASE(span_divergence_counts_at_settlement_only) {
  Engine e(Opts());
  Feed f{e};
  f.Traces({Span("a", "op", kT0, "span-hash")}, kT0 + 10 * kS);
  f.Ledger("eu", {Receipt("r1", "a", "op", kT0 + 1, "receipt-hash")}, kT0 + 1000 * kS);
  f.AllAt(kT0 + 1000 * kS);
  f.AllAt(kT0 + 1100 * kS);
  f.AllAt(kT0 + 1200 * kS);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.divergence.at("a") == 1u);
  BOOST_TEST(Settled(s, "a").divergent == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(restart)

BOOST_AUTO_TEST_CASE(state_round_trip_does_not_recount_but_rebuilds_the_window) {
  const Micros window = 600 * kS;
  const Micros grace = 60 * kS;
  std::vector<SpanRow> spans = {Span("a", "op1", kT0, "h"), Span("a", "op2", kT0 + kS, "h"),
                                Span("b", "op3", kT0 + 2 * kS, "h")};
  std::vector<ReceiptRow> eu = {Receipt("r1", "a", "op1", kT0 + 10, "h"), Receipt("rx", "b", "opx", kT0, "A")};
  std::vector<ReceiptRow> us = {Receipt("rx", "b", "opx", kT0, "B")};
  AnchoredRow anc{"r1", "a", kT0, kT0 + 12 * 1000};
  const Micros now = kT0 + 200 * kS;

  Engine first(Opts(window, grace));
  Feed f1{first};
  f1.Traces(spans, now);
  f1.Ledger("eu", eu, now, {anc});
  f1.Ledger("us", us, now);
  first.SetAnchoredCursor("eu", {kT0 + 12000, "r1"});
  first.Advance(now);
  const auto before = first.MakeSnapshot(now);
  const auto state = first.ExportState();

  Engine second(Opts(window, grace));
  second.ImportState(state);
  BOOST_TEST(second.AnchoredCursor("eu") != nullptr);
  BOOST_TEST(second.AnchoredCursor("eu")->id == "r1");
  BOOST_TEST(second.ReplayFrom(now) == state.window_end - window - grace);
  // The restarted exporter re-reads the same rows (replay from the window start).
  Feed f2{second};
  f2.Traces(spans, now);
  f2.Ledger("eu", eu, now);
  f2.Ledger("us", us, now);
  second.Advance(now);
  const auto after = second.MakeSnapshot(now);

  BOOST_TEST(Settled(after, "a").attested == Settled(before, "a").attested);
  BOOST_TEST(Settled(after, "a").missing == Settled(before, "a").missing);
  BOOST_TEST(Settled(after, "b").missing == 1u);
  BOOST_TEST(after.divergence.at("b") == 1u);
  BOOST_REQUIRE(Cov(after, "a") != nullptr);
  BOOST_TEST(Cov(after, "a")->settled_in_window == Cov(before, "a")->settled_in_window);
  BOOST_TEST(Cov(after, "a")->pct == Cov(before, "a")->pct);
  const auto key = std::make_pair(std::string("eu-west"), std::string("a"));
  BOOST_TEST(after.anchor_latency.at(key).count == 1u);
  // New operations after the restart are counted.
  f2.Traces({Span("a", "op9", now, "h")}, now + 200 * kS);
  f2.AllAt(now + 200 * kS);
  BOOST_TEST(Settled(second.MakeSnapshot(0), "a").missing == Settled(before, "a").missing + 1);
}

BOOST_AUTO_TEST_CASE(histogram_with_changed_buckets_restarts_from_zero) {
  Engine first(Opts());
  Feed f{first};
  f.Ledger("eu", {}, kT0, {AnchoredRow{"r", "a", kT0, kT0 + 7000}});
  auto st = first.ExportState();
  auto o = Opts();
  o.latency_bounds_ms = {1, 2, 3};
  Engine second(o);
  second.ImportState(st);
  BOOST_TEST(second.MakeSnapshot(0).anchor_latency.empty());
  Engine third(Opts());
  third.ImportState(st);
  BOOST_TEST(third.MakeSnapshot(0).anchor_latency.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(latency)

BOOST_AUTO_TEST_CASE(bucketing_uses_le_semantics) {
  Engine e(Opts());
  Feed f{e};
  auto a = [](const std::string& id, double ms) {
    return AnchoredRow{id, "a", kT0, kT0 + static_cast<Micros>(ms * 1000)};
  };
  f.Ledger("eu", {}, kT0, {a("1", 5), a("2", 5.001), a("3", 0), a("4", 500), a("5", 500.001), a("6", 30)});
  auto s = e.MakeSnapshot(0);
  const auto& h = s.anchor_latency.at({"eu-west", "a"});
  // bounds 5,10,15,20,30,50,100,250,500 (non-cumulative per bucket)
  std::vector<std::uint64_t> want = {2, 1, 0, 0, 1, 0, 0, 0, 1};
  BOOST_TEST(h.bucket_counts == want, boost::test_tools::per_element());
  BOOST_TEST(h.count == 6u);
  BOOST_TEST(h.sum == 5 + 5.001 + 0 + 500 + 500.001 + 30, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(negative_latency_is_a_decode_error_not_an_observation) {
  Engine e(Opts());
  Feed f{e};
  f.Ledger("eu", {}, kT0, {AnchoredRow{"1", "a", kT0, kT0 - 1}});
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.anchor_latency.empty());
  BOOST_TEST(s.sources[0].errors[static_cast<int>(ErrorKind::kDecode)] == 1u);
}

BOOST_AUTO_TEST_CASE(per_tenant_switch_collapses_the_tenant_label) {
  auto o = Opts();
  o.latency_per_tenant = false;
  Engine e(o);
  Feed f{e};
  f.Ledger("eu", {}, kT0, {AnchoredRow{"1", "a", kT0, kT0 + 1000}, AnchoredRow{"2", "b", kT0, kT0 + 1000}});
  f.Ledger("us", {}, kT0, {AnchoredRow{"3", "a", kT0, kT0 + 1000}});
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.anchor_latency.size() == 2u);
  BOOST_TEST(s.anchor_latency.at({"eu-west", ""}).count == 2u);
  BOOST_TEST(s.anchor_latency.at({"us-east", ""}).count == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tenants)

BOOST_AUTO_TEST_CASE(cap_admits_first_n_and_counts_each_dropped_tenant_once) {
  auto o = Opts();
  o.tenants.max = 2;
  Engine e(o);
  Feed f{e};
  f.Traces({Span("a", "1", kT0, "h"), Span("b", "2", kT0, "h"), Span("c", "3", kT0, "h"), Span("c", "4", kT0, "h"),
            Span("d", "5", kT0, "h")},
           kT0);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.tenants == 2u);
  BOOST_TEST(s.tenants_dropped == 2u);
  BOOST_TEST(s.pending_ops == 2u);
}

BOOST_AUTO_TEST_CASE(allow_deny_and_shard) {
  TenantPolicy p;
  p.allow = {"tenant-.*"};
  p.deny = {"tenant-test.*"};
  TenantRegistry r(p);
  BOOST_TEST(r.Admit("tenant-1") >= 0);
  BOOST_TEST(r.Admit("tenant-test-9") == TenantRegistry::kFiltered);
  BOOST_TEST(r.Admit("other") == TenantRegistry::kFiltered);
  BOOST_TEST(r.Admit("xtenant-1") == TenantRegistry::kFiltered);   // full match, not search
  BOOST_TEST(r.dropped() == 0u);

  // Two shards split tenants without overlap and without loss.
  TenantPolicy s0, s1;
  s0.shard_total = s1.shard_total = 2;
  s1.shard_index = 1;
  TenantRegistry r0(s0), r1(s1);
  int both = 0, none = 0;
  for (int i = 0; i < 200; ++i) {
    const auto name = Named("tenant-", i);
    const bool in0 = r0.Admit(name) >= 0, in1 = r1.Admit(name) >= 0;
    both += in0 && in1;
    none += !in0 && !in1;
  }
  BOOST_TEST(both == 0);
  BOOST_TEST(none == 0);
  BOOST_TEST(r0.size() > 60u);
  BOOST_TEST(r1.size() > 60u);
}

BOOST_AUTO_TEST_CASE(patterns_are_re2_full_match) {
  TenantPolicy p;
  p.allow = {"(?i)acme-[0-9]+", "globex|initech"};
  TenantRegistry r(p);
  BOOST_TEST(r.Admit("ACME-12") >= 0);
  BOOST_TEST(r.Admit("globex") >= 0);
  BOOST_TEST(r.Admit("globex2") == TenantRegistry::kFiltered);   // the alternation is anchored as a whole
  BOOST_TEST(r.Admit("xinitech") == TenantRegistry::kFiltered);
  // The loader and the registry share one rule.
  BOOST_TEST(TenantPatternError("a(b") != "");
  BOOST_TEST(TenantPatternError(std::string(kMaxTenantPatternBytes + 1, 'a')).find("the limit is 4096") !=
             std::string::npos);
  BOOST_TEST(TenantPatternError(std::string(kMaxTenantPatternBytes, 'a')) == "");
  TenantPolicy bad;
  bad.deny = {std::string(100000, '(')};
  BOOST_CHECK_THROW(TenantRegistry{bad}, std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(stable_hash_is_fnv1a64) {
  // Published FNV-1a 64 test vectors: replicas on any build must agree.
  BOOST_TEST(StableHash64("") == 0xcbf29ce484222325ULL);
  BOOST_TEST(StableHash64("a") == 0xaf63dc4c8601ec8cULL);
  BOOST_TEST(StableHash64("foobar") == 0x85944171f73967e8ULL);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(flags)

BOOST_AUTO_TEST_CASE(flags_replace_previous_set) {
  Engine e(Opts());
  FlagsBatch b;
  b.source = "flags";
  b.flags = {{"a", "checkout", 25}, {"b", "checkout", 100}};
  e.ApplyFlags(b);
  BOOST_TEST(e.MakeSnapshot(0).ramp.size() == 2u);
  b.flags = {{"a", "checkout", 50}};
  e.ApplyFlags(b);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.ramp.size() == 1u);
  BOOST_TEST(s.ramp.at({"a", "checkout"}) == 50.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(health)

BOOST_AUTO_TEST_CASE(failing_source_changes_only_its_own_health) {
  Engine e(Opts());
  PollReport ok;
  ok.source = "eu";
  ok.success = true;
  ok.rows_read = 10;
  ok.duration_seconds = 0.02;
  ok.finished_at = kT0;
  e.RecordPoll(ok);
  PollReport bad;
  bad.source = "us";
  bad.kind = SourceKind::kLedger;
  bad.success = false;
  bad.errors[static_cast<int>(ErrorKind::kConnect)] = 1;
  bad.error = "connection refused";
  e.RecordPoll(bad);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.sources[0].up);
  BOOST_TEST(s.sources[0].rows_read == 10u);
  BOOST_TEST(s.sources[0].last_success_seconds == 1.8e9);
  BOOST_TEST(s.sources[0].poll_duration.bucket_counts[2] == 1u);   // 0.02 <= 0.025
  BOOST_TEST(!s.sources[1].up);
  BOOST_TEST(s.sources[1].errors[static_cast<int>(ErrorKind::kConnect)] == 1u);
  BOOST_TEST(s.sources[1].last_error == "connection refused");
  BOOST_TEST(s.sources[0].errors[static_cast<int>(ErrorKind::kConnect)] == 0u);
}

BOOST_AUTO_TEST_CASE(stopped_poll_counts_delivered_rows_but_is_not_a_failure) {
  Engine e(Opts());
  PollReport ok;
  ok.source = "eu";
  ok.success = true;
  ok.rows_read = 10;
  ok.duration_seconds = 0.02;
  ok.finished_at = kT0;
  e.RecordPoll(ok);
  PollReport stopped;
  stopped.source = "eu";
  stopped.success = false;
  stopped.error = "stopped";
  stopped.rows_read = 5000;
  stopped.duration_seconds = 3;
  stopped.errors[static_cast<int>(ErrorKind::kDecode)] = 3;
  stopped.errors[static_cast<int>(ErrorKind::kQuery)] = 1;
  e.RecordDelivered(stopped);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.sources[0].up);
  BOOST_TEST(s.sources[0].last_error.empty());
  BOOST_TEST(s.sources[0].rows_read == 5010u);
  BOOST_TEST(s.sources[0].errors[static_cast<int>(ErrorKind::kDecode)] == 3u);
  BOOST_TEST(s.sources[0].errors[static_cast<int>(ErrorKind::kQuery)] == 0u, "a stop is not a query error");
  BOOST_TEST(s.sources[0].poll_duration.count == 1u, "a stopped poll is not a poll duration sample");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(review_fixes)

BOOST_AUTO_TEST_CASE(receipt_created_after_grace_never_attests_whenever_it_is_read) {
  const Micros grace = 60 * kS;
  for (bool ledger_lagging : {false, true}) {
    Engine e(Opts(600 * kS, grace));
    Feed f{e};
    f.Traces({Span("a", "op", kT0, "h")}, kT0 + 1000 * kS);
    // Created 10 minutes after the operation: far past the flush delay.
    f.Ledger("eu", {Receipt("r", "a", "op", kT0 + 600 * kS, "h")}, kT0 + 700 * kS);
    f.Ledger("us", {}, ledger_lagging ? kT0 + 30 * kS : kT0 + 700 * kS);
    e.Advance(kT0 + 700 * kS);
    f.Ledger("us", {}, kT0 + 700 * kS);
    e.Advance(kT0 + 700 * kS);
    const auto c = Settled(e.MakeSnapshot(0), "a");
    BOOST_TEST(c.missing == 1u);
    BOOST_TEST(c.attested == 0u);
  }
  // A receipt created exactly at start + grace still counts.
  Engine e(Opts(600 * kS, grace));
  Feed f{e};
  f.Traces({Span("a", "op", kT0, "h")}, kT0 + 1000 * kS);
  f.Ledger("eu", {Receipt("r", "a", "op", kT0 + grace, "h")}, kT0 + 1000 * kS);
  f.AllAt(kT0 + 1000 * kS);
  BOOST_TEST(Settled(e.MakeSnapshot(0), "a").attested == 1u);
}

BOOST_AUTO_TEST_CASE(operation_takes_earliest_span_and_first_attested_hash) {
  Engine e(Opts());
  Feed f{e};
  // The child span (with the hash) ends first and is read first; the root
  // (earlier start, no hash) comes later.
  auto child = Span("a", "op", kT0 + 5 * kS, "H1");
  auto root = Span("a", "op", kT0, "");
  root.span_id = "root";
  f.Traces({child}, kT0 + 6 * kS);
  f.Traces({root}, kT0 + 7 * kS);
  f.Ledger("eu", {Receipt("r", "a", "op", kT0 + kS, "H2")}, kT0 + 100 * kS);
  // E = kT0 + 2s: only the root's start is covered; the op must settle now.
  f.Ledger("us", {}, kT0 + 62 * kS);
  f.Ledger("eu", {}, kT0 + 62 * kS);
  e.Advance(kT0 + 62 * kS);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.pending_ops == 0u);
  BOOST_TEST(Settled(s, "a").divergent == 1u);   // H1 vs H2: not hidden by the hashless root
  f.AllAt(kT0 + 100 * kS);
  BOOST_TEST(Settled(e.MakeSnapshot(0), "a").divergent == 1u);   // and settled once
}

BOOST_AUTO_TEST_CASE(ledger_only_config_prunes_receipts) {
  EngineOptions o = Opts();
  o.sources = {{"eu", SourceKind::kLedger, "eu-west"}};
  Engine e(o);
  Feed f{e};
  for (int i = 0; i < 100; ++i) {
    f.Ledger("eu", {Receipt(Named("r", i), "a", Named("op", i), kT0 + i * kS, "h")},
             kT0 + i * kS);
    e.Advance(kT0 + i * kS);
  }
  // Kept: created within grace (60s) of the read horizon.
  BOOST_TEST(e.retained_receipts() <= 62u);
  BOOST_TEST(e.retained_receipts() >= 59u);
}

BOOST_AUTO_TEST_CASE(a_down_trace_store_bounds_how_far_ledgers_read_ahead) {
  Engine e(Opts(600 * kS, 60 * kS));
  Feed f{e};
  f.AllAt(kT0);
  // Trace store stops; ledgers keep being read. E cannot move.
  for (int i = 1; i <= 50; ++i) {
    f.Ledger("eu", {Receipt(Named("r", i), "a", Named("op", i), kT0 + i * kS, "h")},
             kT0 + i * kS);
    f.Ledger("us", {}, kT0 + i * kS);
    e.Advance(kT0 + i * kS);
  }
  // E follows the stalled trace store's horizon no further than it was read.
  BOOST_TEST(e.window_end() == kT0 - 10 * kS);
  BOOST_TEST(e.retained_receipts() == 50u);   // still needed: E has not passed them
  // Backpressure: a ledger's receipts may not be read further than the
  // trace store's horizon + read_ahead (here max(600 s / 8, 4 x 60 s, 5 min)).
  BOOST_TEST(e.options().read_ahead == 300 * kS);
  BOOST_TEST(e.ReadLimit("eu", kT0 + 50 * kS) == kT0 + 300 * kS);
  // And the trace store not further than the slowest ledger + read_ahead.
  BOOST_TEST(e.ReadLimit("traces", kT0 + 50 * kS) == kT0 + 50 * kS + 300 * kS);
  BOOST_TEST(e.ReadLimit("flags", kT0) == kMaxMicros);
}

BOOST_AUTO_TEST_CASE(tenants_dropped_is_not_counted_again_after_a_reload) {
  auto o = Opts();
  o.tenants.max = 1;
  Engine first(o);
  Feed f{first};
  f.Traces({Span("a", "1", kT0, "h"), Span("b", "2", kT0, "h")}, kT0);
  BOOST_TEST(first.MakeSnapshot(0).tenants_dropped == 1u);
  Engine second(o);
  second.ImportState(first.ExportState());
  Feed g{second};
  g.Traces({Span("a", "3", kT0, "h"), Span("b", "4", kT0, "h")}, kT0);
  BOOST_TEST(second.MakeSnapshot(0).tenants_dropped == 1u);
}

BOOST_AUTO_TEST_CASE(region_latency_without_tenant_label_ignores_the_cap) {
  auto o = Opts();
  o.tenants.max = 1;
  o.latency_per_tenant = false;
  Engine e(o);
  Feed f{e};
  f.Ledger("eu", {}, kT0, {AnchoredRow{"1", "a", kT0, kT0 + 1000}, AnchoredRow{"2", "b", kT0, kT0 + 1000},
                            AnchoredRow{"3", "c", kT0, kT0 + 1000}});
  BOOST_TEST(e.MakeSnapshot(0).anchor_latency.at({"eu-west", ""}).count == 3u);
}

BOOST_AUTO_TEST_CASE(divergence_key_cap_forgets_the_oldest_but_still_counts) {
  auto o = Opts();
  o.max_divergence_keys = 1;
  Engine e(o);
  Feed f{e};
  f.Ledger("eu", {Receipt("r1", "a", "o1", kT0, "A"), Receipt("r2", "a", "o2", kT0 + 1, "A")}, kT0);
  f.Ledger("us", {Receipt("r1", "a", "o1", kT0, "B"), Receipt("r2", "a", "o2", kT0 + 1, "B")}, kT0);
  BOOST_TEST(e.MakeSnapshot(0).divergence.at("a") == 2u);
  BOOST_TEST(e.ExportState().counted_receipt_divergences.size() == 1u);
}

BOOST_AUTO_TEST_CASE(cross_ledger_copies_further_apart_than_grace_are_not_compared) {
  Engine e(Opts(600 * kS, 60 * kS));
  Feed f{e};
  f.Ledger("eu", {Receipt("r1", "a", "o1", kT0, "A")}, kT0);
  f.Ledger("us", {Receipt("r1", "a", "o1", kT0 + 61 * kS, "B")}, kT0 + 61 * kS);
  BOOST_TEST(e.MakeSnapshot(0).divergence.count("a") == 0u);
}

BOOST_AUTO_TEST_CASE(ledgers_sharing_a_region_add_depth_and_keep_the_newest_proof) {
  auto o = Opts();
  o.sources[1].region = "eu-west";
  Engine e(o);
  LedgerBatch a, b;
  a.source = "eu";
  a.queue_depth = 3;
  a.proofs_last_ts = 100;
  b.source = "us";
  b.queue_depth = 4;
  b.proofs_last_ts = 90;
  e.ApplyLedger(a);
  e.ApplyLedger(b);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(s.queue_depth.at("eu-west") == 7);
  BOOST_TEST(s.proofs_last_ts.at("eu-west") == 100.0);
  BOOST_TEST(s.queue_depth.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(window_order)

// The settled window is kept oldest-start-first in a FIFO (settled_window.hh);
// an operation whose span is read late settles after operations that start
// later, and must still leave the window exactly when E - window passes its
// own start, with its own tenant and receipt flag.
BOOST_AUTO_TEST_CASE(late_settled_operation_leaves_the_window_by_its_own_start) {
  const Micros window = 600 * kS;
  const Micros grace = 60 * kS;
  Engine e(Opts(window, grace));
  Feed f{e};
  f.Traces({Span("a", "op1", kT0, ""), Span("b", "op2", kT0 + 200 * kS, "")}, kT0 + 260 * kS);
  f.AllAt(kT0 + 260 * kS);   // E = kT0 + 200 s: both settle
  BOOST_TEST(e.window_end() == kT0 + 200 * kS);
  // op3 starts between them but is read only now; it has a receipt.
  f.Traces({Span("c", "op3", kT0 + 100 * kS, "")}, kT0 + 270 * kS);
  f.Ledger("eu", {Receipt("r3", "c", "op3", kT0 + 101 * kS, "h")}, kT0 + 270 * kS);
  f.AllAt(kT0 + 270 * kS);
  auto s = e.MakeSnapshot(0);
  BOOST_TEST(Settled(s, "c").attested == 1u);
  BOOST_REQUIRE(Cov(s, "c") != nullptr);
  BOOST_TEST(Cov(s, "c")->with_receipt == 1u);
  // E - window = kT0 + 50 s: op1 leaves, op3 and op2 stay.
  f.AllAt(kT0 + window + grace + 50 * kS);
  s = e.MakeSnapshot(0);
  BOOST_TEST(Cov(s, "a") == nullptr);
  BOOST_REQUIRE(Cov(s, "c") != nullptr);
  BOOST_REQUIRE(Cov(s, "b") != nullptr);
  // E - window = kT0 + 100 s (inclusive edge): op3 leaves though op2, settled before it, stays.
  f.AllAt(kT0 + window + grace + 100 * kS);
  s = e.MakeSnapshot(0);
  BOOST_TEST(Cov(s, "c") == nullptr);
  BOOST_REQUIRE(Cov(s, "b") != nullptr);
  BOOST_TEST(Cov(s, "b")->settled_in_window == 1u);
  BOOST_TEST(Cov(s, "b")->with_receipt == 0u);
  // op3's key left with it: a re-read of its span now is too old and ignored.
  f.Traces({Span("c", "op3", kT0 + 100 * kS, "")}, kT0 + window + grace + 100 * kS);
  f.AllAt(kT0 + window + grace + 200 * kS);
  s = e.MakeSnapshot(0);
  BOOST_TEST(Cov(s, "b") == nullptr);
  BOOST_TEST(Settled(s, "c").attested == 1u);
  BOOST_TEST(s.pending_ops == 0u);
}

// Many operations, spans in shuffled order across polls (some read late),
// one shared key space: window counts equal a direct recount at every step.
BOOST_AUTO_TEST_CASE(window_counts_match_a_recount_under_late_spans) {
  const Micros window = 300 * kS;
  const Micros grace = 30 * kS;
  Engine e(Opts(window, grace));
  Feed f{e};
  std::vector<std::pair<Micros, std::string>> settled;   // start, tenant of every settled op
  std::uint64_t x = 12345;
  auto rnd = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int seq = 0;
  for (Micros now = kT0 + 10 * kS; now <= kT0 + 1500 * kS; now += 10 * kS) {
    std::vector<SpanRow> spans;
    for (int i = 0; i < 40; ++i, ++seq) {
      // Mostly recent starts; 1 in 8 starts up to 200 s back (read late).
      const Micros back = rnd() % 8 == 0 ? static_cast<Micros>(rnd() % (200 * kS)) : static_cast<Micros>(rnd() % (10 * kS));
      const std::string tenant = Named("t", rnd() % 5);
      spans.push_back(Span(tenant, Named("op", seq), now - back, ""));
    }
    const Micros end_before = e.window_end();
    for (const auto& s : spans) {
      // Model of ApplyTrace + Advance for unique ops: dropped when too old.
      if (end_before != kMinMicros && s.start <= end_before - window) continue;
      settled.emplace_back(s.start, s.tenant);
    }
    f.Traces(spans, now);
    f.AllAt(now);
    const Micros end = e.window_end();
    std::map<std::string, std::uint64_t> expect;
    for (const auto& [start, tenant] : settled) {
      if (start <= end && start > end - window) ++expect[tenant];
    }
    const auto snap = e.MakeSnapshot(0);
    for (int t = 0; t < 5; ++t) {
      const std::string name = Named("t", t);
      const auto* c = Cov(snap, name);
      BOOST_TEST_REQUIRE((c == nullptr ? 0u : c->settled_in_window) == expect[name]);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 15: a cold start or a restart reads the replayed window in steps of
// read_ahead and settles it as it goes (Engine::ReadLimit), so it holds one
// step of pending operations and receipts, not the whole window; the numbers
// at the end are those of reading everything at once.
BOOST_AUTO_TEST_SUITE(stepped_replay)

namespace {

// A history: one operation every 2 s for `hours`, a span at t and a receipt
// at t + 1 s in eu and in us; every 10th operation has no receipt, every
// 7th one a receipt whose content differs (eu only), every 13th a copy in us
// that differs from eu's (cross-ledger divergence).
struct History {
  std::vector<SpanRow> spans;
  std::vector<ReceiptRow> eu, us;
  explicit History(Micros from, Micros to) {
    int i = 0;
    for (Micros t = from; t < to; t += 2 * kS, ++i) {
      const std::string tenant = Named("t", i % 5);
      const std::string op = Named("op", i);
      spans.push_back(Span(tenant, op, t, "h"));
      if (i % 10 == 0) continue;
      eu.push_back(Receipt(Named("r", i), tenant, op, t + kS, i % 7 == 0 ? "x" : "h"));
      us.push_back(Receipt(Named("r", i), tenant, op, t + kS, i % 13 == 0 ? "y" : (i % 7 == 0 ? "x" : "h")));
    }
  }
};

struct Peak {
  std::uint64_t pending = 0, receipts = 0;
  int polls = 0;
  bool coverage_while_rebuilding = false;
};

// Reads `h` into `e` as the exporter's pollers do, from `e.ReplayFrom(now)`
// up to the live horizon `now`: each source in turn gets its ReadLimit
// (`stepped`) or no limit, and the engine advances after every poll.
Peak Replay(Engine& e, const History& h, Micros now, bool stepped) {
  Peak peak;
  const Micros from = e.ReplayFrom(now);
  std::map<std::string, Micros> cursor{{"eu", from}, {"us", from}, {"traces", from}};
  bool more = true;
  while (more) {
    more = false;
    for (const std::string name : {"traces", "eu", "us"}) {
      const Micros limit = stepped ? e.ReadLimit(name, now) : kMaxMicros;
      const Micros horizon = std::min(now, limit);
      if (horizon <= cursor[name] && horizon < now) continue;   // held back
      const bool limited = horizon < now;
      more = more || limited;
      if (name == "traces") {
        TraceBatch b;
        b.source = name;
        for (const auto& s : h.spans) {
          if (s.start > cursor[name] && s.start <= horizon) b.spans.push_back(s);
        }
        b.complete_upto = horizon;
        b.limited = limited;
        e.ApplyTrace(b);
      } else {
        LedgerBatch b;
        b.source = name;
        b.region = name == "eu" ? "eu-west" : "us-east";
        for (const auto& r : name == "eu" ? h.eu : h.us) {
          if (r.created_at > cursor[name] && r.created_at <= horizon) b.receipts.push_back(r);
        }
        b.receipts_complete_upto = b.anchored_complete_upto = horizon;
        b.receipts_limited = limited;
        e.ApplyLedger(b);
      }
      cursor[name] = std::max(cursor[name], horizon);
      e.Advance(now);
      ++peak.polls;
      const Snapshot s = e.MakeSnapshot(now);
      peak.pending = std::max(peak.pending, s.pending_ops);
      peak.receipts = std::max(peak.receipts, s.held_receipts);
      if (!e.caught_up() && !s.coverage.empty()) peak.coverage_while_rebuilding = true;
    }
  }
  return peak;
}

void CheckSameNumbers(const Snapshot& a, const Snapshot& b) {
  BOOST_TEST(a.window_end == b.window_end);
  BOOST_REQUIRE(a.coverage.size() == b.coverage.size());
  for (std::size_t i = 0; i < a.coverage.size(); ++i) {
    BOOST_TEST(a.coverage[i].tenant == b.coverage[i].tenant);
    BOOST_TEST(a.coverage[i].settled_in_window == b.coverage[i].settled_in_window);
    BOOST_TEST(a.coverage[i].with_receipt == b.coverage[i].with_receipt);
  }
  BOOST_TEST(a.settled.size() == b.settled.size());
  for (const auto& [tenant, c] : a.settled) {
    const auto& d = Settled(b, tenant);
    BOOST_TEST(c.attested == d.attested);
    BOOST_TEST(c.divergent == d.divergent);
    BOOST_TEST(c.missing == d.missing);
  }
  BOOST_TEST((a.divergence == b.divergence));
  BOOST_TEST(a.window_ops == b.window_ops);
}

EngineOptions HourWindow() {
  EngineOptions o = Opts(3600 * kS, 120 * kS);   // read_ahead: max(7.5 min, 8 min, 5 min) = 8 min
  o.sources.pop_back();                          // no flags source
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_cold_start_settles_the_window_in_steps_with_the_same_numbers) {
  const Micros now = kT0 + 3 * 3600 * kS;
  const History h(kT0, now);
  Engine stepped(HourWindow()), at_once(HourWindow());
  BOOST_TEST(stepped.options().read_ahead == 480 * kS);
  const Peak p = Replay(stepped, h, now, true);
  const Peak q = Replay(at_once, h, now, false);
  BOOST_TEST(stepped.caught_up());
  CheckSameNumbers(stepped.MakeSnapshot(now), at_once.MakeSnapshot(now));
  const auto window_ops = at_once.MakeSnapshot(now).window_ops;
  BOOST_TEST(window_ops > 1700u);   // 1 h of one operation every 2 s
  // Read at once, the whole replayed window (1 h + 2 grace) is pending.
  BOOST_TEST(q.pending > window_ops);
  // In steps: at most read_ahead + grace of operations (8 + 2 min, 300)
  // pending, and twice that of receipts held (ledgers may run read_ahead
  // past the trace store), against the 1,900 of the window.
  BOOST_TEST(p.pending <= 330u);
  BOOST_TEST(p.receipts <= 630u);
  BOOST_TEST(p.polls >= 9);   // 66 min in steps of 8 min, sources leapfrogging
  // No coverage is shown for a window not yet rebuilt.
  BOOST_TEST(!p.coverage_while_rebuilding);
}

BOOST_AUTO_TEST_CASE(a_restart_rebuilds_the_window_in_steps_and_counts_nothing_twice) {
  const Micros saved_at = kT0 + 2 * 3600 * kS;
  const Micros now = saved_at + 1800 * kS;   // down for half an hour
  const History h(kT0, now);
  Engine first(HourWindow());
  Replay(first, h, saved_at, false);
  const PersistentState state = first.ExportState();
  BOOST_REQUIRE(state.window_end > kMinMicros);

  Engine stepped(HourWindow()), at_once(HourWindow());
  stepped.ImportState(state);
  at_once.ImportState(state);
  // Until the window is rebuilt, the restored E is shown, without coverage.
  BOOST_TEST(stepped.MakeSnapshot(now).window_end == state.window_end);
  const Peak p = Replay(stepped, h, now, true);
  Replay(at_once, h, now, false);
  CheckSameNumbers(stepped.MakeSnapshot(now), at_once.MakeSnapshot(now));
  BOOST_TEST(p.pending <= 330u);
  BOOST_TEST(p.receipts <= 630u);
  BOOST_TEST(!p.coverage_while_rebuilding);
  // Counted once: the totals are those of the engine that never stopped.
  Replay(first, h, now, false);
  const auto a = stepped.MakeSnapshot(now), b = first.MakeSnapshot(now);
  BOOST_TEST(b.settled.size() == 5u);
  for (const auto& [tenant, c] : b.settled) {
    BOOST_TEST(Settled(a, tenant).attested == c.attested);
    BOOST_TEST(Settled(a, tenant).missing == c.missing);
    BOOST_TEST(Settled(a, tenant).divergent == c.divergent);
  }
}

BOOST_AUTO_TEST_CASE(read_ahead_default_never_holds_back_steady_state) {
  BOOST_TEST(EngineOptions::DefaultReadAhead(3600 * kS, 120 * kS, 30 * kS) == 480 * kS);
  BOOST_TEST(EngineOptions::DefaultReadAhead(24 * 3600 * kS, 120 * kS, 30 * kS) == 3 * 3600 * kS);
  BOOST_TEST(EngineOptions::DefaultReadAhead(60 * kS, 0, 0) == 300 * kS);
  BOOST_TEST(EngineOptions::DefaultReadAhead(600 * kS, 60 * kS, 600 * kS) == 1200 * kS);
}

BOOST_AUTO_TEST_SUITE_END()
