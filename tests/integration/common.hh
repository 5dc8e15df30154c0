// Shared fixture of the integration binaries: one real PostgreSQL per test
// binary (TempPostgres, started on first use, stopped at exit), a fresh
// database per test case, the reference/variant schemas, row builders and a
// raw libpq session for tests that need their own transactions.
#pragma once

#include <libpq-fe.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hh"
#include "core/rows.hh"
#include "source/log.hh"
#include "temp_postgres.hh"

namespace provledger::itest {

// A role that must authenticate with scram-sha-256 (pg_hba), and its password.
inline constexpr const char* kPwUser = "pwuser";
inline constexpr const char* kPassword = "Pw-s3cr3t-9f2c";

// The binary's server (created on first call; FAILS the test if it cannot start).
testing::TempPostgres& Server();

// $PROVLEDGER_SOURCE_ROOT (set by meson), the repository root.
std::string SourceRoot();

// A new, empty database with a unique name starting with `prefix`.
std::string NewDb(const std::string& prefix, const std::string& extra = "");
// A new database holding config/schema/ledger.sql + traces.sql and the fake clock.
std::string NewReferenceDb(const std::string& prefix);
// A new database holding tests/integration/variant_schema.sql and the fake clock.
std::string NewVariantDb(const std::string& prefix);

// Fake clock: table test_clock(now_us); kFakeClockQuery reads it.
inline constexpr const char* kFakeClockQuery = "SELECT now_us FROM test_clock";
void SetClock(const std::string& db, Micros now_us);

// A Ledger/TraceStore config for `db` (superuser over TCP, no password).
config::Ledger LedgerConfig(const std::string& db, const std::string& name = "ledger");
config::TraceStore TraceConfig(const std::string& db, const std::string& name = "traces");

// Query overrides for the variant schema (exact comparison, as the README shows).
config::LedgerQueries VariantLedgerQueries();
config::TraceQueries VariantTraceQueries();
// The older, coarse pattern "(ts_ms, id) > ($1 / 1000, $2)": exact only when
// $1 is a whole millisecond (the sources make sure of that: StartPosition).
config::LedgerQueries CoarseVariantLedgerQueries();
config::TraceQueries CoarseVariantTraceQueries();
inline constexpr const char* kVariantFlagsQuery =
    "SELECT org, feature, percent::float8 FROM feature_ramps ORDER BY org, feature";

// One receipt to insert; timestamps are exact multiples of 1000 µs so the
// variant (ms) schema holds the same values.
struct Rx {
  Rx() = default;
  Rx(std::string id_, std::string tenant_ = "acme", Micros created = 0)
      : id(std::move(id_)), tenant(std::move(tenant_)), created_us(created) {}
  std::string id;
  std::string tenant = "acme";
  Micros created_us = 0;
  std::optional<Micros> anchored_us;
  int version = 2;
  std::string op() const { return "op-" + id; }
  std::string hash() const { return "h-" + id; }
};
// The v2 body matching the columns Insert* writes (region eu-west, policy p1, kid k1).
std::string V2Body(const Rx& r);
void InsertReference(const std::string& db, const std::vector<Rx>& rows);
void InsertVariant(const std::string& db, const std::vector<Rx>& rows);

struct Sx {
  std::string trace_id, span_id, tenant = "acme", op_id;
  Micros start_us = 0;
  std::optional<std::string> attested_hash;
};
void InsertSpansReference(const std::string& db, const std::vector<Sx>& rows);
void InsertSpansVariant(const std::string& db, const std::vector<Sx>& rows);

// SQL literal.
std::string Lit(const std::string& s);

// A raw libpq session (own transactions, no wrapper): throws on failure.
class RawSession {
 public:
  explicit RawSession(const std::string& db);
  ~RawSession();
  void Exec(const std::string& sql);
  std::string Scalar(const std::string& sql);

 private:
  PGconn* c_;
};

// A LogFn that keeps every line (message + fields) for inspection.
struct CapturedLog {
  std::mutex mu;
  std::vector<std::string> lines;
  source::LogFn Fn();
  std::string All();
  int Count(const std::string& needle);
};

}  // namespace provledger::itest
