// ParseDurationMs / FormatDurationMs and DsnHasPassword on their own.
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <cstdint>
#include <optional>
#include <string>

#include "config/dsn.hh"
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

// Issue 9 item 4: the rule is judged by what libpq parses (PQconninfoParse).
// Each of these carries a password libpq would use (or, nested in dbname, one
// a libpq that expands dbname would use).
BOOST_AUTO_TEST_CASE(with_password) {
  for (const char* d : {"password=x", "host=db password=x", "host=db password = 'a b' user=u",
                        "  password=x", "password=", "postgresql://u:x@db/ledger",
                        "postgresql://db/ledger?password=x", "postgresql://db/l?sslmode=require&password=x",
                        // bypasses of the old text matching:
                        "postgresql://u@h/db?%70assword=x", "postgresql://u@h/db?%70%61%73%73%77%6f%72%64=x",
                        "sslpassword=x", "host=db sslpassword='k e y'",
                        "postgresql://h/db?sslpassword=x", "postgresql://h/db?ssl%70assword=x",
                        "postgresql://U:X@DB/LEDGER",
                        // nested connection strings in dbname:
                        "dbname='host=db password=x'", "dbname=postgresql://u:x@db/l",
                        "dbname='sslpassword=x'", "postgresql://h/?dbname=host%3Dh%20password%3Dx",
                        "postgresql://h/?dbname=postgresql%3A%2F%2Fu%3Ax%40h%2Fd"}) {
    BOOST_TEST_CONTEXT(d) {
      BOOST_TEST(ParseDsn(d, nullptr).has_value());
      BOOST_TEST(DsnHasPassword(d));
    }
  }
}

BOOST_AUTO_TEST_CASE(without_password) {
  for (const char* d : {"host=127.0.0.1 port=5432 dbname=ledger_eu user=provledger",
                        "host=db passfile=/run/pgpass", "host=db application_name='password=x'",
                        "host=db user=password_admin", "postgresql://provledger@db:5432/ledger",
                        "postgresql://db/ledger?sslmode=require", "postgresql:///ledger?host=/run/pg",
                        "postgresql://u@db/path:with@colon", "postgresql://h/db?application_name=password%3Dx",
                        "dbname=ledger", "postgres://u:@db" /* libpq sets no password for "u:" */, ""}) {
    BOOST_TEST_CONTEXT(d) {
      BOOST_TEST(ParseDsn(d, nullptr).has_value());
      BOOST_TEST(!DsnHasPassword(d));
    }
  }
}

// libpq refuses these (keywords are lower case: "PASSWORD=x" is an error to
// libpq, not a password), and the reason never quotes a value.
BOOST_AUTO_TEST_CASE(unparsable_with_safe_reason) {
  std::string why;
  BOOST_TEST(!ParseDsn("host=db PASSWORD=hunter2", &why));
  BOOST_TEST(why == "invalid connection option \"PASSWORD\"");
  // An upper-case scheme is not a URI to libpq, and not a valid keyword list either.
  for (const char* d : {"host=db password='hunter2", "host=db hunter2", "postgresql://u:hunter2@h/db?x=1 2",
                        "POSTGRESQL://u:hunter2@db/ledger",
                        "postgresql://u@h/db?%zzassword=hunter2", "postgresql://u@h/db?password=hunter2=x"}) {
    BOOST_TEST_CONTEXT(d) {
      why.clear();
      BOOST_TEST(!ParseDsn(d, &why));
      BOOST_TEST(!why.empty());
      BOOST_TEST(why.find("hunter2") == std::string::npos, why);
    }
  }
  BOOST_TEST(!DsnHasPassword("host=db PASSWORD=hunter2"));   // ParseDsn refuses it instead
}

// Every form is redacted from libpq's parse; the secret never survives.
BOOST_AUTO_TEST_CASE(redact_every_form) {
  // libpq's keyword order, whatever the order written.
  BOOST_TEST(RedactDsn("host=db user=x password=hunter2 dbname=l") == "user=x password=*** dbname=l host=db");
  BOOST_TEST(RedactDsn("postgresql://u:hunter2@db:5432/l?sslmode=require") ==
             "user=u password=*** dbname=l host=db port=5432 sslmode=require");
  BOOST_TEST(RedactDsn("postgresql://u@h/db?%70assword=hunter2") == "user=u password=*** dbname=db host=h");
  BOOST_TEST(RedactDsn("host=db sslpassword='hun ter2'") == "host=db sslpassword=***");
  BOOST_TEST(RedactDsn("dbname='host=db password=hunter2'") == "dbname='password=*** host=db'");
  BOOST_TEST(RedactDsn("host=db application_name='a b'") == "host=db application_name='a b'");
  BOOST_TEST(RedactDsn("host=db PASSWORD=hunter2") == "<unparsable dsn>");
  BOOST_TEST(RedactDsn("") == "");
  for (const char* dsn :
       {"password=hunter2", "x password=hunter2", "postgresql://a:hunter2@h", "postgresql://h/?password=hunter2",
        "password='hunter2'", "postgresql://u@h/db?%70assword=hunter2", "PASSWORD=hunter2", "sslpassword=hunter2",
        "dbname='host=h password=hunter2'", "dbname='dbname=\\'password=hunter2\\''",
        "postgresql://h/?dbname=host%3Dh%20password%3Dhunter2", "POSTGRESQL://u:hunter2@h",
        "postgresql://u:hunter%32@h", "host=h password='hunter2"}) {
    BOOST_TEST_CONTEXT(dsn) {
      BOOST_TEST(RedactDsn(dsn).find("hunter") == std::string::npos, RedactDsn(dsn));
    }
  }
  const std::vector<std::string> secrets = DsnSecrets("sslpassword=a dbname='password=b' password=c");
  BOOST_TEST(secrets.size() == 3u);
  for (const char* want : {"a", "b", "c"}) {
    BOOST_TEST((std::find(secrets.begin(), secrets.end(), std::string(want)) != secrets.end()), want);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace provledger::config
