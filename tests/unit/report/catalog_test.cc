// Mapper catalog: valid files and every error with its file:line:column.
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "config/yaml_document.hh"

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
  BOOST_TEST(p[2] == "c.yml:6:1: unknown key \"kind\" at top level; did you mean \"kinds\"?");
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

// The catalog is read like the config file: one document, at most
// config::kMaxConfigBytes, the same problem machinery (duplicate keys, cap).
BOOST_AUTO_TEST_CASE(catalog_single_document_and_size_cap) {
  auto p = Problems("kinds: [a]\n---\nkinds: [b]\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml:2:1: only one YAML document is allowed in this file");
  p = Problems("kinds: [a]\n...\n,\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml:3:1: only one YAML document is allowed in this file");
  p = Problems(",");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml:1:1: only one YAML document is allowed in this file");

  // Over the cap: refused before parsing, with the sizes.
  std::string big = "kinds: [a]\n";
  big += "#" + std::string(config::kMaxConfigBytes, 'x') + "\n";
  p = Problems(big);
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml: file is " + std::to_string(big.size()) + " bytes; the limit is " +
                         std::to_string(config::kMaxConfigBytes));
  // The same text from a file: read at most cap + 1 bytes.
  const std::string path = "catalog_test_big.yml";
  {
    std::ofstream out(path, std::ios::binary);
    out << big;
  }
  try {
    LoadCatalog(path);
    BOOST_ERROR("accepted");
  } catch (const CatalogError& e) {
    BOOST_REQUIRE(e.problems().size() == 1u);
    BOOST_TEST(e.problems()[0] == path + ": catalog file is larger than " +
                                      std::to_string(config::kMaxConfigBytes) + " bytes");
  }
  std::remove(path.c_str());
  // Just under the cap is read and parsed.
  std::string fits = "kinds: [a]\n#" + std::string(config::kMaxConfigBytes - 13, 'x') + "\n";
  BOOST_REQUIRE(fits.size() == config::kMaxConfigBytes);
  BOOST_TEST(ParseCatalog(fits, "c.yml").kinds.size() == 1u);

  p = Problems("kinds: [a]\nkinds: [b]\n");
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0] == "c.yml:2:1: duplicate key \"kinds\" (first set at line 1, column 1)");

  // 300 bad kinds: 100 problems and one summary line, not 300.
  std::string many = "kinds:\n";
  for (int i = 0; i < 300; ++i) many += "  - \"\"\n";
  p = Problems(many);
  BOOST_REQUIRE(p.size() == 101u);
  BOOST_TEST(p[0].rfind("c.yml:2:5: kinds[0]: expected a non-empty kind name", 0) == 0);
  BOOST_TEST(p[100] == "c.yml: 200 more problems not shown (the first 100 are above)");
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
