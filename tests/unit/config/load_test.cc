// Valid configurations: every key lands in the right field, defaults apply,
// the shipped example loads, and every accepted key is documented.
// meson's boost dependency already defines it on the command line.
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/load.hh"
#include "helpers.hh"

namespace provledger::config::test {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string EnvPath(const char* name) {
  const char* v = std::getenv(name);
  BOOST_REQUIRE_MESSAGE(v != nullptr && *v != '\0',
                        name << " is not set; run this test through meson test");
  return v;
}

// A temp dir removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "provledger-config-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    std::filesystem::path p = path / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

// Every key set to a value other than its default.
const std::string kFull = R"(web:
  listen_address: "127.0.0.1:9999"
  telemetry_path: /prom
  max_requests: 8
poll_interval: 1m30s
state_file: /var/lib/x/state.json
state_max_divergence_keys: 500
log_bad_rows_per_minute: 0
coverage: {window: 2h, grace: 0s}
tenants:
  max: 200
  allow: ["acme.*", "^b[0-9]+$"]
  deny: [acme-test]
  max_name_bytes: 64
  shard: {index: 2, total: 3}
histogram:
  anchor_latency_buckets_ms: [0.5, 1, 2.5, 1000]
  anchor_latency_per_tenant: false
ledgers:
  - name: eu
    region: eu-west
    dsn: "host=10.0.0.1 port=5433 dbname=ledger_eu user=provledger"
    password_file: /run/credentials/x/db-password
    connect_timeout: 3s
    statement_timeout: 1m
    out_of_order: 750ms
    batch_size: 1000
    queries:
      clock: SELECT 1
      receipts: SELECT 2
      anchored: SELECT 3
      queue_depth: SELECT 4
      proofs_last: SELECT 5
  - {name: us.east-1, region: us-east, dsn: "postgresql://provledger@db/ledger_us", password_env: US_PW}
trace_stores:
  - name: traces
    kind: postgres
    dsn: "host=127.0.0.1 dbname=traces"
    password_env: TRACES_PW
    connect_timeout: 1s
    statement_timeout: 2s
    prepared_statements: false
    out_of_order: 1m
    batch_size: 1000000
    queries: {clock: SELECT 6, spans: SELECT 7}
flags:
  name: ramps
  dsn: "host=127.0.0.1 dbname=ramps"
  password_file: /p
  connect_timeout: 4s
  statement_timeout: 5s
  query: "SELECT tenant, feature, pct FROM ramps"
)";

BOOST_AUTO_TEST_CASE(full_config_maps_every_key) {
  Config c = Parse(kFull);
  BOOST_TEST(c.path == "t.yml");
  BOOST_TEST(c.web.listen_address == "127.0.0.1:9999");
  BOOST_TEST(c.web.telemetry_path == "/prom");
  BOOST_TEST(c.web.max_requests == 8);
  BOOST_TEST(c.poll_interval_ms == 90000);
  BOOST_TEST(c.state_file == "/var/lib/x/state.json");
  BOOST_TEST(c.state_max_divergence_keys == 500);
  BOOST_TEST(c.log_bad_rows_per_minute == 0);
  BOOST_TEST(c.coverage.window_ms == 7200000);
  BOOST_TEST(c.coverage.grace_ms == 0);
  BOOST_TEST(c.tenants.max == 200);
  BOOST_TEST(c.tenants.allow == (std::vector<std::string>{"acme.*", "^b[0-9]+$"}),
             boost::test_tools::per_element());
  BOOST_TEST(c.tenants.deny == (std::vector<std::string>{"acme-test"}),
             boost::test_tools::per_element());
  BOOST_TEST(c.tenants.max_name_bytes == 64);
  BOOST_TEST(c.tenants.shard_index == 2);
  BOOST_TEST(c.tenants.shard_total == 3);
  BOOST_TEST(c.histogram.anchor_latency_buckets_ms == (std::vector<double>{0.5, 1, 2.5, 1000}),
             boost::test_tools::per_element());
  BOOST_TEST(c.histogram.anchor_latency_per_tenant == false);

  BOOST_REQUIRE(c.ledgers.size() == 2u);
  const Ledger& eu = c.ledgers[0];
  BOOST_TEST(eu.name == "eu");
  BOOST_TEST(eu.region == "eu-west");
  BOOST_TEST(eu.conn.dsn == "host=10.0.0.1 port=5433 dbname=ledger_eu user=provledger");
  BOOST_TEST(eu.conn.password_file == "/run/credentials/x/db-password");
  BOOST_TEST(eu.conn.password_env == "");
  BOOST_TEST(eu.conn.connect_timeout_ms == 3000);
  BOOST_TEST(eu.conn.statement_timeout_ms == 60000);
  BOOST_TEST(eu.conn.prepared_statements, "default: prepared");
  BOOST_TEST(eu.out_of_order_ms == 750);
  BOOST_TEST(eu.batch_size == 1000);
  BOOST_TEST(eu.queries.clock == "SELECT 1");
  BOOST_TEST(eu.queries.receipts == "SELECT 2");
  BOOST_TEST(eu.queries.anchored == "SELECT 3");
  BOOST_TEST(eu.queries.queue_depth == "SELECT 4");
  BOOST_TEST(eu.queries.proofs_last == "SELECT 5");
  BOOST_TEST(eu.line == 20);
  const Ledger& us = c.ledgers[1];
  BOOST_TEST(us.name == "us.east-1");
  BOOST_TEST(us.region == "us-east");
  BOOST_TEST(us.conn.dsn == "postgresql://provledger@db/ledger_us");
  BOOST_TEST(us.conn.password_env == "US_PW");
  BOOST_TEST(us.conn.password_file == "");
  BOOST_TEST(us.line == 34);
  BOOST_TEST(us.queries.clock == "");  // unset: the source uses its built-in default

  BOOST_REQUIRE(c.trace_stores.size() == 1u);
  const TraceStore& t = c.trace_stores[0];
  BOOST_TEST(t.name == "traces");
  BOOST_TEST((t.kind == TraceKind::kPostgres));
  BOOST_TEST(t.conn.dsn == "host=127.0.0.1 dbname=traces");
  BOOST_TEST(t.conn.password_env == "TRACES_PW");
  BOOST_TEST(t.conn.connect_timeout_ms == 1000);
  BOOST_TEST(t.conn.statement_timeout_ms == 2000);
  BOOST_TEST(!t.conn.prepared_statements);
  BOOST_TEST(t.out_of_order_ms == 60000);
  BOOST_TEST(t.batch_size == 1000000);
  BOOST_TEST(t.queries.clock == "SELECT 6");
  BOOST_TEST(t.queries.spans == "SELECT 7");
  BOOST_TEST(t.line == 36);

  BOOST_TEST((c.flags.kind == FlagsKind::kSql));
  BOOST_TEST(c.flags.name == "ramps");
  BOOST_TEST(c.flags.file == "");
  BOOST_TEST(c.flags.conn.dsn == "host=127.0.0.1 dbname=ramps");
  BOOST_TEST(c.flags.conn.password_file == "/p");
  BOOST_TEST(c.flags.conn.connect_timeout_ms == 4000);
  BOOST_TEST(c.flags.conn.statement_timeout_ms == 5000);
  BOOST_TEST(c.flags.query == "SELECT tenant, feature, pct FROM ramps");
}

BOOST_AUTO_TEST_CASE(defaults_when_keys_are_absent) {
  Config c = Parse(kLedger +
                   "trace_stores:\n"
                   "  - name: traces\n"
                   "    dsn: host=127.0.0.1\n");
  BOOST_TEST(c.web.listen_address == ":23473");
  BOOST_TEST(c.web.telemetry_path == "/metrics");
  BOOST_TEST(c.web.max_requests == 40);
  BOOST_TEST(c.poll_interval_ms == 15000);
  BOOST_TEST(c.state_file == "");
  BOOST_TEST(c.state_max_divergence_keys == 1000000);
  BOOST_TEST(c.log_bad_rows_per_minute == 10);
  BOOST_TEST(c.max_rows_per_poll == 200000);
  BOOST_TEST(c.coverage.window_ms == 3600000);
  BOOST_TEST(c.coverage.grace_ms == 120000);
  BOOST_TEST(c.tenants.max == 10000);
  BOOST_TEST(c.tenants.allow.empty());
  BOOST_TEST(c.tenants.deny.empty());
  BOOST_TEST(c.tenants.max_name_bytes == 128);
  BOOST_TEST(c.tenants.shard_index == 0);
  BOOST_TEST(c.tenants.shard_total == 1);
  BOOST_TEST(c.histogram.anchor_latency_buckets_ms ==
                 (std::vector<double>{5, 10, 15, 20, 30, 50, 100, 250, 500}),
             boost::test_tools::per_element());
  BOOST_TEST(c.histogram.anchor_latency_per_tenant == true);
  BOOST_REQUIRE(c.ledgers.size() == 1u);
  const Ledger& l = c.ledgers[0];
  BOOST_TEST(l.line == 2);
  BOOST_TEST(l.conn.password_file == "");
  BOOST_TEST(l.conn.password_env == "");
  BOOST_TEST(l.conn.connect_timeout_ms == 5000);
  BOOST_TEST(l.conn.statement_timeout_ms == 10000);
  BOOST_TEST(l.out_of_order_ms == 5000);
  BOOST_TEST(l.batch_size == 5000);
  BOOST_TEST(l.queue_depth_interval_ms == 30000);
  BOOST_TEST(l.queries.clock.empty());
  BOOST_TEST(l.queries.receipts.empty());
  BOOST_TEST(l.queries.anchored.empty());
  BOOST_TEST(l.queries.queue_depth.empty());
  BOOST_TEST(l.queries.proofs_last.empty());
  BOOST_REQUIRE(c.trace_stores.size() == 1u);
  const TraceStore& t = c.trace_stores[0];
  BOOST_TEST((t.kind == TraceKind::kPostgres));
  BOOST_TEST(t.out_of_order_ms == 30000);
  BOOST_TEST(t.batch_size == 5000);
  BOOST_TEST(t.conn.connect_timeout_ms == 5000);
  BOOST_TEST(t.conn.statement_timeout_ms == 10000);
  BOOST_TEST(t.line == 6);
  BOOST_TEST((c.flags.kind == FlagsKind::kNone));
}

BOOST_AUTO_TEST_CASE(flags_from_file_and_boundary_values_accepted) {
  Config c = Parse(kLedger +
                   "poll_interval: 100ms\n"
                   "coverage: {window: 1m, grace: 0s}\n"
                   "web: {listen_address: \"[::1]:0\", max_requests: 1024}\n"
                   "tenants: {max: 1, shard: {index: 0, total: 1}}\n"
                   "flags: {file: /etc/provledger_exporter/flags.spec}\n");
  BOOST_TEST(c.poll_interval_ms == 100);
  BOOST_TEST(c.coverage.window_ms == 60000);
  BOOST_TEST(c.coverage.grace_ms == 0);
  BOOST_TEST(c.web.listen_address == "[::1]:0");
  BOOST_TEST(c.web.max_requests == 1024);
  BOOST_TEST((c.flags.kind == FlagsKind::kFile));
  BOOST_TEST(c.flags.name == "flags");
  BOOST_TEST(c.flags.file == "/etc/provledger_exporter/flags.spec");

  for (const char* addr : {":23473", "localhost:65535", "127.0.0.1:1", "[fe80::1]:80", "0.0.0.0:0"}) {
    BOOST_TEST_CONTEXT(addr) {
      BOOST_TEST(Parse(kLedger + "web: {listen_address: \"" + addr + "\"}\n").web.listen_address ==
                 addr);
    }
  }
  BOOST_TEST(Parse(kLedger + "    batch_size: 1000000\n").ledgers[0].batch_size == 1000000);
  BOOST_TEST(Parse(kLedger + "    batch_size: 1\n").ledgers[0].batch_size == 1);
  BOOST_TEST(Parse(kLedger + "    queue_depth_interval: 0s\n").ledgers[0].queue_depth_interval_ms == 0);
  BOOST_TEST(Parse(kLedger + "    queue_depth_interval: 5m\n").ledgers[0].queue_depth_interval_ms == 300000);
  BOOST_TEST(Parse(kLedger + "max_rows_per_poll: 0\n").max_rows_per_poll == 0);
  BOOST_TEST(Parse(kLedger + "max_rows_per_poll: 1\n").max_rows_per_poll == 1);
  BOOST_TEST(Parse(kLedger + "state_file: \"\"\n").state_file == "");
}

BOOST_AUTO_TEST_CASE(shipped_example_config_loads) {
  const std::string path = EnvPath("PROVLEDGER_EXAMPLE_CONFIG");
  Config c;
  try {
    c = LoadConfig(path);
  } catch (const ConfigError& e) {
    BOOST_FAIL("example config rejected:\n" << JoinLines(e.problems()));
  }
  BOOST_TEST(c.path == path);
  BOOST_REQUIRE(c.ledgers.size() == 2u);
  BOOST_TEST(c.ledgers[0].region == "eu-west");
  BOOST_TEST(c.ledgers[1].region == "us-east");
  BOOST_REQUIRE(c.trace_stores.size() == 1u);
  BOOST_TEST(c.trace_stores[0].conn.dsn.find("127.0.0.1") != std::string::npos);
  BOOST_TEST((c.flags.kind == FlagsKind::kFile));
  // The example shows the defaults, so loading it must give the defaults.
  Config d;
  BOOST_TEST(c.web.listen_address == d.web.listen_address);
  BOOST_TEST(c.web.telemetry_path == d.web.telemetry_path);
  BOOST_TEST(c.poll_interval_ms == d.poll_interval_ms);
  BOOST_TEST(c.coverage.window_ms == d.coverage.window_ms);
  BOOST_TEST(c.coverage.grace_ms == d.coverage.grace_ms);
  BOOST_TEST(c.tenants.max == d.tenants.max);
  BOOST_TEST(c.histogram.anchor_latency_buckets_ms == d.histogram.anchor_latency_buckets_ms,
             boost::test_tools::per_element());
}

// Every key the loader accepts appears in the example (as "key:", possibly in
// a comment) and in the reference table of docs/configuration.md.
BOOST_AUTO_TEST_CASE(every_key_is_documented) {
  const std::string example = ReadFile(EnvPath("PROVLEDGER_EXAMPLE_CONFIG"));
  const std::string doc = ReadFile(EnvPath("PROVLEDGER_CONFIG_DOC"));
  const std::vector<std::string> keys = KnownKeyPaths();
  BOOST_TEST(keys.size() >= 40u);
  for (const std::string& path : keys) {
    BOOST_TEST_CONTEXT(path) {
      std::string leaf = path.substr(path.rfind('.') + 1);
      BOOST_TEST(example.find(leaf + ":") != std::string::npos);
      BOOST_TEST(doc.find("| `" + path + "` |") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(load_config_reads_the_file) {
  TempDir dir;
  const std::string good = dir.Write("good.yml", kFull);
  Config c = LoadConfig(good);
  BOOST_TEST(c.path == good);
  BOOST_TEST(c.ledgers.size() == 2u);

  const std::string bad = dir.Write("bad.yml", kLedger + "poll_interval: 15\n");
  try {
    LoadConfig(bad);
    BOOST_ERROR("bad config accepted");
  } catch (const ConfigError& e) {
    BOOST_REQUIRE(e.problems().size() == 1u);
    BOOST_TEST(e.problems()[0].rfind(bad + ":5:16: ", 0) == 0);
  }

  const std::string missing = (dir.path / "nope.yml").string();
  try {
    LoadConfig(missing);
    BOOST_ERROR("missing file accepted");
  } catch (const ConfigError& e) {
    BOOST_REQUIRE(e.problems().size() == 1u);
    BOOST_TEST(e.problems()[0] == missing + ": cannot read configuration file: No such file or directory");
  }
  // A file without end is read only up to the cap.
  try {
    LoadConfig("/dev/zero");
    BOOST_ERROR("/dev/zero accepted");
  } catch (const ConfigError& e) {
    BOOST_REQUIRE(e.problems().size() == 1u);
    BOOST_TEST(e.problems()[0] == "/dev/zero: configuration file is larger than 1048576 bytes");
  }
}

BOOST_AUTO_TEST_CASE(config_error_what_joins_problems) {
  ConfigError e({"a.yml:1:1: one", "a.yml:2:1: two"});
  BOOST_TEST(std::string(e.what()) == "a.yml:1:1: one\na.yml:2:1: two");
  BOOST_TEST(e.problems().size() == 2u);
}

BOOST_AUTO_TEST_CASE(check_config_file_output_and_exit_code) {
  TempDir dir;
  std::ostringstream out, err;
  BOOST_TEST(CheckConfigFile(dir.Write("ok.yml", kFull), out, err) == 0);
  BOOST_TEST(out.str() == "config OK: 2 ledgers, 1 trace stores\n");
  BOOST_TEST(err.str() == "");

  std::ostringstream out2, err2;
  const std::string bad = dir.Write("bad.yml", kLedger + "poll_interval: 15\nweb: []\n");
  BOOST_TEST(CheckConfigFile(bad, out2, err2) == 1);
  BOOST_TEST(out2.str() == "");
  const std::string e = err2.str();
  BOOST_TEST(e.rfind(bad + ":5:16: poll_interval: duration needs a unit", 0) == 0);
  BOOST_TEST(e.find("\n" + bad + ":6:6: web: expected a mapping, got a list\n") !=
             std::string::npos);
  BOOST_TEST(std::count(e.begin(), e.end(), '\n') == 2);
}

}  // namespace
}  // namespace provledger::config::test
