// Mapper catalog: valid files and every error with its file:line:column.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "report/catalog.hh"

namespace provledger::report {
namespace {

std::vector<std::string> Problems(const std::string& yaml) {
  try {
    ParseCatalog(yaml, "c.yml");
  } catch (const CatalogError& e) {
    return e.problems();
  }
  BOOST_ERROR("catalog accepted:\n" << yaml);
  return {};
}

BOOST_AUTO_TEST_CASE(catalog_valid) {
  Catalog c = ParseCatalog("kinds: [a.create, b.capture]\ntenants:\n  acme: [refund]\n  globex: []\n", "c.yml");
  BOOST_TEST(c.kinds.size() == 2u);
  BOOST_TEST(c.ExpectedFor("acme").count("refund") == 1u);
  BOOST_TEST(c.ExpectedFor("acme").size() == 3u);
  BOOST_TEST(c.ExpectedFor("other").size() == 2u);
  BOOST_TEST(c.size() == 3u);
  BOOST_TEST(ParseCatalog("tenants: {acme: [x]}\n", "c.yml").kinds.empty());
}

BOOST_AUTO_TEST_CASE(catalog_errors_are_positioned) {
  auto p = Problems("kinds: [a, a]\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml:1:12: kinds[1]: duplicate kind \"a\"");
  p = Problems("kinds: a\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml:1:8: kinds: expected a list of operation kinds (span names), got \"a\"");
  p = Problems("kinds:\n  - ok\n  - {x: 1}\ntenants:\n  acme: 5\nkind: []\n");
  BOOST_REQUIRE(p.size() == 3u);
  BOOST_TEST(p[0].rfind("c.yml:3:5: kinds[1]: expected a non-empty kind name", 0) == 0);
  BOOST_TEST(p[1] == "c.yml:5:9: tenants.acme: expected a list of operation kinds (span names), got \"5\"");
  BOOST_TEST(p[2] == "c.yml:6:1: unknown key \"kind\" at top level; expected \"kinds\" or \"tenants\"");
  p = Problems("kinds: [\"\"]\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0].rfind("c.yml:1:9: kinds[0]: expected a non-empty kind name", 0) == 0);
  p = Problems("kinds: [a\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0].find("YAML syntax error") != std::string::npos);
  BOOST_TEST(p[0].rfind("c.yml:", 0) == 0);
  p = Problems("");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml:1:1: catalog is empty; list operation kinds under \"kinds\" or \"tenants\"");
  p = Problems("- a\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0].rfind("c.yml:1:1: top level: expected a mapping", 0) == 0);
  p = Problems("tenants: [a]\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml:1:10: tenants: expected a mapping of tenant -> list of kinds, got a list");
}

BOOST_AUTO_TEST_CASE(catalog_unreadable_file) {
  try {
    LoadCatalog("/nonexistent/catalog.yml");
    BOOST_ERROR("accepted");
  } catch (const CatalogError& e) {
    BOOST_TEST(e.problems()[0] == "/nonexistent/catalog.yml: cannot read catalog file: No such file or directory");
  }
}

}  // namespace
}  // namespace provledger::report
