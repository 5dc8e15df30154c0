// Integration tests of the sources against a real PostgreSQL (one server
// for the whole binary, one database per test case).
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE integration_sources
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common.hh"
#include "source/factory.hh"
#include "source/flags_source.hh"
#include "source/ledger_source.hh"
#include "source/trace_source.hh"

using namespace provledger;
using namespace provledger::itest;
using namespace provledger::source;
using namespace std::chrono_literals;

namespace provledger {
inline std::ostream& operator<<(std::ostream& os, ErrorKind k) { return os << ErrorKindName(k); }
namespace source {
inline std::ostream& operator<<(std::ostream& os, const StreamCursor& c) { return os << c.ts << "/" << c.id; }
}  // namespace source
}  // namespace provledger

namespace {

constexpr Micros kT0 = 1'700'000'000'000'000;   // 2023-11-14T22:13:20Z
constexpr Micros kMs = 1000;
constexpr Micros kSec = 1'000'000;

int K(ErrorKind k) { return static_cast<int>(k); }

bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

LedgerBatch PollOk(LedgerSource& s) {
  PollResult r = s.Poll();
  BOOST_TEST_REQUIRE(r.report.success, "poll failed: " << r.report.error);
  auto* b = std::get_if<LedgerBatch>(&r.batch);
  BOOST_TEST_REQUIRE(b != nullptr);
  return std::move(*b);
}

TraceBatch PollOk(TraceSource& s) {
  PollResult r = s.Poll();
  BOOST_TEST_REQUIRE(r.report.success, "poll failed: " << r.report.error);
  auto* b = std::get_if<TraceBatch>(&r.batch);
  BOOST_TEST_REQUIRE(b != nullptr);
  return std::move(*b);
}

std::vector<std::string> Ids(const std::vector<ReceiptRow>& v) {
  std::vector<std::string> out;
  for (const auto& r : v) out.push_back(r.receipt_id);
  return out;
}
std::vector<std::string> Ids(const std::vector<AnchoredRow>& v) {
  std::vector<std::string> out;
  for (const auto& r : v) out.push_back(r.receipt_id);
  return out;
}
std::vector<std::string> Ids(const std::vector<SpanRow>& v) {
  std::vector<std::string> out;
  for (const auto& r : v) out.push_back(r.span_id);
  return out;
}
using Strings = std::vector<std::string>;

SourceOptions Opts(CapturedLog* log = nullptr) {
  SourceOptions o;
  if (log) o.log = log->Fn();
  return o;
}

}  // namespace

// ---------------------------------------------------------------- reference

BOOST_AUTO_TEST_CASE(ledger_reference_rows_decoded) {
  const std::string db = NewReferenceDb("ref");
  std::vector<Rx> rows;
  for (int i = 1; i <= 6; ++i) {
    Rx r;
    r.id = "r0" + std::to_string(i);
    r.tenant = i % 2 ? "acme" : "globex";
    r.created_us = kT0 + i * kMs;
    rows.push_back(r);
  }
  rows[1].anchored_us = rows[1].created_us + 7 * kMs;
  rows[3].anchored_us = rows[3].created_us + 12 * kMs;
  rows[4].anchored_us = rows[4].created_us + 300 * kMs;
  rows[5].version = 1;
  InsertReference(db, rows);
  Server().Exec(db,
                "INSERT INTO notary_proofs VALUES ('eu-west:r02', 'n1', timestamptz 'epoch' + interval '1700000005 s'),"
                "('eu-west:r04', 'n2', timestamptz 'epoch' + interval '1700000009.25 s')");
  SetClock(db, kT0 + 60 * kSec);

  config::Ledger cfg = LedgerConfig(db, "eu");
  cfg.queries.clock = kFakeClockQuery;
  LedgerSource src(cfg, Opts());
  BOOST_TEST(src.name() == "eu");
  BOOST_TEST((src.kind() == SourceKind::kLedger));

  PollResult res = src.Poll();
  BOOST_TEST_REQUIRE(res.report.success, res.report.error);
  BOOST_TEST(res.report.source == "eu");
  BOOST_TEST(res.report.rows_read == 9u);
  for (int k = 0; k < kErrorKinds; ++k) BOOST_TEST(res.report.errors[k] == 0u);
  BOOST_TEST(res.report.finished_at > 0);
  BOOST_TEST(src.last_error().empty());
  const LedgerBatch& b = std::get<LedgerBatch>(res.batch);
  BOOST_TEST(b.source == "eu");
  BOOST_TEST(b.region == "eu-west");
  BOOST_TEST(Ids(b.receipts) == (Strings{"r01", "r02", "r03", "r04", "r05", "r06"}), boost::test_tools::per_element());
  const ReceiptRow& r1 = b.receipts[0];
  BOOST_TEST(r1.tenant == "acme");
  BOOST_TEST(r1.op_id == "op-r01");
  BOOST_TEST(r1.region == "eu-west");
  BOOST_TEST(r1.policy_version == "p1");
  BOOST_TEST(r1.kid == "k1");
  BOOST_TEST(r1.version == 2);
  BOOST_TEST(r1.content_hash == "h-r01");
  BOOST_TEST(r1.created_at == kT0 + kMs);
  BOOST_TEST(b.receipts[1].tenant == "globex");
  BOOST_TEST(b.receipts[5].version == 1);
  BOOST_TEST(Ids(b.anchored) == (Strings{"r02", "r04", "r05"}), boost::test_tools::per_element());
  BOOST_TEST(b.anchored[0].created_at == kT0 + 2 * kMs);
  BOOST_TEST(b.anchored[0].anchored_at == kT0 + 9 * kMs);
  BOOST_TEST(b.anchored[2].anchored_at - b.anchored[2].created_at == 300 * kMs);
  BOOST_TEST(b.anchored[1].tenant == "globex");
  BOOST_TEST_REQUIRE(b.queue_depth.has_value());
  BOOST_TEST(*b.queue_depth == 3);
  BOOST_TEST_REQUIRE(b.proofs_last_ts.has_value());
  BOOST_TEST(*b.proofs_last_ts == 1700000009.25);
  BOOST_TEST(b.receipts_complete_upto == kT0 + 55 * kSec);
  BOOST_TEST(b.anchored_complete_upto == kT0 + 55 * kSec);

  LedgerCursors c = src.cursors();
  BOOST_TEST(c.receipts.ts == kT0 + 6 * kMs);
  BOOST_TEST(c.receipts.id == "r06");
  BOOST_TEST(c.anchored.ts == kT0 + 305 * kMs);
  BOOST_TEST(c.anchored.id == "r05");

  // Nothing new: nothing read.
  res = src.Poll();
  BOOST_TEST_REQUIRE(res.report.success);
  BOOST_TEST(res.report.rows_read == 0u);
  BOOST_TEST(std::get<LedgerBatch>(res.batch).receipts.empty());
  BOOST_TEST(std::get<LedgerBatch>(res.batch).queue_depth.value() == 3);
}

BOOST_AUTO_TEST_CASE(ledger_empty_proofs_is_no_value) {
  const std::string db = NewReferenceDb("noproofs");
  SetClock(db, kT0);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  LedgerSource src(cfg, Opts());
  LedgerBatch b = PollOk(src);
  BOOST_TEST(!b.proofs_last_ts.has_value());
  BOOST_TEST(b.queue_depth.value() == 0);
}

BOOST_AUTO_TEST_CASE(ledger_incremental_reads_only_new_rows) {
  const std::string db = NewReferenceDb("incr");
  SetClock(db, kT0 + 3600 * kSec);
  InsertReference(db, {{"a1", "acme", kT0 + 1 * kMs}, {"a2", "acme", kT0 + 2 * kMs}, {"a3", "acme", kT0 + 3 * kMs}});
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  LedgerSource src(cfg, Opts());
  LedgerBatch b = PollOk(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"a1", "a2", "a3"}), boost::test_tools::per_element());

  // New receipts, and an old one becoming anchored.
  InsertReference(db, {{"a4", "acme", kT0 + 4 * kMs}, {"a5", "globex", kT0 + 5 * kMs}});
  Server().Exec(db,
                "INSERT INTO anchors (anchor_id, region, anchor_hash, receipt_count) VALUES ('eu-west:x', 'eu-west', 'ah', 1);"
                "UPDATE receipts SET anchor_id = 'eu-west:x', anchored_at = created_at + interval '20 ms' WHERE receipt_id = 'a1'");
  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(r.report.rows_read == 3u);
  b = std::get<LedgerBatch>(r.batch);
  BOOST_TEST(Ids(b.receipts) == (Strings{"a4", "a5"}), boost::test_tools::per_element());
  BOOST_TEST(Ids(b.anchored) == (Strings{"a1"}), boost::test_tools::per_element());
  BOOST_TEST(b.anchored[0].anchored_at - b.anchored[0].created_at == 20 * kMs);
  BOOST_TEST(b.queue_depth.value() == 4);

  r = src.Poll();
  BOOST_TEST(r.report.rows_read == 0u);
}

BOOST_AUTO_TEST_CASE(ledger_rows_past_horizon_wait) {
  const std::string db = NewReferenceDb("horizon");
  std::vector<Rx> rows;
  for (int i = 0; i <= 9; ++i) rows.push_back({"h" + std::to_string(i), "acme", kT0 + i * kSec});
  InsertReference(db, rows);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.out_of_order_ms = 5000;
  LedgerSource src(cfg, Opts());

  SetClock(db, kT0 + 10 * kSec);   // horizon = T0 + 5 s: h5 is exactly on it
  LedgerBatch b = PollOk(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"h0", "h1", "h2", "h3", "h4", "h5"}), boost::test_tools::per_element());
  BOOST_TEST(b.receipts_complete_upto == kT0 + 5 * kSec);

  b = PollOk(src);   // the clock did not move: nothing
  BOOST_TEST(b.receipts.empty());

  SetClock(db, kT0 + 12 * kSec + 500 * kMs);
  InsertReference(db, {{"h8a", "acme", kT0 + 8 * kSec + 500 * kMs}});   // beyond the horizon: waits
  b = PollOk(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"h6", "h7"}), boost::test_tools::per_element());

  SetClock(db, kT0 + 20 * kSec);
  b = PollOk(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"h8", "h8a", "h9"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ledger_pages_smaller_than_rows_every_row_once) {
  const std::string db = NewReferenceDb("paging");
  std::vector<Rx> rows;
  // Timestamp ties across page boundaries: (ts, id) order decides.
  const Micros ts[] = {1, 1, 1, 1, 2, 2, 2, 3, 3, 3};
  for (int i = 0; i < 10; ++i) {
    Rx r{"p" + std::to_string(i), "acme", kT0 + ts[i] * kSec};
    r.anchored_us = kT0 + 10 * kSec;   // every anchored row on the same instant
    rows.push_back(r);
  }
  InsertReference(db, rows);
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.batch_size = 3;
  LedgerSource src(cfg, Opts());
  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(r.report.rows_read == 20u);
  LedgerBatch b = std::get<LedgerBatch>(r.batch);
  Strings want;
  for (int i = 0; i < 10; ++i) want.push_back("p" + std::to_string(i));
  BOOST_TEST(Ids(b.receipts) == want, boost::test_tools::per_element());
  BOOST_TEST(Ids(b.anchored) == want, boost::test_tools::per_element());

  // Exactly one full page of new rows (then an empty page), tied with the cursor's ts.
  InsertReference(db, {{"p9a", "acme", kT0 + 3 * kSec}, {"p9b", "acme", kT0 + 3 * kSec}, {"p9c", "acme", kT0 + 4 * kSec}});
  b = PollOk(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"p9a", "p9b", "p9c"}), boost::test_tools::per_element());
  BOOST_TEST(PollOk(src).receipts.empty());
}

BOOST_AUTO_TEST_CASE(ledger_default_clock_and_cold_start_lookback) {
  const std::string db = NewReferenceDb("coldstart");
  // Old history and recent rows, on the database's real clock.
  Server().Exec(db,
                "INSERT INTO receipts (receipt_id, tenant_id, op_id, region, policy_version, kid, version, body, content_hash, created_at) VALUES "
                "('old', 'acme', 'o1', 'eu-west', 'p1', 'k1', 1, '{}', 'h', now() - interval '3 hours'),"
                "('new', 'acme', 'o2', 'eu-west', 'p1', 'k1', 1, '{}', 'h', now() - interval '30 minutes')");
  config::Ledger cfg = LedgerConfig(db);
  cfg.out_of_order_ms = 1000;
  SourceOptions o = Opts();
  o.cold_start_lookback_ms = 3600 * 1000;
  LedgerSource src(cfg, o);
  LedgerBatch b = PollOk(src);
  BOOST_TEST(Ids(b.receipts) == (Strings{"new"}), boost::test_tools::per_element());
  // Without a lookback the whole table is read.
  LedgerSource all(cfg, Opts());
  BOOST_TEST(PollOk(all).receipts.size() == 2u);
}

// ------------------------------------------------------------------ variant

BOOST_AUTO_TEST_CASE(ledger_and_traces_on_variant_schema_give_the_same_rows) {
  const std::string ref = NewReferenceDb("vref");
  const std::string var = NewVariantDb("var");
  std::vector<Rx> rows;
  for (int i = 0; i < 7; ++i) {
    Rx r{"v" + std::to_string(i), i % 3 ? "acme" : "initech", kT0 + (i / 2) * kSec + i * kMs};
    if (i % 2) r.anchored_us = r.created_us + (5 + i) * kMs;
    if (i == 6) r.version = 1;
    rows.push_back(r);
  }
  InsertReference(ref, rows);
  InsertVariant(var, rows);
  Server().Exec(ref, "INSERT INTO notary_proofs VALUES ('eu-west:v1', 'n', timestamptz 'epoch' + interval '1700000003.5 s')");
  Server().Exec(var, "INSERT INTO seal_attestations VALUES ('b-v1', 'n', 1700000003500)");
  std::vector<Sx> spans = {{"t1", "s1", "acme", "op-v1", kT0 + 1 * kMs, "h-v1"},
                           {"t1", "s2", "acme", "", kT0 + 2 * kMs, std::nullopt},    // not an operation
                           {"t2", "s3", "initech", "op-v3", kT0 + 2 * kMs, std::nullopt},
                           {"t3", "s4", "acme", "op-v4", kT0 + 9 * kSec, "other"}};
  InsertSpansReference(ref, spans);
  InsertSpansVariant(var, spans);
  SetClock(ref, kT0 + 3600 * kSec);
  SetClock(var, kT0 + 3600 * kSec);

  config::Ledger rc = LedgerConfig(ref, "ref");
  rc.queries.clock = kFakeClockQuery;
  config::Ledger vc = LedgerConfig(var, "var");
  vc.queries = VariantLedgerQueries();
  vc.batch_size = 2;
  LedgerSource rs(rc, Opts()), vs(vc, Opts());
  LedgerBatch rb = PollOk(rs), vb = PollOk(vs);
  BOOST_TEST_REQUIRE(rb.receipts.size() == 7u);
  BOOST_TEST_REQUIRE(vb.receipts.size() == 7u);
  for (std::size_t i = 0; i < rb.receipts.size(); ++i) {
    const ReceiptRow &a = rb.receipts[i], &v = vb.receipts[i];
    BOOST_TEST(a.receipt_id == v.receipt_id);
    BOOST_TEST(a.tenant == v.tenant);
    BOOST_TEST(a.op_id == v.op_id);
    BOOST_TEST(a.region == v.region);
    BOOST_TEST(a.policy_version == v.policy_version);
    BOOST_TEST(a.kid == v.kid);
    BOOST_TEST(a.version == v.version);
    BOOST_TEST(a.content_hash == v.content_hash);
    BOOST_TEST(a.created_at == v.created_at);
  }
  BOOST_TEST_REQUIRE(rb.anchored.size() == 3u);
  BOOST_TEST_REQUIRE(vb.anchored.size() == 3u);
  for (std::size_t i = 0; i < rb.anchored.size(); ++i) {
    BOOST_TEST(rb.anchored[i].receipt_id == vb.anchored[i].receipt_id);
    BOOST_TEST(rb.anchored[i].tenant == vb.anchored[i].tenant);
    BOOST_TEST(rb.anchored[i].created_at == vb.anchored[i].created_at);
    BOOST_TEST(rb.anchored[i].anchored_at == vb.anchored[i].anchored_at);
  }
  BOOST_TEST(rb.queue_depth.value() == 4);
  BOOST_TEST(vb.queue_depth.value() == 4);
  BOOST_TEST(rb.proofs_last_ts.value() == 1700000003.5);
  BOOST_TEST(vb.proofs_last_ts.value() == 1700000003.5);
  BOOST_TEST(vs.cursors().receipts == rs.cursors().receipts);
  BOOST_TEST(vs.cursors().anchored == rs.cursors().anchored);

  // Incremental on the variant too.
  InsertVariant(var, {{"v9", "acme", kT0 + 100 * kSec}});
  BOOST_TEST(Ids(PollOk(vs).receipts) == (Strings{"v9"}), boost::test_tools::per_element());

  config::TraceStore rt = TraceConfig(ref, "rt");
  rt.queries.clock = kFakeClockQuery;
  config::TraceStore vt = TraceConfig(var, "vt");
  vt.queries = VariantTraceQueries();
  TraceSource rts(rt, Opts()), vts(vt, Opts());
  TraceBatch ra = PollOk(rts), va = PollOk(vts);
  BOOST_TEST(Ids(ra.spans) == (Strings{"s1", "s3", "s4"}), boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(va.spans.size() == ra.spans.size());
  for (std::size_t i = 0; i < ra.spans.size(); ++i) {
    BOOST_TEST(ra.spans[i].trace_id == va.spans[i].trace_id);
    BOOST_TEST(ra.spans[i].span_id == va.spans[i].span_id);
    BOOST_TEST(ra.spans[i].tenant == va.spans[i].tenant);
    BOOST_TEST(ra.spans[i].op_id == va.spans[i].op_id);
    BOOST_TEST(ra.spans[i].start == va.spans[i].start);
    BOOST_TEST(ra.spans[i].attested_hash == va.spans[i].attested_hash);
  }

  // Flags from SQL on the variant database.
  Server().Exec(var, "INSERT INTO feature_ramps VALUES ('acme', 'new_checkout', 25), ('acme', 'fast_anchor', 100),"
                     "('globex', 'new_checkout', 150), ('initech', 'dark', 12.5)");
  config::Flags fc;
  fc.kind = config::FlagsKind::kSql;
  fc.name = "ramp";
  fc.conn.dsn = Server().Dsn(var);
  fc.query = kVariantFlagsQuery;
  FlagsSqlSource fs(fc, Opts());
  for (int poll = 0; poll < 2; ++poll) {   // the full set, every poll
    PollResult r = fs.Poll();
    BOOST_TEST_REQUIRE(r.report.success, r.report.error);
    BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 1u);   // globex 150%
    const auto& flags = std::get<FlagsBatch>(r.batch).flags;
    BOOST_TEST_REQUIRE(flags.size() == 3u);
    BOOST_TEST(flags[0].tenant == "acme");
    BOOST_TEST(flags[0].feature == "fast_anchor");
    BOOST_TEST(flags[0].pct == 100.0);
    BOOST_TEST(flags[1].pct == 25.0);
    BOOST_TEST(flags[2].pct == 12.5);
  }
}

// A start position (the replay start E - window - grace, or a cold start) is
// not a whole millisecond. On a millisecond-column ledger, a row stored in the
// very millisecond of the start must neither fail the poll (the coarse query
// pattern brings it back "before the cursor", and a failed poll never moves
// the start: the ledger stayed down for good) nor be delivered (its time is
// before the start).
BOOST_AUTO_TEST_CASE(millisecond_columns_row_in_the_start_millisecond) {
  const Micros start = kT0 + 7 * kSec + 500 * kMs + 250;   // not a whole ms, nor second
  const Micros start_ms = start / 1000 * 1000;            // the row in the start's ms
  const std::string ref = NewReferenceDb("msref");
  const std::string var = NewVariantDb("msvar");
  std::vector<Rx> rows = {
      {"a-early", "acme", kT0 + 7 * kSec},           // start's second, before the start
      {"b-early", "acme", kT0 + 7 * kSec + 1 * kMs},
      {"c-early", "acme", kT0 + 7 * kSec + 2 * kMs},
      {"d-startms", "acme", start_ms},               // the very ms of the start
      {"e-after", "acme", start_ms + 1 * kMs},
      {"f-after", "acme", start_ms + 1 * kMs},
      {"g-after", "acme", kT0 + 9 * kSec},
  };
  for (auto& r : rows) r.anchored_us = r.created_us;
  InsertReference(ref, rows);
  InsertVariant(var, rows);
  const std::vector<Sx> spans = {{"t1", "s1-early", "acme", "o1", kT0 + 7 * kSec, std::nullopt},
                                 {"t1", "s2-startms", "acme", "o2", start_ms, std::nullopt},
                                 {"t1", "s3-after", "acme", "o3", start_ms + 1 * kMs, std::nullopt}};
  InsertSpansReference(ref, spans);
  InsertSpansVariant(var, spans);
  SetClock(ref, kT0 + 3600 * kSec);
  SetClock(var, kT0 + 3600 * kSec);
  const Strings after = {"e-after", "f-after", "g-after"};

  struct Case {
    std::string what, db;
    config::LedgerQueries lq;
    config::TraceQueries tq;
  };
  config::LedgerQueries ref_lq;
  ref_lq.clock = kFakeClockQuery;
  config::TraceQueries ref_tq;
  ref_tq.clock = kFakeClockQuery;
  const std::vector<Case> cases = {{"coarse ms pattern", var, CoarseVariantLedgerQueries(), CoarseVariantTraceQueries()},
                                   {"exact ms pattern", var, VariantLedgerQueries(), VariantTraceQueries()},
                                   {"reference schema", ref, ref_lq, ref_tq}};
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      for (std::int64_t batch : {1000, 2}) {   // also pages made of skipped rows only
        config::Ledger lc = LedgerConfig(c.db, "l");
        lc.queries = c.lq;
        lc.batch_size = batch;
        LedgerSource ls(lc, Opts());
        ls.SetCursors({{start, ""}, {start, ""}});
        const LedgerBatch b = PollOk(ls);
        BOOST_TEST(Ids(b.receipts) == after, boost::test_tools::per_element());
        BOOST_TEST(Ids(b.anchored) == after, boost::test_tools::per_element());
        BOOST_TEST(ls.cursors().receipts == (StreamCursor{kT0 + 9 * kSec, "g-after"}));
        const LedgerBatch again = PollOk(ls);
        BOOST_TEST(again.receipts.empty());
        BOOST_TEST(again.anchored.empty());

        config::TraceStore tc = TraceConfig(c.db, "t");
        tc.queries = c.tq;
        tc.batch_size = batch;
        TraceSource ts(tc, Opts());
        ts.SetCursors({{start, ""}});
        BOOST_TEST(Ids(PollOk(ts).spans) == (Strings{"s3-after"}), boost::test_tools::per_element());
      }
      // max_rows_per_poll counts delivered rows, not the skipped ones: the
      // catch-up moves on (a limit met by skipped rows alone would re-read
      // them at every poll).
      config::Ledger lc = LedgerConfig(c.db, "l");
      lc.queries = c.lq;
      lc.batch_size = 2;
      SourceOptions o = Opts();
      o.max_rows_per_poll = 2;
      LedgerSource ls(lc, o);
      ls.SetCursors({{start, ""}, {start, ""}});
      PollResult r = ls.Poll();
      BOOST_TEST_REQUIRE(r.report.success, r.report.error);
      BOOST_TEST(r.more);
      BOOST_TEST(Ids(std::get<LedgerBatch>(r.batch).receipts) == (Strings{"e-after", "f-after"}),
                 boost::test_tools::per_element());
      BOOST_TEST(Ids(PollOk(ls).receipts) == (Strings{"g-after"}), boost::test_tools::per_element());
    }
  }
}

// ---------------------------------------------------------------- traces

BOOST_AUTO_TEST_CASE(traces_reference_incremental_paged_and_horizon) {
  const std::string db = NewReferenceDb("traces");
  InsertSpansReference(db, {{"t1", "a1", "acme", "op1", kT0 + 1 * kMs, "h1"},
                            {"t1", "a2", "acme", "", kT0 + 2 * kMs, std::nullopt},
                            {"t2", "a3", "acme", "op3", kT0 + 3 * kMs, std::nullopt},
                            {"t3", "a4", "globex", "op4", kT0 + 3 * kMs, "h4"},
                            {"t4", "a5", "globex", "op5", kT0 + 3 * kMs, "h5"},
                            {"t5", "a6", "acme", "op6", kT0 + 40 * kSec, "h6"}});
  SetClock(db, kT0 + 40 * kSec);
  config::TraceStore cfg = TraceConfig(db, "tr");
  cfg.queries.clock = kFakeClockQuery;
  cfg.batch_size = 2;
  cfg.out_of_order_ms = 30000;
  TraceSource src(cfg, Opts());
  BOOST_TEST((src.kind() == SourceKind::kTraces));
  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  const TraceBatch& b = std::get<TraceBatch>(r.batch);
  BOOST_TEST(b.source == "tr");
  BOOST_TEST(Ids(b.spans) == (Strings{"a1", "a3", "a4", "a5"}), boost::test_tools::per_element());
  BOOST_TEST(b.spans[0].attested_hash == "h1");
  BOOST_TEST(b.spans[1].attested_hash.empty());   // NULL -> ""
  BOOST_TEST(b.spans[0].start == kT0 + kMs);
  BOOST_TEST(b.complete_upto == kT0 + 10 * kSec);
  BOOST_TEST(src.cursors().spans.id == "a5");
  BOOST_TEST(src.cursors().spans.ts == kT0 + 3 * kMs);

  SetClock(db, kT0 + 70 * kSec);
  BOOST_TEST(Ids(PollOk(src).spans) == (Strings{"a6"}), boost::test_tools::per_element());
  BOOST_TEST(PollOk(src).spans.empty());
}

// ----------------------------------------------------------- out of order

namespace {

std::string InsertNowSql(const std::string& id) {
  Rx r{id, "acme", 0};
  return "INSERT INTO receipts (receipt_id, tenant_id, op_id, region, policy_version, kid, version, body, content_hash) "
         "VALUES (" + Lit(id) + ", 'acme', " + Lit(r.op()) + ", 'eu-west', 'p1', 'k1', 2, " + Lit(V2Body(r)) +
         "::jsonb, " + Lit(r.hash()) + ")";   // created_at = now() = the transaction's start
}

}  // namespace

BOOST_AUTO_TEST_CASE(out_of_order_commits_within_bound_are_read_once) {
  // T1 starts first (A.created_at = T1's start) but commits after T2 (B).
  // With out_of_order_ms longer than T1 stays open, the horizon never passes
  // A before A is visible: each row is read exactly once.
  const std::string db = NewReferenceDb("ooo");
  config::Ledger cfg = LedgerConfig(db);
  cfg.out_of_order_ms = 1500;   // default (real) clock query
  LedgerSource src(cfg, Opts());
  std::map<std::string, int> seen;
  auto poll = [&] {
    for (const auto& r : PollOk(src).receipts) ++seen[r.receipt_id];
  };
  poll();
  RawSession t1(db), t2(db);
  t1.Exec("BEGIN");
  t1.Exec(InsertNowSql("A"));
  std::this_thread::sleep_for(300ms);
  t2.Exec("BEGIN");
  t2.Exec(InsertNowSql("B"));
  t2.Exec("COMMIT");
  poll();
  BOOST_TEST(seen.count("B") == 0u, "B is younger than the bound: not yet");
  std::this_thread::sleep_for(300ms);
  poll();
  t1.Exec("COMMIT");    // ~0.6 s after T1 began, inside the 1.5 s bound
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (seen.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    poll();
  }
  for (int i = 0; i < 3; ++i) poll();   // and never again
  BOOST_TEST(seen["A"] == 1);
  BOOST_TEST(seen["B"] == 1);
}

BOOST_AUTO_TEST_CASE(out_of_order_commit_beyond_bound_is_missed) {
  // The documented limit: a row committed more than out_of_order_ms after its
  // timestamp may already be behind the cursor when it becomes visible. Here
  // B (later timestamp) is read while A's transaction is still open past the
  // bound; when A commits its (ts, id) is below the cursor and it is missed.
  const std::string db = NewReferenceDb("ooomiss");
  config::Ledger cfg = LedgerConfig(db);
  cfg.out_of_order_ms = 200;
  LedgerSource src(cfg, Opts());
  RawSession t1(db), t2(db);
  t1.Exec("BEGIN");
  t1.Exec(InsertNowSql("A"));
  std::this_thread::sleep_for(50ms);
  t2.Exec(InsertNowSql("B"));   // autocommit
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(Ids(PollOk(src).receipts) == (Strings{"B"}), boost::test_tools::per_element());
  t1.Exec("COMMIT");
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(PollOk(src).receipts.empty(), "A committed later than the bound: missed (documented)");
  // It is in the table all the same.
  BOOST_TEST(RawSession(db).Scalar("SELECT count(*) FROM receipts") == "2");
}

// --------------------------------------------------------------- bad rows

BOOST_AUTO_TEST_CASE(bad_rows_are_counted_logged_and_skipped) {
  // SQL_ASCII stores any bytes in text, so invalid UTF-8 reaches the exporter.
  const std::string db = NewDb("badrows", "ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  Server().Exec(db,
                "CREATE TABLE raw_receipts (receipt_id text, tenant_id text, op_id text, region text, "
                "policy_version text, kid text, version int, body text, content_hash text, created_us bigint, "
                "anchored_us bigint)");
  auto row = [](const std::string& id, const std::string& tenant_sql, int version, const std::string& body_sql) {
    return "INSERT INTO raw_receipts VALUES (" + Lit(id) + "," + tenant_sql + ",'op-" + id +
           "','eu-west','p1','k1'," + std::to_string(version) + "," + body_sql + ",'h'," +
           std::to_string(kT0) + " + (SELECT count(*) FROM raw_receipts) * 1000, NULL);";
  };
  Rx good1{"b01"}, good10{"b10"};
  Rx missing_kid{"b04"};
  std::string no_kid = V2Body(missing_kid);
  no_kid.replace(no_kid.find(R"("kid":"k1",)"), std::string(R"("kid":"k1",)").size(), "");
  Server().Exec(db,
                row("b01", "'acme'", 2, Lit(V2Body(good1))) +
                row("b02", "NULL", 1, "'{}'") +                                  // NULL tenant
                row("b03", "'acme'", 1, Lit(R"({"a":)")) +                       // malformed v1 JSON
                row("b04", "'acme'", 2, Lit(no_kid)) +                           // v2 missing a field
                row("b05", "E'ac\\xffme'", 1, "'{}'") +                          // invalid UTF-8 tenant
                row("b06", "repeat('t', 10240)", 1, "'{}'") +                    // 10 KB tenant
                row("b07", "'acme'", 1, Lit(R"({"legacy":[1,2]})")) +            // good v1
                row("b08", "'acme'", 3, "'{}'") +                                // unknown version
                row("b09", "'acme'", 1, "E'{\"x\":\"\\xc0\\xaf\"}'") +          // overlong UTF-8 in body
                row("b10", "'acme'", 2, Lit(V2Body(good10))));
  config::Ledger cfg = LedgerConfig(db, "bad");
  cfg.queries.clock = "SELECT " + std::to_string(kT0 + 3600 * kSec) + "::bigint";
  cfg.queries.receipts =
      "SELECT receipt_id, tenant_id, op_id, region, policy_version, kid, version::text, body, content_hash, created_us "
      "FROM raw_receipts WHERE (created_us, receipt_id) > ($1::bigint, $2::text) AND created_us <= $3::bigint "
      "ORDER BY created_us, receipt_id LIMIT $4::bigint";
  cfg.queries.anchored =
      "SELECT receipt_id, tenant_id, created_us, anchored_us FROM raw_receipts WHERE anchored_us IS NOT NULL "
      "AND (anchored_us, receipt_id) > ($1::bigint, $2::text) AND anchored_us <= $3::bigint "
      "ORDER BY anchored_us, receipt_id LIMIT $4::bigint";
  cfg.queries.queue_depth = "SELECT count(*) FROM raw_receipts WHERE anchored_us IS NULL";
  cfg.queries.proofs_last = "SELECT NULL::bigint";
  cfg.batch_size = 4;

  CapturedLog log;
  auto now = std::chrono::steady_clock::now();
  SourceOptions o = Opts(&log);
  o.log_bad_rows_per_minute = 2;
  o.clock = [&] { return now; };
  LedgerSource src(cfg, o);
  PollResult r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(r.report.rows_read == 10u);
  BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 7u);
  const LedgerBatch& b = std::get<LedgerBatch>(r.batch);
  BOOST_TEST(Ids(b.receipts) == (Strings{"b01", "b07", "b10"}), boost::test_tools::per_element());
  BOOST_TEST(src.cursors().receipts.id == "b10");   // moved past the bad rows too
  BOOST_TEST(log.Count("bad row skipped") == 2);      // rate limit
  for (const auto& line : log.lines) {
    BOOST_TEST(line.size() < 1000u, "log lines stay short: " << line.size());
    BOOST_TEST(line.find('\xff') == std::string::npos);
  }

  // Bad rows are not read again; a minute later the suppressed count is logged once.
  now += 61s;
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(r.report.rows_read == 0u);
  BOOST_TEST(r.report.errors[K(ErrorKind::kDecode)] == 0u);
  BOOST_TEST(log.Count("suppressed=5") == 1, log.All());
}

// ------------------------------------------------------------ failures

BOOST_AUTO_TEST_CASE(statement_timeout_is_timeout_and_keeps_cursors) {
  const std::string db = NewReferenceDb("timeout");
  InsertReference(db, {{"x1", "acme", kT0}, {"x2", "acme", kT0 + kMs}});
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;
  cfg.conn.statement_timeout_ms = 300;
  cfg.queries.queue_depth = "SELECT count(*) FROM pg_sleep(3)";   // after the streams were read
  LedgerSource src(cfg, Opts());
  const auto t = std::chrono::steady_clock::now();
  PollResult r = src.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.errors[K(ErrorKind::kTimeout)] == 1u, r.report.error);
  BOOST_TEST(r.report.errors[K(ErrorKind::kQuery)] == 0u);
  BOOST_TEST(Contains(r.report.error, "queue_depth query"), r.report.error);
  BOOST_TEST(Contains(r.report.error, "statement timeout"), r.report.error);
  BOOST_TEST(std::holds_alternative<std::monostate>(r.batch));
  BOOST_TEST((std::chrono::steady_clock::now() - t < 2500ms));
  BOOST_TEST(src.last_error() == r.report.error);
  BOOST_TEST((src.cursors().receipts.ts == kMinMicros), "a failed poll does not move the cursors");
  // The rows read before the timeout are delivered by the next good poll.
  cfg.queries.queue_depth.clear();
  LedgerSource again(cfg, Opts());
  again.SetCursors(src.cursors());
  BOOST_TEST(Ids(PollOk(again).receipts) == (Strings{"x1", "x2"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(query_errors_are_query_kind) {
  const std::string db = NewReferenceDb("qerr");
  InsertReference(db, {{"q1", "acme", kT0}, {"q2", "acme", kT0 + 10 * kSec}});
  SetClock(db, kT0 + 7 * kSec);   // horizon T0 + 2 s: q2 is beyond it
  config::Ledger cfg = LedgerConfig(db);
  cfg.queries.clock = kFakeClockQuery;

  config::Ledger syntax = cfg;
  syntax.queries.receipts = "SELECT nonsense FROM nowhere WHERE $1::bigint > 0";
  LedgerSource s1(syntax, Opts());
  PollResult r = s1.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.errors[K(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(Contains(r.report.error, "receipts query"), r.report.error);

  config::Ledger columns = cfg;
  columns.queries.queue_depth = "SELECT 1, 2";
  LedgerSource s2(columns, Opts());
  r = s2.Poll();
  BOOST_TEST(r.report.errors[K(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(Contains(r.report.error, "2 columns, expected 1"), r.report.error);

  // An override that ignores the horizon ($3) is refused, not silently trusted.
  config::Ledger no_horizon = cfg;
  no_horizon.queries.receipts =
      "SELECT receipt_id, tenant_id, op_id, region, policy_version, kid, version, body::text, content_hash, "
      "(extract(epoch FROM created_at) * 1000000)::bigint FROM receipts "
      "WHERE (created_at, receipt_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
      "AND $3::bigint IS NOT NULL ORDER BY created_at, receipt_id LIMIT $4::bigint";
  LedgerSource s3(no_horizon, Opts());
  r = s3.Poll();
  BOOST_TEST(r.report.errors[K(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(Contains(r.report.error, "after the horizon"), r.report.error);

  // The good config still works on the same server.
  LedgerSource ok(cfg, Opts());
  BOOST_TEST(Ids(PollOk(ok).receipts) == (Strings{"q1"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(connection_killed_mid_query_is_connect_then_reconnects) {
  const std::string db = NewReferenceDb("killed");
  InsertReference(db, {{"k1", "acme", kT0}});
  SetClock(db, kT0 + 3600 * kSec);
  config::Ledger cfg = LedgerConfig(db, "killme");
  cfg.queries.clock = "SELECT now_us FROM test_clock, pg_sleep(1)";
  CapturedLog log;
  LedgerSource src(cfg, Opts(&log));
  std::thread killer([&] {
    RawSession admin("postgres");
    const std::string active = "SELECT count(*) FROM pg_stat_activity WHERE datname = " + Lit(db) +
                               " AND application_name = 'provledger_exporter' AND state = 'active'";
    for (int i = 0; i < 100 && admin.Scalar(active) == "0"; ++i) std::this_thread::sleep_for(20ms);
    admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + Lit(db) +
               " AND application_name = 'provledger_exporter'");
  });
  PollResult r = src.Poll();
  killer.join();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.errors[K(ErrorKind::kConnect)] == 1u, r.report.error);
  BOOST_TEST((src.cursors().receipts.ts == kMinMicros));
  // Next poll reconnects and reads what was missed.
  BOOST_TEST(Ids(PollOk(src).receipts) == (Strings{"k1"}), boost::test_tools::per_element());
  BOOST_TEST(log.Count("connected to database") == 2, log.All());
  BOOST_TEST(log.Count("connection lost") == 1, log.All());
}

// ------------------------------------------------------------ passwords

BOOST_AUTO_TEST_CASE(password_from_file_or_env_used_and_never_shown) {
  const std::string db = NewReferenceDb("pw");
  InsertReference(db, {{"p1", "acme", kT0}});
  SetClock(db, kT0 + 3600 * kSec);
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(Server().dir()) / "secrets";
  fs::create_directories(dir);
  const std::string wrong = "Wr0ng-pass-77";
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream((dir / name).string()) << text;
    return (dir / name).string();
  };
  CapturedLog log;
  config::Ledger base = LedgerConfig(db, "pw");
  base.queries.clock = kFakeClockQuery;
  base.conn.dsn = "host=127.0.0.1 port=" + std::to_string(Server().port()) + " dbname=" + db + " user=" + kPwUser;
  std::vector<std::string> errors;

  auto poll = [&](const config::Ledger& cfg) {
    LedgerSource s(cfg, Opts(&log));
    PollResult r = s.Poll();
    if (!r.report.success) errors.push_back(r.report.error + " | " + s.last_error());
    return r;
  };

  // No password: scram auth refuses (so the tests below really use it).
  PollResult r = poll(base);
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.errors[K(ErrorKind::kConnect)] == 1u);

  config::Ledger file = base;
  file.conn.password_file = write("pw", std::string(kPassword) + "\n");
  r = poll(file);
  BOOST_TEST(r.report.success, r.report.error);

  config::Ledger env = base;
  env.conn.password_env = "PROVLEDGER_IT_PASSWORD";
  ::setenv("PROVLEDGER_IT_PASSWORD", kPassword, 1);
  r = poll(env);
  BOOST_TEST(r.report.success, r.report.error);
  ::unsetenv("PROVLEDGER_IT_PASSWORD");
  r = poll(env);   // variable gone
  BOOST_TEST(r.report.errors[K(ErrorKind::kConnect)] == 1u);
  BOOST_TEST(Contains(r.report.error, "PROVLEDGER_IT_PASSWORD"));

  config::Ledger bad = base;
  bad.conn.password_file = write("wrong", wrong + "\n");
  r = poll(bad);
  BOOST_TEST(r.report.errors[K(ErrorKind::kConnect)] == 1u);
  BOOST_TEST(Contains(r.report.error, "password authentication failed"), r.report.error);

  config::Ledger missing = base;
  missing.conn.password_file = (dir / "nope").string();
  r = poll(missing);
  BOOST_TEST(r.report.errors[K(ErrorKind::kConnect)] == 1u);
  BOOST_TEST(Contains(r.report.error, "nope"));

  // A password inside a URI DSN works, and is redacted in the log.
  config::Ledger uri = base;
  uri.conn.dsn = std::string("postgresql://") + kPwUser + ":" + kPassword + "@127.0.0.1:" +
                 std::to_string(Server().port()) + "/" + db;
  r = poll(uri);
  BOOST_TEST(r.report.success, r.report.error);
  uri.conn.dsn = std::string("postgresql://") + kPwUser + ":" + wrong + "@127.0.0.1:" +
                 std::to_string(Server().port()) + "/" + db;
  r = poll(uri);
  BOOST_TEST(r.report.errors[K(ErrorKind::kConnect)] == 1u);

  BOOST_TEST(log.Count("connected to database") == 3, log.All());
  // Redacted from libpq's parse of the URI (config::RedactDsn): keyword=value pairs.
  BOOST_TEST(log.Count("password=***") == 1, log.All());
  BOOST_TEST(errors.size() == 5u);
  for (const auto& e : errors) {
    BOOST_TEST(!Contains(e, kPassword), e);
    BOOST_TEST(!Contains(e, wrong), e);
  }
  BOOST_TEST(!Contains(log.All(), kPassword));
  BOOST_TEST(!Contains(log.All(), wrong));
}

// -------------------------------------------------------------- factory

BOOST_AUTO_TEST_CASE(make_sources_polls_every_kind) {
  const std::string db = NewReferenceDb("factory");
  InsertReference(db, {{"f1", "acme", kT0}});
  InsertSpansReference(db, {{"t", "s", "acme", "op-f1", kT0, "h-f1"}});
  SetClock(db, kT0 + 3600 * kSec);
  config::Config c;
  c.ledgers = {LedgerConfig(db, "eu")};
  c.ledgers[0].queries.clock = kFakeClockQuery;
  c.trace_stores = {TraceConfig(db, "tr")};
  c.trace_stores[0].queries.clock = kFakeClockQuery;
  c.flags.kind = config::FlagsKind::kSql;
  c.flags.conn.dsn = Server().Dsn(db);
  c.flags.query = "SELECT 'acme', 'f', 50::float8";
  c.coverage.window_ms = 10 * 365LL * 24 * 3600 * 1000;   // cold start reaches T0
  CapturedLog log;  // outlives the sources, which log through it
  auto sources = MakeSources(c, log.Fn());
  BOOST_TEST_REQUIRE(sources.size() == 3u);
  std::size_t rows = 0;
  for (auto& s : sources) {
    PollResult r = s->Poll();
    BOOST_TEST(r.report.success, s->name() << ": " << r.report.error);
    rows += r.report.rows_read;
    s->Close();
  }
  BOOST_TEST(rows == 3u);
}
