// --config.check-live (livecheck::CheckConfigLive) against a real PostgreSQL:
// mapping mistakes that are silent at run time are found before it, anchored
// at the query's FILE:LINE:COLUMN.
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE integration_livecheck
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common.hh"
#include "livecheck/livecheck.hh"

using namespace provledger;
using namespace provledger::itest;

namespace {

struct Run {
  int rc = -1;
  std::string out, err;
};

// Writes `yaml` to a temp file and runs the live check on it.
Run Check(const std::string& yaml, std::string* path_out = nullptr) {
  static int n = 0;
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("provledger-livecheck-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ".yml"))
                               .string();
  std::ofstream(path) << yaml;
  std::ostringstream out, err;
  Run r;
  r.rc = livecheck::CheckConfigLive(path, out, err);
  r.out = out.str();
  r.err = err.str();
  if (path_out) *path_out = path;
  std::filesystem::remove(path);
  return r;
}

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Recent rows on the database's own clock (the check samples the coverage window).
void InsertRecent(const std::string& db, const std::string& content_hash, const std::string& attested_hash) {
  Server().Exec(db,
                "INSERT INTO receipts (receipt_id, tenant_id, op_id, region, policy_version, kid, version, body, "
                "content_hash, created_at) VALUES ('r1', 'acme', 'op1', 'eu-west', 'p', 'k', 1, '{}', " +
                    Lit(content_hash) + ", now() - interval '10 minutes');"
                    "INSERT INTO spans (trace_id, span_id, tenant_id, op_id, name, start_time, end_time, attested_hash) "
                    "VALUES ('t1', 's1', 'acme', 'op1', 'op', now() - interval '10 minutes', now() - interval '10 minutes', " +
                    Lit(attested_hash) + ")");
}

}  // namespace

BOOST_AUTO_TEST_CASE(reference_schema_passes) {
  const std::string db = NewReferenceDb("lcref");
  InsertRecent(db, "0a1b2c", "0a1b2c");
  const Run r = Check("ledgers:\n  - name: eu\n    region: eu-west\n    dsn: \"" + Server().Dsn(db) +
                      "\"\ntrace_stores:\n  - name: traces\n    dsn: \"" + Server().Dsn(db) + "\"\n");
  BOOST_TEST(r.rc == 0, r.out << r.err);
  BOOST_TEST(r.err.empty(), r.err);
  BOOST_TEST(Has(r.out, "live check OK: 1 ledgers, 1 trace stores"), r.out);
}

BOOST_AUTO_TEST_CASE(mapping_mistakes_anchored_at_the_query) {
  const std::string db = NewVariantDb("lcvar");
  // line 6: clock returns timestamptz; line 7: the digest as bytea (no encode);
  // line 9: a millisecond column not multiplied by 1000.
  const std::string yaml =
      "ledgers:\n"                                                   // 1
      "  - name: legacy\n"                                           // 2
      "    region: eu-west\n"                                        // 3
      "    dsn: \"" + Server().Dsn(db) + "\"\n"                      // 4
      "    queries:\n"                                               // 5
      "      clock: \"SELECT now()\"\n"                              // 6
      "      receipts: \"SELECT entry_uuid, org, operation, zone, policy, key_id, schema_version::text, payload, "
      "convert_to(digest, 'UTF8'), ts_ms * 1000 FROM ledger_entries WHERE ts_ms >= $1::bigint / 1000 AND "
      "(ts_ms * 1000, entry_uuid) > ($1::bigint, $2::text) AND ts_ms <= $3::bigint / 1000 ORDER BY ts_ms, "
      "entry_uuid LIMIT $4::bigint\"\n"                              // 7
      "      queue_depth: \"SELECT count(*)::numeric FROM ledger_entries WHERE batch_ref IS NULL\"\n"   // 8
      "      anchored: \"SELECT entry_uuid, org, ts_ms * 1000, sealed_ms * 1000 FROM ledger_entries\"\n"  // 9
      "      proofs_last: \"SELECT max(attested_ms) * 1000 FROM seal_attestations\"\n";     // 10
  std::string path;
  const Run r = Check(yaml, &path);
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(Has(r.err, path + ":6:14: ledgers[0] legacy: clock query column 1 (now_us, returned as \"now\") is "
                            "timestamp with time zone, not bigint epoch microseconds"),
             r.err);
  BOOST_TEST(Has(r.err, path + ":7:17: ledgers[0] legacy: receipts query column 9 (content_hash, returned as "
                            "\"convert_to\") is bytea: its text form is \\x-escaped hex"),
             r.err);
  BOOST_TEST(Has(r.err, path + ":8:20: ledgers[0] legacy: queue_depth query column 1 (depth, returned as \"count\") is "
                            "numeric, not an integer"),
             r.err);
  BOOST_TEST(Has(r.err, path + ":9:17: ledgers[0] legacy: anchored query takes 0 parameter(s); the exporter passes 4"),
             r.err);
  BOOST_TEST(Has(r.err, "live check failed: 4 problem(s)"), r.err);
}

BOOST_AUTO_TEST_CASE(hash_forms_that_can_never_match) {
  const std::string db = NewReferenceDb("lchash");
  InsertRecent(db, "0a1b2c", "0A1B2C");   // upper-case hex in the spans
  std::string path;
  const std::string yaml = "ledgers:\n  - name: eu\n    region: eu-west\n    dsn: \"" + Server().Dsn(db) +
                           "\"\ntrace_stores:\n  - name: traces\n    dsn: \"" + Server().Dsn(db) + "\"\n";
  const Run r = Check(yaml, &path);
  BOOST_TEST(r.rc == 1);
  // A default query: anchored at the trace store's mapping (line 6, column 5).
  BOOST_TEST(Has(r.err, path + ":6:5: trace store traces: attested_hash values (HEX/6 (1)) never have the form of "
                            "ledger eu's content_hash values (hex/6 (1))"),
             r.err);
}

BOOST_AUTO_TEST_CASE(unindexed_query_is_a_warning_and_unreachable_source_a_problem) {
  const std::string db = NewReferenceDb("lcidx");
  Server().Exec(db, "DROP INDEX spans_start_idx");
  std::string path;
  const std::string yaml = "ledgers:\n  - name: eu\n    region: eu-west\n    dsn: \"" + Server().Dsn(db) +
                           "\"\ntrace_stores:\n  - name: traces\n    dsn: \"" + Server().Dsn(db) + "\"\n";
  Run r = Check(yaml, &path);
  BOOST_TEST(r.rc == 0, r.err);
  BOOST_TEST(Has(r.out, path + ":6:5: warning: trace_stores[0] traces: spans query cannot use an index on its keyset "
                            "columns"),
             r.out);
  BOOST_TEST(Has(r.out, "CREATE INDEX CONCURRENTLY ON spans (start_time, span_id) WHERE op_id IS NOT NULL;"), r.out);

  r = Check("ledgers:\n  - name: eu\n    region: eu-west\n    dsn: \"host=127.0.0.1 port=1 dbname=x connect_timeout=2\"\n",
            &path);
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(Has(r.err, path + ":4:10: ledgers[0] eu: cannot connect"), r.err);
}

BOOST_AUTO_TEST_CASE(otlp_file_store_needs_a_readable_live_file) {
  const std::string db = NewReferenceDb("lcotlp");
  const std::string live = (std::filesystem::temp_directory_path() /
                            ("provledger-livecheck-otlp-" + std::to_string(::getpid()) + ".json"))
                               .string();
  std::filesystem::remove(live);
  const std::string yaml = "ledgers:\n  - name: eu\n    region: eu-west\n    dsn: \"" + Server().Dsn(db) +
                           "\"\ntrace_stores:\n  - name: collector\n    kind: otlp_file\n    path: \"" + live + "\"\n";
  std::string path;
  Run r = Check(yaml, &path);
  BOOST_TEST(r.rc == 1, r.out << r.err);
  BOOST_TEST(Has(r.err, path + ":8:11: trace_stores[0] collector: cannot read the live file " + live), r.err);

  std::ofstream(live) << "";
  r = Check(yaml, &path);
  BOOST_TEST(r.rc == 0, r.out << r.err);
  BOOST_TEST(Has(r.out, "live check OK: 1 ledgers, 1 trace stores"), r.out);
  std::filesystem::remove(live);
}

BOOST_AUTO_TEST_CASE(spans_query_name_column_is_optional) {
  const std::string db = NewReferenceDb("lcspn");
  InsertRecent(db, "0a1b2c", "0a1b2c");
  const std::string where =
      " FROM spans WHERE op_id IS NOT NULL AND (start_time, span_id) > (timestamptz 'epoch' + $1::bigint * interval "
      "'1 microsecond', $2::text) AND start_time <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
      "ORDER BY start_time, span_id LIMIT $4::bigint";
  auto yaml = [&](const std::string& columns) {
    return "ledgers:\n  - name: eu\n    region: eu-west\n    dsn: \"" + Server().Dsn(db) +
           "\"\ntrace_stores:\n  - name: traces\n    dsn: \"" + Server().Dsn(db) + "\"\n    queries:\n      spans: \"SELECT " +
           columns + where + "\"\n";
  };
  const std::string six = "trace_id, span_id, tenant_id, op_id, (extract(epoch FROM start_time) * 1000000)::bigint, "
                          "attested_hash";
  Run r = Check(yaml(six));
  BOOST_TEST(r.rc == 0, r.out << r.err);
  r = Check(yaml(six + ", name"));
  BOOST_TEST(r.rc == 0, r.out << r.err);
  std::string path;
  r = Check(yaml("trace_id, span_id, tenant_id, op_id, (extract(epoch FROM start_time) * 1000000)::bigint"), &path);
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(Has(r.err, path + ":9:14: trace_stores[0] traces: spans query returns 5 column(s); it must return 6 or 7: "
                            "trace_id, span_id, tenant_id, op_id, start_us, attested_hash, name (the last one optional)"),
             r.err);
}
