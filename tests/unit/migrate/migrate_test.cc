// provledger_migrate's pure parts: arguments, row conversion, throttle,
// progress lines, table names.
#define BOOST_TEST_MODULE migrate
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "migrate/migrate.hh"

using namespace provledger::migrate;
namespace receipt = provledger::receipt;

namespace {

std::string ErrorOf(const std::vector<std::string>& args) {
  auto r = ParseArgs(args);
  const auto* e = std::get_if<std::string>(&r);
  return e ? *e : std::string();
}

Options Ok(const std::vector<std::string>& args) {
  auto r = ParseArgs(args);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<Options>(r), ErrorOf(args));
  return std::get<Options>(r);
}

}  // namespace

BOOST_AUTO_TEST_CASE(arguments) {
  Options o = Ok({"apply", "--config", "c.yml", "--ledger", "eu", "--batch-size", "500", "--rows-per-second=20000",
                  "--lock-timeout", "1s", "--statement-timeout", "15s", "--min-age", "0s", "--progress", "json"});
  BOOST_TEST((o.command == Command::kApply));
  BOOST_TEST(o.config_path == "c.yml");
  BOOST_TEST(o.ledger == "eu");
  BOOST_TEST(o.batch_size == 500);
  BOOST_TEST(o.rows_per_second == 20000);
  BOOST_TEST(o.lock_timeout_ms == 1000);
  BOOST_TEST(o.statement_timeout_ms == 15000);
  BOOST_TEST(o.min_age_ms == 0);
  BOOST_TEST((o.progress == ProgressMode::kJson));
  o = Ok({"plan", "--dsn", "host=x dbname=y"});
  BOOST_TEST((o.command == Command::kPlan));
  BOOST_TEST(o.table == "receipts");
  BOOST_TEST(o.archive_table == "receipts_v1_archive");
  BOOST_TEST(o.min_age_ms == 600000);
  BOOST_TEST((Ok({"verify", "--dsn", "x", "--table", "ledger.receipts"}).command == Command::kVerify));
  BOOST_TEST((Ok({"rollback", "--dsn", "x"}).command == Command::kRollback));
  BOOST_TEST(o.synchronous_commit);
  BOOST_TEST(!Ok({"apply", "--dsn", "x", "--synchronous-commit", "off"}).synchronous_commit);
  BOOST_TEST(Ok({"apply", "--dsn", "x", "--synchronous-commit=on"}).synchronous_commit);
  BOOST_TEST(ErrorOf({"apply", "--dsn", "x", "--synchronous-commit", "no"}) ==
             "--synchronous-commit wants on or off, got \"no\"");
  BOOST_TEST(o.jobs == 1);
  BOOST_TEST(Ok({"apply", "--dsn", "x", "--jobs", "4"}).jobs == 4);
  BOOST_TEST(Ok({"apply", "--dsn", "x", "--jobs=64"}).jobs == 64);
  BOOST_TEST(ErrorOf({"apply", "--dsn", "x", "--jobs", "0"}) == "--jobs wants an integer >= 1, got \"0\"");
  BOOST_TEST(ErrorOf({"apply", "--dsn", "x", "--jobs", "65"}) == "--jobs wants at most 64 (each job is a connection)");

  BOOST_TEST(ErrorOf({}) == "missing command (plan, apply, verify or rollback)");
  BOOST_TEST(ErrorOf({"migrate"}).find("unknown command \"migrate\"") == 0);
  BOOST_TEST(ErrorOf({"plan"}).find("which ledger?") == 0);
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--config", "c"}).find("either --config") != std::string::npos);
  BOOST_TEST(ErrorOf({"plan", "--config", "c"}) == "--config and --ledger go together");
  BOOST_TEST(ErrorOf({"plan", "--dsn"}) == "--dsn needs a value");
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--batch-size", "0"}).find("--batch-size wants an integer >= 1") == 0);
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--batch-size", "12x"}).find("--batch-size wants") == 0);
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--batch-size", "1000000"}).find("at most 100000") != std::string::npos);
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--lock-timeout", "2"}).find("--lock-timeout wants a duration") == 0);
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--progress", "fancy"}).find("--progress wants") == 0);
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--table", "receipts; DROP TABLE x"}).find("not a plain") !=
             std::string::npos);
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--archive-table", "receipts"}).find("must differ") !=
             std::string::npos);
  BOOST_TEST(ErrorOf({"plan", "--dsn", "x", "--frobnicate", "1"}) == "unknown option --frobnicate");
  BOOST_TEST(ErrorOf({"plan", "stray"}) == "unexpected argument \"stray\"");
}

BOOST_AUTO_TEST_CASE(table_names) {
  BOOST_TEST(*QuoteTable("receipts") == "\"receipts\"");
  BOOST_TEST(*QuoteTable("ledger.receipts_2") == "\"ledger\".\"receipts_2\"");
  for (const char* bad : {"", "1abc", "a.b.c", "a-b", "a\"b", "a b", ".x", "x.", "r\xc3\xa9"}) {
    BOOST_TEST(!QuoteTable(bad).has_value(), bad);
  }
  BOOST_TEST(!QuoteTable(std::string(64, 'a')).has_value());
}

BOOST_AUTO_TEST_CASE(convert_row) {
  V1Row row{"r-1", "acme", "op-1", "eu-west", "p-1", "k-1", R"({"tenant":"acme","amount":5})", "oldhash",
            1764884158123456};
  auto c = ConvertRow(row);
  BOOST_TEST_REQUIRE(c.ok(), c.error());
  BOOST_TEST(c.value().hash == receipt::Sha256Hex(c.value().body));
  BOOST_TEST(c.value().hash == receipt::ContentHash(c.value().body).value());
  const auto back = receipt::ReadV2(c.value().body);
  BOOST_TEST_REQUIRE(back.ok());
  BOOST_TEST(*back.value().migrated_from_hash == "oldhash");
  BOOST_TEST(*back.value().payload == R"({"amount":5,"tenant":"acme"})");
  row.body = R"({"tenant":"other"})";
  BOOST_TEST((ConvertRow(row).code() == receipt::Error::kConvert));
  row.body = R"({"a":1,"a":2})";
  BOOST_TEST((ConvertRow(row).code() == receipt::Error::kJson));
}

BOOST_AUTO_TEST_CASE(throttle) {
  BOOST_TEST(ThrottleSleepUs(1000, 0, 0) == 0);            // no throttle
  BOOST_TEST(ThrottleSleepUs(1000, 1000, 0) == 1000000);   // 1000 rows at 1000/s: due at 1 s
  BOOST_TEST(ThrottleSleepUs(1000, 1000, 400000) == 600000);
  BOOST_TEST(ThrottleSleepUs(1000, 1000, 2000000) == 0);   // behind: no wait
  BOOST_TEST(ThrottleSleepUs(0, 1000, 0) == 0);
  BOOST_TEST(ThrottleSleepUs(30000, 20000, 1000000) == 500000);
}

BOOST_AUTO_TEST_CASE(progress_lines) {
  Progress p{"apply", 500, 490, 10, 1000, 2000000};
  BOOST_TEST(ProgressJson(p) ==
             R"({"event":"progress","phase":"apply","scanned":500,"converted":490,"skipped":10,"total":1000,)"
             R"("elapsed_s":2.000,"rows_per_s":250.0})");
  const std::string bar = ProgressBar(p, 10);
  BOOST_TEST(bar.rfind("\r[#####.....]  50% 500/1000 rows  converted 490  skipped 10  250 rows/s  ETA 0:00:02", 0) == 0,
             bar);
  BOOST_TEST(bar.find('\n') == std::string::npos);
  p.phase = "rollback";
  BOOST_TEST(ProgressBar(p, 10).find("restored 490") != std::string::npos);
  p.scanned = p.total;
  BOOST_TEST(ProgressBar(p, 4).find("[####] 100%") != std::string::npos);
  BOOST_TEST(ProgressBar(p, 4).find("ETA") == std::string::npos);
}
