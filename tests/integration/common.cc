#include "common.hh"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace provledger::itest {

testing::TempPostgres& Server() {
  static std::unique_ptr<testing::TempPostgres> server = [] {
    testing::TempPostgres::Options o;
    o.hba_lines = {std::string("host all ") + kPwUser + " 127.0.0.1/32 scram-sha-256"};
    auto s = std::make_unique<testing::TempPostgres>(o);
    s->Exec("postgres", std::string("CREATE ROLE ") + kPwUser + " LOGIN PASSWORD " + Lit(kPassword) +
                            "; GRANT pg_read_all_data TO " + kPwUser);
    return s;
  }();
  return *server;
}

std::string SourceRoot() {
  const char* r = std::getenv("PROVLEDGER_SOURCE_ROOT");
  if (r == nullptr || *r == '\0') throw std::runtime_error("PROVLEDGER_SOURCE_ROOT is not set (run through meson test)");
  return r;
}

std::string NewDb(const std::string& prefix, const std::string& extra) {
  static std::atomic<int> n{0};
  const std::string name = prefix + "_" + std::to_string(++n);
  Server().CreateDatabase(name, extra);
  return name;
}

static void AddClock(const std::string& db) {
  Server().Exec(db, "CREATE TABLE test_clock (now_us bigint NOT NULL); INSERT INTO test_clock VALUES (0)");
}

std::string NewReferenceDb(const std::string& prefix) {
  const std::string db = NewDb(prefix);
  Server().RunSqlFile(db, SourceRoot() + "/config/schema/ledger.sql");
  Server().RunSqlFile(db, SourceRoot() + "/config/schema/traces.sql");
  AddClock(db);
  return db;
}

std::string NewVariantDb(const std::string& prefix) {
  const std::string db = NewDb(prefix);
  Server().RunSqlFile(db, SourceRoot() + "/tests/integration/variant_schema.sql");
  AddClock(db);
  return db;
}

void SetClock(const std::string& db, Micros now_us) {
  Server().Exec(db, "UPDATE test_clock SET now_us = " + std::to_string(now_us));
}

config::Ledger LedgerConfig(const std::string& db, const std::string& name) {
  config::Ledger l;
  l.name = name;
  l.region = "eu-west";
  l.conn.dsn = Server().Dsn(db);
  l.conn.connect_timeout_ms = 3000;
  l.conn.statement_timeout_ms = 5000;
  l.out_of_order_ms = 5000;
  l.batch_size = 1000;
  // These tests read the queue depth on every poll; the interval itself is
  // tested in poll_control_test (queue_depth_interval_*).
  l.queue_depth_interval_ms = 0;
  return l;
}

config::TraceStore TraceConfig(const std::string& db, const std::string& name) {
  config::TraceStore t;
  t.name = name;
  t.conn.dsn = Server().Dsn(db);
  t.conn.connect_timeout_ms = 3000;
  t.conn.statement_timeout_ms = 5000;
  t.out_of_order_ms = 5000;
  t.batch_size = 1000;
  return t;
}

// Exact keyset over millisecond columns: the range condition on the ms column
// uses the index; the row comparison in microseconds is exact even when $1 is
// not a whole millisecond (the README's example).
config::LedgerQueries VariantLedgerQueries() {
  config::LedgerQueries q;
  q.clock = kFakeClockQuery;
  q.receipts =
      "SELECT entry_uuid, org, operation, zone, policy, key_id, schema_version::text, payload, "
      "digest, ts_ms * 1000 FROM ledger_entries "
      "WHERE ts_ms >= $1::bigint / 1000 AND (ts_ms * 1000, entry_uuid) > ($1::bigint, $2::text) "
      "AND ts_ms <= $3::bigint / 1000 "
      "ORDER BY ts_ms, entry_uuid LIMIT $4::bigint";
  q.anchored =
      "SELECT entry_uuid, org, ts_ms * 1000, sealed_ms * 1000 FROM ledger_entries "
      "WHERE sealed_ms IS NOT NULL "
      "AND sealed_ms >= $1::bigint / 1000 AND (sealed_ms * 1000, entry_uuid) > ($1::bigint, $2::text) "
      "AND sealed_ms <= $3::bigint / 1000 "
      "ORDER BY sealed_ms, entry_uuid LIMIT $4::bigint";
  q.queue_depth = "SELECT count(*) FROM ledger_entries WHERE batch_ref IS NULL";
  q.proofs_last = "SELECT max(attested_ms) * 1000 FROM seal_attestations";
  return q;
}

config::TraceQueries VariantTraceQueries() {
  config::TraceQueries q;
  q.clock = kFakeClockQuery;
  q.spans =
      "SELECT tid, sid, org, operation, started_ms * 1000, receipt_digest FROM trace_events "
      "WHERE operation IS NOT NULL "
      "AND started_ms >= $1::bigint / 1000 AND (started_ms * 1000, sid) > ($1::bigint, $2::text) "
      "AND started_ms <= $3::bigint / 1000 "
      "ORDER BY started_ms, sid LIMIT $4::bigint";
  return q;
}

config::LedgerQueries CoarseVariantLedgerQueries() {
  config::LedgerQueries q = VariantLedgerQueries();
  q.receipts =
      "SELECT entry_uuid, org, operation, zone, policy, key_id, schema_version::text, payload, "
      "digest, ts_ms * 1000 FROM ledger_entries "
      "WHERE (ts_ms, entry_uuid) > ($1::bigint / 1000, $2::text) AND ts_ms <= $3::bigint / 1000 "
      "ORDER BY ts_ms, entry_uuid LIMIT $4::bigint";
  q.anchored =
      "SELECT entry_uuid, org, ts_ms * 1000, sealed_ms * 1000 FROM ledger_entries "
      "WHERE sealed_ms IS NOT NULL "
      "AND (sealed_ms, entry_uuid) > ($1::bigint / 1000, $2::text) AND sealed_ms <= $3::bigint / 1000 "
      "ORDER BY sealed_ms, entry_uuid LIMIT $4::bigint";
  return q;
}

config::TraceQueries CoarseVariantTraceQueries() {
  config::TraceQueries q = VariantTraceQueries();
  q.spans =
      "SELECT tid, sid, org, operation, started_ms * 1000, receipt_digest FROM trace_events "
      "WHERE operation IS NOT NULL "
      "AND (started_ms, sid) > ($1::bigint / 1000, $2::text) AND started_ms <= $3::bigint / 1000 "
      "ORDER BY started_ms, sid LIMIT $4::bigint";
  return q;
}

std::string Lit(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string V2Body(const Rx& r) {
  return R"({"schema":"provledger.receipt/v2","receipt_id":")" + r.id + R"(","tenant_id":")" +
         r.tenant + R"(","op_id":")" + r.op() +
         R"(","policy_version":"p1","kid":"k1","region":"eu-west","extra":{"n":1}})";
}

static std::string Body(const Rx& r) { return r.version == 2 ? V2Body(r) : R"({"legacy":true})"; }

static std::string Ts(Micros us) {
  return "timestamptz 'epoch' + " + std::to_string(us) + " * interval '1 microsecond'";
}

void InsertReference(const std::string& db, const std::vector<Rx>& rows) {
  std::string sql;
  for (const Rx& r : rows) {
    if (r.anchored_us) {
      sql += "INSERT INTO anchors (anchor_id, region, anchor_hash, receipt_count) VALUES (" +
             Lit("eu-west:" + r.id) + ", 'eu-west', 'ah', 1);";
    }
    sql += "INSERT INTO receipts (receipt_id, tenant_id, op_id, region, policy_version, kid, version, "
           "body, content_hash, created_at, anchor_id, anchored_at) VALUES (" +
           Lit(r.id) + "," + Lit(r.tenant) + "," + Lit(r.op()) + ",'eu-west','p1','k1'," +
           std::to_string(r.version) + "," + Lit(Body(r)) + "::jsonb," + Lit(r.hash()) + "," +
           Ts(r.created_us) + "," + (r.anchored_us ? Lit("eu-west:" + r.id) : "NULL") + "," +
           (r.anchored_us ? Ts(*r.anchored_us) : "NULL") + ");";
  }
  Server().Exec(db, sql);
}

void InsertVariant(const std::string& db, const std::vector<Rx>& rows) {
  std::string sql;
  for (const Rx& r : rows) {
    sql += "INSERT INTO ledger_entries VALUES (" + Lit(r.id) + "," + Lit(r.tenant) + "," +
           Lit(r.op()) + ",'eu-west','p1','k1'," + std::to_string(r.version) + "," + Lit(Body(r)) +
           "," + Lit(r.hash()) + "," + std::to_string(r.created_us / 1000) + "," +
           (r.anchored_us ? Lit("b-" + r.id) : "NULL") + "," +
           (r.anchored_us ? std::to_string(*r.anchored_us / 1000) : "NULL") + ");";
  }
  Server().Exec(db, sql);
}

void InsertSpansReference(const std::string& db, const std::vector<Sx>& rows) {
  std::string sql;
  for (const Sx& s : rows) {
    sql += "INSERT INTO spans (trace_id, span_id, tenant_id, op_id, name, start_time, end_time, "
           "attested_hash) VALUES (" +
           Lit(s.trace_id) + "," + Lit(s.span_id) + "," + Lit(s.tenant) + "," +
           (s.op_id.empty() ? "NULL" : Lit(s.op_id)) + ",'op'," + Ts(s.start_us) + "," +
           Ts(s.start_us + 5000) + "," + (s.attested_hash ? Lit(*s.attested_hash) : "NULL") + ");";
  }
  Server().Exec(db, sql);
}

void InsertSpansVariant(const std::string& db, const std::vector<Sx>& rows) {
  std::string sql;
  for (const Sx& s : rows) {
    sql += "INSERT INTO trace_events VALUES (" + Lit(s.trace_id) + "," + Lit(s.span_id) + "," +
           Lit(s.tenant) + "," + (s.op_id.empty() ? "NULL" : Lit(s.op_id)) + "," +
           std::to_string(s.start_us / 1000) + "," +
           (s.attested_hash ? Lit(*s.attested_hash) : "NULL") + ");";
  }
  Server().Exec(db, sql);
}

RawSession::RawSession(const std::string& db) : c_(PQconnectdb(Server().Dsn(db).c_str())) {
  if (PQstatus(c_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c_);
    PQfinish(c_);
    throw std::runtime_error("RawSession: " + msg);
  }
}

RawSession::~RawSession() { PQfinish(c_); }

void RawSession::Exec(const std::string& sql) {
  PGresult* r = PQexec(c_, sql.c_str());
  const auto st = PQresultStatus(r);
  std::string msg = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error("SQL failed: " + msg + sql);
}

std::string RawSession::Scalar(const std::string& sql) {
  PGresult* r = PQexec(c_, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("SQL failed: " + msg + sql);
  }
  std::string v = PQgetvalue(r, 0, 0);
  PQclear(r);
  return v;
}

source::LogFn CapturedLog::Fn() {
  return [this](source::LogLevel, std::string_view m, const source::LogFields& f) {
    std::string line(m);
    for (const auto& [k, v] : f) line += " " + k + "=" + v;
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(std::move(line));
  };
}

std::string CapturedLog::All() {
  std::lock_guard<std::mutex> lock(mu);
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

int CapturedLog::Count(const std::string& needle) {
  std::lock_guard<std::mutex> lock(mu);
  int n = 0;
  for (const auto& l : lines) n += l.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

}  // namespace provledger::itest
