// The pure parts of --config.check-live: the query contract's column types,
// hash shapes, the microseconds check.
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE unit_livecheck
#include <boost/test/unit_test.hpp>

#include "livecheck/livecheck.hh"

using namespace provledger::livecheck;

BOOST_AUTO_TEST_CASE(contract_tables) {
  BOOST_TEST(Contract("receipts").size() == 10u);
  BOOST_TEST(Contract("anchored").size() == 4u);
  BOOST_TEST(Contract("spans").size() == 7u);   // the 7th (span name) is optional
  BOOST_TEST(Contract("spans")[6].name == "name");
  BOOST_TEST(Contract("clock").size() == 1u);
  BOOST_TEST(Contract("flags").size() == 3u);
  BOOST_TEST(Contract("nope").empty());
  BOOST_TEST(Contract("receipts")[8].name == "content_hash");
  BOOST_TEST((Contract("receipts")[8].kind == ColKind::kHash));
  BOOST_TEST((Contract("spans")[4].kind == ColKind::kMicros));
  BOOST_TEST(ContractParams("spans") == 4);
  BOOST_TEST(ContractParams("clock") == 0);
}

BOOST_AUTO_TEST_CASE(column_types) {
  const ColumnSpec micros{"now_us", ColKind::kMicros}, hash{"content_hash", ColKind::kHash},
      depth{"depth", ColKind::kInt}, pct{"pct", ColKind::kNumber}, text{"tenant", ColKind::kText};
  BOOST_TEST(CheckColumnType(micros, 20, "bigint").empty());
  BOOST_TEST(CheckColumnType(micros, 1184, "timestamp with time zone").find("extract(epoch") != std::string::npos);
  BOOST_TEST(CheckColumnType(micros, 1700, "numeric").find("::bigint") != std::string::npos);
  BOOST_TEST(!CheckColumnType(micros, 23, "integer").empty());
  BOOST_TEST(!CheckColumnType(micros, 25, "text").empty());
  BOOST_TEST(CheckColumnType(hash, 25, "text").empty());
  BOOST_TEST(CheckColumnType(hash, 17, "bytea").find("encode(<column>, 'hex')") != std::string::npos);
  BOOST_TEST(!CheckColumnType(text, 17, "bytea").empty());
  BOOST_TEST(CheckColumnType(text, 2950, "uuid").empty());
  BOOST_TEST(CheckColumnType(depth, 20, "bigint").empty());
  BOOST_TEST(CheckColumnType(depth, 23, "integer").empty());
  BOOST_TEST(!CheckColumnType(depth, 1700, "numeric").empty());
  BOOST_TEST(CheckColumnType(pct, 701, "double precision").empty());
  BOOST_TEST(CheckColumnType(pct, 1700, "numeric").empty());
  BOOST_TEST(!CheckColumnType(pct, 25, "text").empty());
}

BOOST_AUTO_TEST_CASE(hash_shapes) {
  BOOST_TEST(HashShape("0a1b") == "hex/4");
  BOOST_TEST(HashShape("0A1B") == "HEX/4");
  BOOST_TEST(HashShape("0123") == "hex/4");   // digits only: lower-case hex
  BOOST_TEST(HashShape("\\x0a1b") == "bytea-escape/6");
  BOOST_TEST(HashShape("q83vEjRWeJA=") == "base64/12");
  BOOST_TEST(HashShape("h-r1") == "base64/4");
  BOOST_TEST(HashShape("a b") == "other/3");
  BOOST_TEST(HashShape("") == "other/0");
}

BOOST_AUTO_TEST_CASE(micros_near_the_clock) {
  const std::int64_t now = 1'700'000'000'000'000;
  BOOST_TEST(!LooksCoarserThanMicros(now - 3'600'000'000, now));
  BOOST_TEST(LooksCoarserThanMicros(now / 1000, now));        // milliseconds
  BOOST_TEST(LooksCoarserThanMicros(now / 1000000, now));     // seconds
  BOOST_TEST(!LooksCoarserThanMicros(0, now));                 // not judged
  BOOST_TEST(!LooksCoarserThanMicros(now / 1000, 0));
}
