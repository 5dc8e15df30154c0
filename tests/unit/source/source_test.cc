#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE source
#include <boost/test/unit_test.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pq/connection.hh"
#include "pq/error.hh"
#include "source/factory.hh"
#include "source/flags_source.hh"
#include "source/flags_spec.hh"
#include "source/ledger_source.hh"
#include "source/rate_limiter.hh"
#include "source/source_common.hh"
#include "source/trace_source.hh"

using namespace provledger;
using namespace provledger::source;
namespace fs = std::filesystem;

namespace {

}  // namespace
namespace provledger {
// Lets Boost.Test print ErrorKind in failure messages.
inline std::ostream& operator<<(std::ostream& os, ErrorKind k) { return os << ErrorKindName(k); }
}  // namespace provledger
namespace {

bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

const FlagRow* Find(const std::vector<FlagRow>& rows, std::string_view tenant, std::string_view feature) {
  for (const auto& r : rows) {
    if (r.tenant == tenant && r.feature == feature) return &r;
  }
  return nullptr;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "provledger-unit-XXXXXX").string();
    BOOST_TEST_REQUIRE(mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path Write(const std::string& name, const std::string& text) const {
    fs::path p = path / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    return p;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(flags_spec)

BOOST_AUTO_TEST_CASE(flow_and_block_forms) {
  FlagsSpec s = ParseFlagsSpec(
      "acme: {new_checkout: 25, fast_anchor: 100}\n"
      "globex:\n"
      "  new_checkout: 12.5\n"
      "  dark_mode: 0\n",
      "flags.spec");
  BOOST_TEST(!s.fatal);
  BOOST_TEST(s.errors.empty());
  BOOST_TEST_REQUIRE(s.rows.size() == 4u);
  BOOST_TEST(Find(s.rows, "acme", "new_checkout")->pct == 25.0);
  BOOST_TEST(Find(s.rows, "acme", "fast_anchor")->pct == 100.0);
  BOOST_TEST(Find(s.rows, "globex", "new_checkout")->pct == 12.5);
  BOOST_TEST(Find(s.rows, "globex", "dark_mode")->pct == 0.0);
}

BOOST_AUTO_TEST_CASE(tenants_wrapper) {
  FlagsSpec s = ParseFlagsSpec(
      "version: 3\n"
      "tenants:\n"
      "  acme: {new_checkout: 50}\n"
      "  globex: {new_checkout: 10}\n",
      "f");
  BOOST_TEST(s.errors.empty());
  BOOST_TEST_REQUIRE(s.rows.size() == 2u);
  BOOST_TEST(Find(s.rows, "acme", "new_checkout")->pct == 50.0);
  // A tenant that happens to be called "tenants" is still a tenant.
  s = ParseFlagsSpec("tenants: {feature_x: 30}\nacme: {f: 1}\n", "f");
  BOOST_TEST(s.errors.empty());
  BOOST_TEST_REQUIRE(s.rows.size() == 2u);
  BOOST_TEST(Find(s.rows, "tenants", "feature_x")->pct == 30.0);
}

BOOST_AUTO_TEST_CASE(empty_documents) {
  for (const char* text : {"", "\n", "# only a comment\n", "{}", "~"}) {
    FlagsSpec s = ParseFlagsSpec(text, "f");
    BOOST_TEST(!s.fatal, text);
    BOOST_TEST(s.rows.empty());
    BOOST_TEST(s.errors.empty());
  }
}

// Issue 9 item 3, same protection as the config file: one document, a size cap.
BOOST_AUTO_TEST_CASE(one_document_and_size_cap) {
  FlagsSpec s = ParseFlagsSpec(",", "f");
  BOOST_TEST(s.fatal);
  BOOST_TEST_REQUIRE(s.errors.size() == 1u);
  BOOST_TEST(s.errors[0].str() == "f:1:1: only one YAML document is allowed in this file");
  s = ParseFlagsSpec("acme: {a: 1}\n---\nglobex: {a: 2}\n", "f");
  BOOST_TEST(s.fatal);
  BOOST_TEST(s.rows.empty());
  BOOST_TEST_REQUIRE(s.errors.size() == 1u);
  BOOST_TEST(s.errors[0].str() == "f:2:1: only one YAML document is allowed in this file");
  const std::string big = "acme: {a: 1}\n#" + std::string(kMaxFlagsSpecBytes, 'x');
  s = ParseFlagsSpec(big, "f");
  BOOST_TEST(s.fatal);
  BOOST_TEST_REQUIRE(s.errors.size() == 1u);
  BOOST_TEST(s.errors[0].str() == "f: file is " + std::to_string(big.size()) + " bytes; the limit is 16777216");
}

BOOST_AUTO_TEST_CASE(bad_entries_dropped_others_kept) {
  FlagsSpec s = ParseFlagsSpec(
      "acme:\n"
      "  ok: 25\n"
      "  too_big: 101\n"
      "  negative: -5\n"
      "  word: lots\n"
      "  boolean: true\n"
      "  nothing:\n"
      "  listy: [1, 2]\n"
      "globex: 7\n"
      "initech: {fine: 99.5}\n",
      "/etc/flags.spec");
  BOOST_TEST(!s.fatal);
  BOOST_TEST_REQUIRE(s.rows.size() == 2u);
  BOOST_TEST(Find(s.rows, "acme", "ok")->pct == 25.0);
  BOOST_TEST(Find(s.rows, "initech", "fine")->pct == 99.5);
  BOOST_TEST_REQUIRE(s.errors.size() == 7u);
  // Positions are 1-based and point at the offending value.
  BOOST_TEST(s.errors[0].line == 3);
  BOOST_TEST(s.errors[0].column == 12);
  BOOST_TEST(Contains(s.errors[0].message, "outside [0, 100]"));
  BOOST_TEST(s.errors[0].str().rfind("/etc/flags.spec:3:12: ", 0) == 0u, s.errors[0].str());
  BOOST_TEST(s.errors[1].line == 4);
  BOOST_TEST(s.errors[2].line == 5);
  BOOST_TEST(Contains(s.errors[2].message, "not a number"));
  BOOST_TEST(s.errors[3].line == 6);
  BOOST_TEST(s.errors[4].line == 7);   // null percent
  BOOST_TEST(s.errors[5].line == 8);
  BOOST_TEST(s.errors[6].line == 9);   // tenant not a mapping
  BOOST_TEST(Contains(s.errors[6].message, "globex"));
}

BOOST_AUTO_TEST_CASE(tenant_and_feature_names) {
  const std::string long_name(200, 'a');
  FlagsSpec s = ParseFlagsSpec(long_name + ": {f: 1}\nok: {" + long_name + ": 2, g: 3}\n", "f", 128);
  BOOST_TEST_REQUIRE(s.rows.size() == 1u);
  BOOST_TEST(s.rows[0].feature == "g");
  BOOST_TEST_REQUIRE(s.errors.size() == 2u);
  BOOST_TEST(s.errors[0].line == 1);
  BOOST_TEST(s.errors[1].line == 2);
}

BOOST_AUTO_TEST_CASE(duplicates) {
  FlagsSpec s = ParseFlagsSpec("acme: {f: 1, f: 2}\nacme: {g: 3}\n", "f");
  BOOST_TEST_REQUIRE(s.rows.size() == 1u);
  BOOST_TEST(s.rows[0].pct == 1.0);
  BOOST_TEST(s.errors.size() == 2u);
}

BOOST_AUTO_TEST_CASE(fatal_errors) {
  FlagsSpec s = ParseFlagsSpec("acme: {f: 1\nglobex: [\n", "bad.spec");
  BOOST_TEST(s.fatal);
  BOOST_TEST(s.rows.empty());
  BOOST_TEST_REQUIRE(!s.errors.empty());
  BOOST_TEST(s.errors.back().line > 0);
  BOOST_TEST(Contains(s.errors.back().str(), "bad.spec:"));
  s = ParseFlagsSpec("- a\n- b\n", "f");
  BOOST_TEST(s.fatal);
  BOOST_TEST(Contains(s.errors.back().message, "mapping"));
  s = ParseFlagsSpec("just a scalar", "f");
  BOOST_TEST(s.fatal);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rate_limiter)

BOOST_AUTO_TEST_CASE(limits_per_minute_and_reports_suppressed_once) {
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  RateLimiter r(3, [&] { return now; });
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += r.Allow() ? 1 : 0;
  BOOST_TEST(allowed == 3);
  BOOST_TEST(r.TakeSuppressed() == 0u);          // window not over yet
  now += std::chrono::seconds(59);
  BOOST_TEST(!r.Allow());
  BOOST_TEST(r.TakeSuppressed() == 0u);
  now += std::chrono::seconds(2);                 // the minute has ended
  BOOST_TEST(r.TakeSuppressed() == 8u);
  BOOST_TEST(r.TakeSuppressed() == 0u);          // reported once
  BOOST_TEST(r.Allow());                          // fresh window
  BOOST_TEST(r.Allow());
  BOOST_TEST(r.Allow());
  BOOST_TEST(!r.Allow());
  now += std::chrono::minutes(5);
  BOOST_TEST(r.Allow());                          // new window via Allow()
  BOOST_TEST(r.TakeSuppressed() == 1u);
}

BOOST_AUTO_TEST_CASE(zero_suppresses_everything) {
  auto now = std::chrono::steady_clock::time_point{};
  RateLimiter r(0, [&] { return now; });
  BOOST_TEST(!r.Allow());
  BOOST_TEST(!r.Allow());
  now += std::chrono::minutes(1);
  BOOST_TEST(r.TakeSuppressed() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pq_helpers)

BOOST_AUTO_TEST_CASE(redact_dsn) {
  // The wrapper's redaction is config::RedactDsn (tests/unit/config covers every form).
  BOOST_TEST(pq::RedactDsn("host=db user=x password=hunter2 dbname=l") == "user=x password=*** dbname=l host=db");
  BOOST_TEST(pq::RedactDsn("postgresql://u@h/l?%70assword=hunter2") == "user=u password=*** dbname=l host=h");
}

BOOST_AUTO_TEST_CASE(classify) {
  BOOST_TEST(pq::ClassifySqlState("57014", false) == ErrorKind::kTimeout);
  BOOST_TEST(pq::ClassifySqlState("55P03", false) == ErrorKind::kTimeout);
  BOOST_TEST(pq::ClassifySqlState("08006", false) == ErrorKind::kConnect);
  BOOST_TEST(pq::ClassifySqlState("57P01", false) == ErrorKind::kConnect);
  BOOST_TEST(pq::ClassifySqlState("42P01", false) == ErrorKind::kQuery);
  BOOST_TEST(pq::ClassifySqlState("", false) == ErrorKind::kQuery);
  BOOST_TEST(pq::ClassifySqlState("42P01", true) == ErrorKind::kConnect);
}

BOOST_AUTO_TEST_CASE(read_password) {
  TempDir dir;
  config::Connection c;
  BOOST_TEST(!pq::ReadPassword(c).has_value());
  c.password_file = dir.Write("pw", "s3cret value\r\n").string();
  BOOST_TEST(pq::ReadPassword(c).value() == "s3cret value");
  c.password_file = dir.Write("pw2", "nonl").string();
  BOOST_TEST(pq::ReadPassword(c).value() == "nonl");
  c.password_file = (dir.path / "missing").string();
  try {
    pq::ReadPassword(c);
    BOOST_FAIL("missing password file must throw");
  } catch (const pq::PqError& e) {
    BOOST_TEST(e.kind() == ErrorKind::kConnect);
    BOOST_TEST(Contains(e.what(), "missing"));
  }
  c.password_file.clear();
  c.password_env = "PROVLEDGER_UNIT_PW";
  ::unsetenv("PROVLEDGER_UNIT_PW");
  BOOST_CHECK_THROW(pq::ReadPassword(c), pq::PqError);
  ::setenv("PROVLEDGER_UNIT_PW", "from-env", 1);
  BOOST_TEST(pq::ReadPassword(c).value() == "from-env");
  ::unsetenv("PROVLEDGER_UNIT_PW");
}

BOOST_AUTO_TEST_CASE(invalid_dsn_is_connect_error_without_password) {
  pq::ConnectOptions o;
  o.dsn = "host=127.0.0.1 bogus_option=1";
  o.password = "hunter2";
  try {
    pq::Connection c(o);
    BOOST_FAIL("must throw");
  } catch (const pq::PqError& e) {
    BOOST_TEST(e.kind() == ErrorKind::kConnect);
    BOOST_TEST(!Contains(e.what(), "hunter2"));
  }
}

BOOST_AUTO_TEST_CASE(dsn_parse_errors_never_quote_a_dsn_password) {
  // libpq quotes the offending URI component; here that is the password.
  for (const char* dsn : {"postgresql://u:pw%zzsecret@127.0.0.1/db",
                          "postgresql://u@127.0.0.1/db?password=pw%zzsecret",
                          "host=127.0.0.1 password=pw%zzsecret port=notanumber"}) {
    pq::ConnectOptions o;
    o.dsn = dsn;
    try {
      pq::Connection c(o);
      BOOST_FAIL("must throw");
    } catch (const pq::PqError& e) {
      BOOST_TEST(e.kind() == ErrorKind::kConnect);
      BOOST_TEST(!Contains(e.what(), "zzsecret"), e.what());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(flags_file_source)

BOOST_AUTO_TEST_CASE(rereads_only_on_change_and_returns_full_set) {
  TempDir dir;
  config::Flags cfg;
  cfg.kind = config::FlagsKind::kFile;
  cfg.name = "ramp";
  cfg.file = (dir.path / "flags.spec").string();
  std::vector<std::string> lines;
  SourceOptions opt;
  opt.log = [&](LogLevel, std::string_view m, const LogFields&) { lines.emplace_back(m); };
  FlagsFileSource src(cfg, opt);
  BOOST_TEST(src.name() == "ramp");
  BOOST_TEST((src.kind() == SourceKind::kFlags));

  // Missing file: failed poll, kind query, no batch.
  PollResult r = src.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(std::holds_alternative<std::monostate>(r.batch));
  BOOST_TEST(Contains(src.last_error(), "flags.spec"));

  dir.Write("flags.spec", "acme: {a: 10, b: 200}\n");
  r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 1u);
  BOOST_TEST(r.report.rows_read == 2u);
  auto* b = std::get_if<FlagsBatch>(&r.batch);
  BOOST_TEST_REQUIRE(b != nullptr);
  BOOST_TEST(b->source == "ramp");
  BOOST_TEST_REQUIRE(b->flags.size() == 1u);
  BOOST_TEST(b->flags[0].pct == 10.0);
  BOOST_TEST(src.last_error().empty());

  // Unchanged: the same full set, nothing re-read or re-counted.
  r = src.Poll();
  BOOST_TEST(r.report.success);
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 0u);
  BOOST_TEST(r.report.rows_read == 0u);
  b = std::get_if<FlagsBatch>(&r.batch);
  BOOST_TEST_REQUIRE(b != nullptr);
  BOOST_TEST(b->flags.size() == 1u);

  // Changed (atomic rename, as a controller would): new set.
  dir.Write("flags.tmp", "tenants:\n  acme: {a: 30}\n  globex: {a: 40}\n");
  fs::rename(dir.path / "flags.tmp", dir.path / "flags.spec");
  r = src.Poll();
  b = std::get_if<FlagsBatch>(&r.batch);
  BOOST_TEST_REQUIRE(b != nullptr);
  BOOST_TEST(b->flags.size() == 2u);
  BOOST_TEST(Find(b->flags, "acme", "a")->pct == 30.0);

  // Syntax error: failed poll (decode), every poll until fixed.
  dir.Write("flags.tmp", "acme: {a: 30\n");
  fs::rename(dir.path / "flags.tmp", dir.path / "flags.spec");
  for (int i = 0; i < 2; ++i) {
    r = src.Poll();
    BOOST_TEST(!r.report.success);
    BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 1u);
    BOOST_TEST(std::holds_alternative<std::monostate>(r.batch));
    BOOST_TEST(Contains(r.report.error, "flags.spec:"));
  }
  // In-place rewrite with the same size is still noticed (mtime in ns).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  dir.Write("flags.spec", "acme: {a: 31}\n");
  r = src.Poll();
  b = std::get_if<FlagsBatch>(&r.batch);
  BOOST_TEST_REQUIRE(b != nullptr);
  BOOST_TEST(b->flags[0].pct == 31.0);
  BOOST_TEST(!lines.empty());   // the bad entry was logged
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(factory)

BOOST_AUTO_TEST_CASE(config_order_and_kinds_without_io) {
  config::Config c;
  config::Ledger l1, l2;
  l1.name = "eu";
  l2.name = "us";
  l1.conn.dsn = l2.conn.dsn = "host=127.0.0.1 port=1";   // never contacted here
  c.ledgers = {l1, l2};
  config::TraceStore t;
  t.name = "traces";
  c.trace_stores = {t};
  auto v = MakeSources(c);
  BOOST_TEST_REQUIRE(v.size() == 3u);
  BOOST_TEST(v[0]->name() == "eu");
  BOOST_TEST(v[1]->name() == "us");
  BOOST_TEST(v[2]->name() == "traces");
  BOOST_TEST(dynamic_cast<LedgerSource*>(v[0].get()) != nullptr);
  BOOST_TEST(dynamic_cast<TraceSource*>(v[2].get()) != nullptr);
  BOOST_TEST((dynamic_cast<LedgerSource*>(v[0].get())->cursors().receipts.ts == kMinMicros));
  c.flags.kind = config::FlagsKind::kFile;
  c.flags.file = "/nonexistent";
  v = MakeSources(c);
  BOOST_TEST_REQUIRE(v.size() == 4u);
  BOOST_TEST(dynamic_cast<FlagsFileSource*>(v[3].get()) != nullptr);
  c.flags.kind = config::FlagsKind::kSql;
  v = MakeSources(c);
  BOOST_TEST(dynamic_cast<FlagsSqlSource*>(v[3].get()) != nullptr);
}

BOOST_AUTO_TEST_CASE(options_from_config) {
  config::Config c;
  c.log_bad_rows_per_minute = 3;
  c.tenants.max_name_bytes = 64;
  c.coverage.window_ms = 1000;
  c.coverage.grace_ms = 500;
  SourceOptions o = SourceOptions::FromConfig(c);
  BOOST_TEST(o.log_bad_rows_per_minute == 3);
  BOOST_TEST(o.max_tenant_bytes == 64u);
  BOOST_TEST(o.cold_start_lookback_ms.value() == 1500);
  BOOST_TEST(o.max_rows_per_poll == 200000, "not a config key (yet): the default is kept");
  BOOST_TEST(SourceOptions{}.max_rows_per_poll == 200000);
}

BOOST_AUTO_TEST_CASE(unreachable_database_is_a_failed_poll_not_a_throw) {
  config::Ledger l;
  l.name = "down";
  l.conn.dsn = "host=127.0.0.1 port=1 dbname=x user=x";   // port 1: connection refused
  l.conn.connect_timeout_ms = 2000;
  LedgerSource s(l, SourceOptions{});
  PollResult r = s.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kConnect)] == 1u);
  BOOST_TEST(r.report.source == "down");
  BOOST_TEST(!r.report.error.empty());
  BOOST_TEST(std::holds_alternative<std::monostate>(r.batch));
  BOOST_TEST((s.cursors().receipts.ts == kMinMicros));
}

BOOST_AUTO_TEST_CASE(request_stop_before_a_poll_fails_it_without_io) {
  config::Ledger l;
  l.name = "down";
  l.conn.dsn = "host=127.0.0.1 port=1 dbname=x user=x";   // would be a kConnect failure
  l.conn.connect_timeout_ms = 2000;
  LedgerSource s(l, SourceOptions{});
  s.RequestStop();
  s.RequestStop();   // idempotent; no connection: nothing to cancel
  PollResult r = s.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.error == "stopped");
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kConnect)] == 0u, "no connect attempted");
  BOOST_TEST(!r.more);
  BOOST_TEST(s.last_error() == "stopped");
  s.ClearStop();
  r = s.Poll();
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kConnect)] == 1u, r.report.error);

  config::TraceStore t;
  t.name = "traces";
  t.conn.dsn = l.conn.dsn;
  TraceSource ts(t, SourceOptions{});
  ts.RequestStop();
  BOOST_TEST(ts.Poll().report.error == "stopped");
  ts.ClearStop();
  BOOST_TEST(ts.Poll().report.errors[static_cast<int>(ErrorKind::kConnect)] == 1u);

  config::Flags f;
  f.kind = config::FlagsKind::kSql;
  f.conn.dsn = l.conn.dsn;
  f.query = "SELECT 1";
  FlagsSqlSource fs(f, SourceOptions{});
  fs.RequestStop();
  BOOST_TEST(fs.Poll().report.error == "stopped");
  fs.ClearStop();
  BOOST_TEST(fs.Poll().report.errors[static_cast<int>(ErrorKind::kConnect)] == 1u);
}

BOOST_AUTO_TEST_CASE(default_source_controls_are_no_ops) {
  // FlagsFileSource has no query to stop or bound: the Source defaults.
  TempDir dir;
  config::Flags f;
  f.kind = config::FlagsKind::kFile;
  f.file = dir.Write("flags.spec", "acme: {x: 5}\n").string();
  FlagsFileSource s(f, SourceOptions{});
  Source& base = s;
  base.RequestStop();
  base.SetReadLimit(0);
  PollResult r = s.Poll();
  BOOST_TEST(r.report.success, r.report.error);
  BOOST_TEST(std::get<FlagsBatch>(r.batch).flags.size() == 1u);
  base.ClearStop();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stream)

BOOST_AUTO_TEST_CASE(complete_upto_is_horizon_or_just_before_the_cursor) {
  StreamCursor c;
  c.ts = 1'000'000;
  c.id = "r9";
  BOOST_TEST(detail::CompleteUpto({12, true}, c, 5'000'000) == 5'000'000);
  BOOST_TEST(detail::CompleteUpto({12, false}, c, 5'000'000) == 999'999);
  BOOST_TEST(detail::CompleteUpto({0, true}, c, 5'000'000) == 5'000'000);
}

BOOST_AUTO_TEST_CASE(empty_cancel_handle) {
  pq::CancelHandle h;
  BOOST_TEST(!h);
  std::string why;
  BOOST_TEST(!h.Cancel(&why));
  BOOST_TEST(!why.empty());
  BOOST_TEST(!h.Cancel());
  pq::CancelHandle moved = std::move(h);
  BOOST_TEST(!moved);
}

BOOST_AUTO_TEST_SUITE_END()
