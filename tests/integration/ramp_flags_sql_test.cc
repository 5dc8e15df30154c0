// The ramp controller writing the flags SQL table (plan flags_sql), against
// real parts: a TempPostgres, a real Prometheus (no targets: the plan's check
// and freshness queries are constant PromQL, so the decisions are known) and
// the controller's RunOnce on chosen instants. FlagsSqlSource, the exporter's
// reader, reads the table back. Fails (never skips) when a part cannot start.
#define BOOST_TEST_MODULE integration_ramp_flags_sql
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common.hh"
#include "config/load.hh"
#include "ramp/controller.hh"
#include "ramp/plan.hh"
#include "ramp/prom.hh"
#include "source/flags_source.hh"
#include "source/flags_spec.hh"
#include "temp_postgres.hh"

extern char** environ;

namespace provledger::itest {
namespace {

namespace fs = std::filesystem;
using Rows = std::map<std::pair<std::string, std::string>, double>;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream o(path, std::ios::binary | std::ios::trunc);
  o << text;
  BOOST_REQUIRE(o.good());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A real Prometheus on a free loopback port with no scrape target, stopped by
// its pid.
class TempPrometheus {
 public:
  explicit TempPrometheus(const std::string& dir) {
    port_ = testing::FreeLoopbackPort();
    WriteFile(dir + "/prometheus.yml", "global: {}\nscrape_configs: []\n");
    std::vector<std::string> argv = {"prometheus", "--config.file=" + dir + "/prometheus.yml",
                                     "--storage.tsdb.path=" + dir + "/tsdb",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--log.level=warn"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, (dir + "/prometheus.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = ::posix_spawnp(&pid_, "prometheus", &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start prometheus: " + std::string(std::strerror(rc)));
    ramp::HttpApi api(url(), 2000);
    for (int i = 0; i < 600; ++i) {   // up to about a minute on a loaded machine
      if (api.Query("vector(1)", 0).ok) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        throw std::runtime_error("prometheus exited: " + ReadFile(dir + "/prometheus.log"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("prometheus not ready: " + ReadFile(dir + "/prometheus.log"));
  }
  ~TempPrometheus() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
};

Rows TableRows(const config::Flags& f) {
  source::FlagsSqlSource src(f);
  source::PollResult r = src.Poll();
  BOOST_REQUIRE_MESSAGE(r.report.success, r.report.error);
  Rows out;
  for (const FlagRow& row : std::get<FlagsBatch>(r.batch).flags) out[{row.tenant, row.feature}] = row.pct;
  return out;
}

Rows SpecRows(const std::string& path) {
  source::FlagsSpec spec = source::ParseFlagsSpec(ReadFile(path), path);
  BOOST_REQUIRE(spec.errors.empty());
  Rows out;
  for (const FlagRow& row : spec.rows) out[{row.tenant, row.feature}] = row.pct;
  return out;
}

std::string LastLine(const std::string& text) {
  std::string t = text;
  if (!t.empty() && t.back() == '\n') t.pop_back();
  return t.substr(t.rfind('\n') == std::string::npos ? 0 : t.rfind('\n') + 1);
}

struct Env {
  std::string dir;
  std::unique_ptr<TempPrometheus> prom;
  std::string db;

  Env() {
    char tmpl[] = "/tmp/provledger_ramp_sql_XXXXXX";
    BOOST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    prom = std::make_unique<TempPrometheus>(dir);
    db = NewDb("rampsql");
    Server().Exec(db,
                  "CREATE TABLE ramps (tenant text NOT NULL, feature text NOT NULL, pct double precision NOT NULL,"
                  " PRIMARY KEY (tenant, feature));"
                  "INSERT INTO ramps VALUES ('acme', 'feat', 10), ('globex', 'feat', 10), ('acme', 'other', 30);"
                  "CREATE ROLE ramp_update_only LOGIN; GRANT SELECT, UPDATE ON ramps TO ramp_update_only;");
    WriteFile(dir + "/flags.spec", "acme: {feat: 10, other: 30}\nglobex: {feat: 10}\n");
  }
  ~Env() {
    prom.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // The exporter's config with an SQL flags source; `dsn_extra` picks the role.
  std::string ExporterConfig(const std::string& name, const std::string& dsn, const std::string& extra = "") {
    const std::string path = dir + "/" + name + ".yml";
    WriteFile(path, "ledgers:\n  - name: eu\n    region: eu-west\n    dsn: \"host=127.0.0.1 dbname=nothing\"\n"
                    "flags:\n  dsn: \"" + dsn + "\"\n" + extra +
                    "  query: \"SELECT tenant, feature, pct FROM ramps\"\n");
    return path;
  }

  ramp::Plan MakePlan(const std::string& exporter_config, const std::string& table = "ramps") {
    const std::string path = dir + "/plan.yml";
    WriteFile(path, "prometheus:\n  url: " + prom->url() + "\n  freshness_query: \"vector(0)\"\n"
                    "flags_file: " + dir + "/flags.spec\njournal: " + dir + "/journal.jsonl\n"
                    "flags_sql:\n  config: " + exporter_config + "\n  table: " + table + "\n"
                    "features:\n  - name: feat\n    soak: 1s\n"
                    "    checks: [{name: always, query: \"vector(1)\", min: 1, scope: global}]\n");
    return ramp::LoadPlan(path);
  }

  ramp::RunResult Run(const ramp::Plan& plan, std::int64_t at_ms, bool dry_run = false) {
    ramp::RunOptions o;
    o.dry_run = dry_run;
    ramp::Controller c(plan, o);
    std::ostringstream out, log;
    ramp::RunResult r = c.RunOnce(at_ms, out, log);
    BOOST_TEST_MESSAGE("run at " << at_ms << ": " << out.str() << log.str());
    return r;
  }
};

constexpr std::int64_t kT = 1'800'000'000'000;

BOOST_AUTO_TEST_CASE(writes_the_changed_rows_and_a_failed_write_changes_nothing) {
  Env env;
  const std::string good_cfg = env.ExporterConfig("good", Server().Dsn(env.db));
  const config::Flags reader = config::LoadConfig(good_cfg).flags;
  const ramp::Plan plan = env.MakePlan(good_cfg);

  // First seen: soak, nothing written.
  ramp::RunResult r = env.Run(plan, kT);
  BOOST_TEST_REQUIRE(r.ok, r.error);
  BOOST_TEST(r.changes == 0);
  // A full soak later: both pairs advance 10 -> 50, in flags.spec and in the table.
  r = env.Run(plan, kT + 2000);
  BOOST_TEST_REQUIRE(r.ok, r.error);
  BOOST_TEST(r.changes == 2);
  Rows table = TableRows(reader);
  BOOST_TEST((table == Rows{{{"acme", "feat"}, 50}, {{"globex", "feat"}, 50}, {{"acme", "other"}, 30}}));
  BOOST_TEST((table == SpecRows(env.dir + "/flags.spec")));

  // Dry run: plans 50 -> 100, writes neither.
  r = env.Run(plan, kT + 4000, true);
  BOOST_TEST_REQUIRE(r.ok, r.error);
  BOOST_TEST(r.changes == 2);
  BOOST_TEST((TableRows(reader) == table));
  BOOST_TEST((SpecRows(env.dir + "/flags.spec") == table));

  // A role that may UPDATE but not INSERT, and globex's row gone: acme's
  // UPDATE succeeds inside the transaction, globex's INSERT fails, the
  // whole transaction rolls back.
  Server().Exec(env.db, "DELETE FROM ramps WHERE tenant = 'globex'");
  const Rows before = TableRows(reader);
  const std::string spec_before = ReadFile(env.dir + "/flags.spec");
  const std::string limited_cfg = env.ExporterConfig("limited", Server().Dsn(env.db, "ramp_update_only"));
  r = env.Run(env.MakePlan(limited_cfg), kT + 6000);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error.find("no permission to write flags table \"ramps\"") != std::string::npos, r.error);
  BOOST_TEST((TableRows(reader) == before));
  BOOST_TEST(ReadFile(env.dir + "/flags.spec") == spec_before);
  std::string last = LastLine(ReadFile(env.dir + "/journal.jsonl"));
  BOOST_TEST(last.find("\"decision\":\"write_failed\"") != std::string::npos, last);
  BOOST_TEST(last.find("\"target\":\"flags table\"") != std::string::npos, last);
  BOOST_TEST(last.find("no permission") != std::string::npos, last);

  // A missing table.
  r = env.Run(env.MakePlan(good_cfg, "no_such_table"), kT + 7000);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error.find("flags table \"no_such_table\" does not exist") != std::string::npos, r.error);
  BOOST_TEST((TableRows(reader) == before));

  // A wrong DSN (nothing listens on port 1), with a password from a file:
  // a clear error naming the redacted DSN, never the password.
  WriteFile(env.dir + "/pw", std::string(kPassword) + "\n");
  const std::string bad_cfg =
      env.ExporterConfig("bad", "host=127.0.0.1 port=1 dbname=" + env.db + " user=" + kPwUser,
                         "  password_file: " + env.dir + "/pw\n  connect_timeout: 2s\n");
  r = env.Run(env.MakePlan(bad_cfg), kT + 8000);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error.find("cannot connect to the flags database (dsn ") != std::string::npos, r.error);
  BOOST_TEST(r.error.find("port=1") != std::string::npos, r.error);
  BOOST_TEST(r.error.find(kPassword) == std::string::npos, r.error);
  BOOST_TEST(ReadFile(env.dir + "/journal.jsonl").find(kPassword) == std::string::npos);
  BOOST_TEST((TableRows(reader) == before));
  // A config whose flags source is a file.
  const std::string file_cfg = env.dir + "/file.yml";
  WriteFile(file_cfg, "ledgers:\n  - name: eu\n    region: eu-west\n    dsn: \"host=127.0.0.1 dbname=nothing\"\nflags:\n  file: " +
                          env.dir + "/flags.spec\n");
  r = env.Run(env.MakePlan(file_cfg), kT + 9000);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error.find("its flags source is not SQL") != std::string::npos, r.error);
  BOOST_TEST(ReadFile(env.dir + "/flags.spec") == spec_before);

  // Back to the good config: the held changes are written (acme UPDATE, globex INSERT).
  r = env.Run(plan, kT + 10000);
  BOOST_TEST_REQUIRE(r.ok, r.error);
  BOOST_TEST(r.changes == 2);
  table = TableRows(reader);
  BOOST_TEST((table == Rows{{{"acme", "feat"}, 100}, {{"globex", "feat"}, 100}, {{"acme", "other"}, 30}}));
  BOOST_TEST((table == SpecRows(env.dir + "/flags.spec")));
}

}  // namespace
}  // namespace provledger::itest
