// ParseDurationMs / FormatDurationMs and DsnHasPassword on their own.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "config/load.hh"

namespace provledger::config {
namespace {

BOOST_AUTO_TEST_SUITE(duration)

BOOST_AUTO_TEST_CASE(valid) {
  BOOST_TEST(ParseDurationMs("500ms").value_or(-1) == 500);
  BOOST_TEST(ParseDurationMs("15s").value_or(-1) == 15000);
  BOOST_TEST(ParseDurationMs("2m").value_or(-1) == 120000);
  BOOST_TEST(ParseDurationMs("1h").value_or(-1) == 3600000);
  BOOST_TEST(ParseDurationMs("1h30m").value_or(-1) == 5400000);
  BOOST_TEST(ParseDurationMs("1d").value_or(-1) == 86400000);
  BOOST_TEST(ParseDurationMs("1d2h3m4s5ms").value_or(-1) == 93784005);
  BOOST_TEST(ParseDurationMs("0s").value_or(-1) == 0);
  BOOST_TEST(ParseDurationMs("90s").value_or(-1) == 90000);  // a unit may exceed the next one up
  BOOST_TEST(ParseDurationMs("1m500ms").value_or(-1) == 60500);
}

BOOST_AUTO_TEST_CASE(invalid) {
  for (const char* bad : {"", "15", "0", "1.5s", "15 s", " 15s", "15s ", "1m1h", "1s1s", "1ms1s",
                          "-1s", "+1s", "1y", "1w", "s", "ms", "15S", "1h 30m",
                          "99999999999999999999s", "106751991168d"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ParseDurationMs(bad).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(format_round_trips) {
  BOOST_TEST(FormatDurationMs(0) == "0s");
  BOOST_TEST(FormatDurationMs(500) == "500ms");
  BOOST_TEST(FormatDurationMs(5400000) == "1h30m");
  BOOST_TEST(FormatDurationMs(93784005) == "1d2h3m4s5ms");
  for (std::int64_t ms : {1LL, 999LL, 1000LL, 60001LL, 3599999LL, 86400000LL, 2147483647LL}) {
    BOOST_TEST_CONTEXT(ms) { BOOST_TEST(ParseDurationMs(FormatDurationMs(ms)).value_or(-1) == ms); }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dsn)

BOOST_AUTO_TEST_CASE(with_password) {
  for (const char* d : {"password=x", "host=db password=x", "host=db password = 'a b' user=u",
                        "  password=x", "postgresql://u:x@db/ledger", "postgres://u:@db",
                        "postgresql://db/ledger?password=x", "postgresql://db/l?sslmode=require&password=x",
                        "dbname='host=db password=x'", "dbname=postgresql://u:x@db/l",
                        "host=db password='unterminated"}) {
    BOOST_TEST_CONTEXT(d) { BOOST_TEST(DsnHasPassword(d)); }
  }
}

BOOST_AUTO_TEST_CASE(without_password) {
  for (const char* d : {"host=127.0.0.1 port=5432 dbname=ledger_eu user=provledger",
                        "host=db passfile=/run/pgpass", "host=db application_name='password=x'",
                        "host=db user=password_admin", "postgresql://provledger@db:5432/ledger",
                        "postgresql://db/ledger?sslmode=require", "postgresql:///ledger?host=/run/pg",
                        "postgresql://u@db/path:with@colon", ""}) {
    BOOST_TEST_CONTEXT(d) { BOOST_TEST(!DsnHasPassword(d)); }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace provledger::config
