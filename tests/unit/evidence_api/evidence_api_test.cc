// Pure parts of src/evidence_api: the tokens file (positions of problems,
// constant-time lookup outcomes, tenant sets), the POST body, job.json round
// trip and the retention / disk-budget sweep rule; and the route's answers
// that need no database (auth 401/403, 405, 404, 413, 400, index) with a
// manager whose worker never gets a job.
#define BOOST_TEST_MODULE evidence_api
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "config/load.hh"
#include "evidence_api/jobs.hh"
#include "evidence_api/manager.hh"
#include "evidence_api/routes.hh"
#include "evidence_api/tokens.hh"

using namespace provledger;
using namespace provledger::evidence_api;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> Problems(std::string_view text) {
  try {
    TokenSet::Parse(text, "tokens");
  } catch (const config::ConfigError& e) {
    return e.problems();
  }
  return {};
}

constexpr const char* kTokens =
    "# comment\n"
    "\n"
    "aaaaaaaaaaaaaaaaaaaaaaaa acme beta\n"
    "   bbbbbbbbbbbbbbbbbbbbbbbb\t\n"
    "cccccccccccccccccccccc== gamma\n";

JobRecord Done(const std::string& id, Micros finished, std::uint64_t bytes) {
  JobRecord r;
  r.id = id;
  r.state = JobState::kDone;
  r.finished_at = finished;
  r.bundle_bytes = bytes;
  return r;
}

std::string Id(char c) { return std::string(32, c); }

}  // namespace

BOOST_AUTO_TEST_CASE(tokens_file_is_parsed_with_tenant_sets) {
  const TokenSet t = TokenSet::Parse(kTokens, "tokens");
  BOOST_TEST(t.size() == 3u);
  auto a = t.Authenticate(std::string_view("Bearer aaaaaaaaaaaaaaaaaaaaaaaa"));
  BOOST_TEST((a.outcome == TokenSet::Outcome::kOk));
  BOOST_TEST(a.token->line == 3);
  BOOST_TEST(TokenSet::Allows(*a.token, "acme"));
  BOOST_TEST(TokenSet::Allows(*a.token, "beta"));
  BOOST_TEST(!TokenSet::Allows(*a.token, "gamma"));
  auto b = t.Authenticate(std::string_view("bearer   bbbbbbbbbbbbbbbbbbbbbbbb"));   // scheme is case-insensitive
  BOOST_TEST((b.outcome == TokenSet::Outcome::kOk));
  BOOST_TEST(TokenSet::Allows(*b.token, "anyone"));   // no tenants: all
  auto c = t.Authenticate(std::string_view("Bearer cccccccccccccccccccccc=="));
  BOOST_TEST((c.outcome == TokenSet::Outcome::kOk));
  BOOST_TEST(c.token->tenants == std::vector<std::string>{"gamma"});
}

BOOST_AUTO_TEST_CASE(authentication_outcomes) {
  const TokenSet t = TokenSet::Parse(kTokens, "tokens");
  BOOST_TEST((t.Authenticate(std::nullopt).outcome == TokenSet::Outcome::kMissing));
  for (const char* bad : {"", "Bearer", "Bearer ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer a b",
                          "Bearer aaaaaaaaaaaaaaaa\x01", "Bearerx aaaaaaaaaaaaaaaaaaaaaaaa", "Bearer =abc"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST((t.Authenticate(std::string_view(bad)).outcome == TokenSet::Outcome::kMalformed));
    }
  }
  // One character off, a prefix, an extension: unknown.
  for (const char* other : {"Bearer aaaaaaaaaaaaaaaaaaaaaaab", "Bearer aaaaaaaaaaaaaaaaaaaaaaa",
                            "Bearer aaaaaaaaaaaaaaaaaaaaaaaaa", "Bearer AAAAAAAAAAAAAAAAAAAAAAAA"}) {
    BOOST_TEST_CONTEXT(other) {
      const auto a = t.Authenticate(std::string_view(other));
      BOOST_TEST((a.outcome == TokenSet::Outcome::kUnknown));
      BOOST_TEST(a.token == nullptr);
    }
  }
}

BOOST_AUTO_TEST_CASE(token_store_replaces_the_set_and_keeps_a_taken_snapshot) {
  TokenStore store(TokenSet::Parse(kTokens, "tokens"));
  const auto before = store.Get();
  BOOST_TEST((before->Authenticate(std::string_view("Bearer aaaaaaaaaaaaaaaaaaaaaaaa")).outcome ==
              TokenSet::Outcome::kOk));
  store.Replace(TokenSet::Parse("zzzzzzzzzzzzzzzzzzzzzzzz\n", "tokens"));
  const auto after = store.Get();
  BOOST_TEST(after->size() == 1u);
  BOOST_TEST((after->Authenticate(std::string_view("Bearer aaaaaaaaaaaaaaaaaaaaaaaa")).outcome ==
              TokenSet::Outcome::kUnknown));
  BOOST_TEST((after->Authenticate(std::string_view("Bearer zzzzzzzzzzzzzzzzzzzzzzzz")).outcome ==
              TokenSet::Outcome::kOk));
  // A request that took the set before the reload still sees it whole.
  BOOST_TEST((before->Authenticate(std::string_view("Bearer aaaaaaaaaaaaaaaaaaaaaaaa")).outcome ==
              TokenSet::Outcome::kOk));
}

BOOST_AUTO_TEST_CASE(tokens_file_problems_are_positioned) {
  auto p = Problems("aaaaaaaaaaaaaaaaaaaaaaaa\n  short t1\n  bad\"token-aaaaaaaaaaaaa\naaaaaaaaaaaaaaaaaaaaaaaa x\n");
  BOOST_REQUIRE(p.size() == 3u);
  BOOST_TEST(p[0].rfind("tokens:2:3: a token must be 16 to 512 characters long, this one has 5", 0) == 0, p[0]);
  BOOST_TEST(p[1].rfind("tokens:3:3: not a bearer token", 0) == 0, p[1]);
  BOOST_TEST(p[2].rfind("tokens:4:1: the same token is already defined on line 1", 0) == 0, p[2]);
  p = Problems("# nothing\n\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "tokens: no token defined (the API would refuse everyone)");
}

BOOST_AUTO_TEST_CASE(tokens_file_must_be_private) {
  const fs::path dir = fs::temp_directory_path() / ("evapi-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "tokens").string();
  {
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(kTokens, f);
    std::fclose(f);
  }
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  BOOST_CHECK_EXCEPTION(TokenSet::Load(path), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("0640") != std::string::npos;
  });
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  BOOST_TEST(TokenSet::Load(path).size() == 3u);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(export_request_body) {
  auto ok = ParseExportRequest(R"({"tenant":"acme","op_ids":["a","b"]})", 10);
  BOOST_REQUIRE(ok.query.has_value());
  BOOST_TEST(ok.query->tenant == "acme");
  BOOST_TEST(ok.query->op_ids == (std::vector<std::string>{"a", "b"}));
  auto range = ParseExportRequest(R"({"tenant":"acme","from":"2026-12-04T10:00:00Z","to":1796378400.5})", 10);
  BOOST_REQUIRE(range.query.has_value());
  BOOST_TEST(*range.query->from == 1796378400LL * 1000000);
  BOOST_TEST(*range.query->to == 1796378400LL * 1000000 + 500000);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", "not JSON"},
      {"[]", "JSON object"},
      {R"({"op_ids":["a"]})", "\"tenant\""},
      {R"({"tenant":"","op_ids":["a"]})", "\"tenant\""},
      {R"({"tenant":"t"})", "either"},
      {R"({"tenant":"t","op_ids":["a"],"from":1,"to":2})", "either"},
      {R"({"tenant":"t","op_ids":[]})", "non-empty list"},
      {R"({"tenant":"t","op_ids":[1]})", "op id"},
      {R"({"tenant":"t","op_ids":["a","b","c"]})", "over the limit of 2"},
      {R"({"tenant":"t","from":5,"to":5})", "from < to"},
      {R"({"tenant":"t","from":"yesterday","to":5})", "from < to"},
      {R"({"tenant":"t","to":5})", "from < to"},
      {R"({"tenant":"t","op_ids":["a"],"key_hex":"00"})", "unknown key \"key_hex\""},
  };
  for (const auto& [body, want] : bad) {
    BOOST_TEST_CONTEXT(body) {
      const auto r = ParseExportRequest(body, 2);
      BOOST_TEST(!r.query.has_value());
      BOOST_TEST(r.error.find(want) != std::string::npos, r.error);
    }
  }
}

BOOST_AUTO_TEST_CASE(job_record_round_trip) {
  JobRecord r = Done(Id('a'), 1234, 99);
  r.query.tenant = "acme";
  r.query.op_ids = {"x", "y"};
  r.created_at = 1000;
  r.started_at = 1100;
  r.phase = "done";
  r.progress_done = r.progress_total = 3;
  r.summary.operations = 2;
  r.summary.outcomes = {{"attested", 2}};
  std::string why;
  const auto back = RecordFromJson(RecordToJson(r), &why);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(RecordToJson(*back) == RecordToJson(r));
  BOOST_TEST(!RecordFromJson("{}", &why).has_value());
  BOOST_TEST(!RecordFromJson(R"({"id":"../etc"})", &why).has_value());
  BOOST_TEST(IsJobId(Id('f')));
  BOOST_TEST(!IsJobId(Id('g')));
  BOOST_TEST(!IsJobId(Id('A')));
  BOOST_TEST(!IsJobId("abc"));
}

BOOST_AUTO_TEST_CASE(sweep_retention_and_budget) {
  const Micros now = 1000000;
  std::vector<JobRecord> jobs = {Done(Id('1'), now - 100, 10), Done(Id('2'), now - 50, 10),
                                 Done(Id('3'), now - 10, 10), Done(Id('4'), now - 500, 10)};
  JobRecord failed = Done(Id('5'), now - 600, 0);
  failed.state = JobState::kFailed;
  JobRecord running = Done(Id('6'), 0, 0);
  running.state = JobState::kRunning;
  jobs.push_back(failed);
  jobs.push_back(running);
  // Retention 400 us: jobs 4 and 5 (finished at or before now - 400) go.
  BOOST_TEST(SweepPlan(jobs, now, 400, 1000) == (std::vector<std::string>{Id('4'), Id('5')}));
  // Exactly at the boundary: gone.
  BOOST_TEST(SweepPlan(jobs, now, 500, 1000) == (std::vector<std::string>{Id('4'), Id('5')}));
  BOOST_TEST(SweepPlan(jobs, now, 501, 1000) == (std::vector<std::string>{Id('5')}));
  // Budget 25 bytes: the two newest (3, 2) fit, 1 (older) goes.
  BOOST_TEST(SweepPlan(jobs, now, 400, 25) == (std::vector<std::string>{Id('1'), Id('4'), Id('5')}));
  // Budget exactly 30: all three kept.
  BOOST_TEST(SweepPlan(jobs, now, 400, 30) == (std::vector<std::string>{Id('4'), Id('5')}));
  // Once one does not fit, older ones go even if small.
  jobs[0].bundle_bytes = 1;
  jobs[1].bundle_bytes = 30;
  BOOST_TEST(SweepPlan(jobs, now, 400, 35) == (std::vector<std::string>{Id('1'), Id('2'), Id('4'), Id('5')}));
}

// The route without a database: a manager that is never started (no
// worker); only answers decided before a job runs are checked here.
BOOST_AUTO_TEST_CASE(route_answers_auth_and_limits) {
  const fs::path dir = fs::temp_directory_path() / ("evapi-route-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  config::Config cfg;
  cfg.evidence.api.enabled = true;
  cfg.evidence.api.job_dir = (dir / "jobs").string();
  cfg.evidence.api.max_request_bytes = 200;
  cfg.evidence.api.max_queued_jobs = 1;
  cfg.evidence.api.max_concurrent_jobs = 1;
  JobManager m(cfg, evidence::SigningKey::Generate());
  fs::create_directories(cfg.evidence.api.job_dir);
  const TokenSet tokens = TokenSet::Parse(kTokens, "tokens");
  auto req = [](std::string method, std::string path, std::string auth, std::string body = "") {
    http::Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    if (!auth.empty()) r.headers.emplace_back("authorization", std::move(auth));
    r.body = std::move(body);
    return r;
  };
  const std::string acme = "Bearer aaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string path(kApiPath);
  auto r = Handle(m, tokens, req("POST", path, "", R"({"tenant":"acme","op_ids":["a"]})"));
  BOOST_TEST(r.status == 401);
  bool challenge = false;
  for (const auto& [k, v] : r.headers) challenge |= k == "WWW-Authenticate" && v.rfind("Bearer ", 0) == 0;
  BOOST_TEST(challenge);
  BOOST_TEST(Handle(m, tokens, req("POST", path, "Bearer zzzzzzzzzzzzzzzzzzzzzzzz", "{}")).status == 401);
  BOOST_TEST(Handle(m, tokens, req("POST", path, acme, R"({"tenant":"gamma","op_ids":["a"]})")).status == 403);
  BOOST_TEST(Handle(m, tokens, req("POST", path, acme, R"({"tenant":"acme"})")).status == 400);
  BOOST_TEST(Handle(m, tokens, req("POST", path, acme, std::string(201, ' '))).status == 413);
  BOOST_TEST(Handle(m, tokens, req("DELETE", path, acme)).status == 405);
  BOOST_TEST(Handle(m, tokens, req("POST", path + "/" + Id('a'), acme)).status == 405);
  BOOST_TEST(Handle(m, tokens, req("GET", path, "")).status == 200);   // the index needs no token
  BOOST_TEST(Handle(m, tokens, req("GET", path + "/" + Id('a'), "")).status == 401);
  BOOST_TEST(Handle(m, tokens, req("GET", path + "/" + Id('a'), acme)).status == 404);
  BOOST_TEST(Handle(m, tokens, req("GET", path + "/../../etc/passwd", acme)).status == 404);
  BOOST_TEST(Handle(m, tokens, req("GET", path + "/" + Id('a') + "/zip", acme)).status == 404);
  // Not started: no worker, so submissions stay queued. 1 idle slot + 1 queued, then 429.
  auto a = Handle(m, tokens, req("POST", path, acme, R"({"tenant":"acme","op_ids":["a"]})"));
  BOOST_TEST(a.status == 202, a.body);
  const auto job = nlohmann::json::parse(a.body);
  BOOST_TEST(job["state"] == "queued");
  BOOST_TEST(fs::exists(dir / "jobs" / job["id"].get<std::string>() / "job.json"));
  BOOST_TEST(Handle(m, tokens, req("POST", path, acme, R"({"tenant":"acme","op_ids":["b"]})")).status == 202);
  auto full = Handle(m, tokens, req("POST", path, acme, R"({"tenant":"beta","op_ids":["c"]})"));
  BOOST_TEST(full.status == 429);
  bool retry = false;
  for (const auto& [k, v] : full.headers) retry |= k == "Retry-After" && v == "30";
  BOOST_TEST(retry);
  BOOST_TEST(m.Stats().rejected == 1u);
  BOOST_TEST(m.Stats().queued == 2u);
  // Status of a job: 200 for its tenant's token, 403 for a token of other tenants.
  const std::string status = path + "/" + job["id"].get<std::string>();
  BOOST_TEST(Handle(m, tokens, req("GET", status, acme)).status == 200);
  BOOST_TEST(Handle(m, tokens, req("GET", status, "Bearer cccccccccccccccccccccc==")).status == 403);
  BOOST_TEST(Handle(m, tokens, req("GET", status + "/bundle", acme)).status == 409);
  fs::remove_all(dir);
}
