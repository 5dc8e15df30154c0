#define BOOST_TEST_MODULE app
#include <boost/test/unit_test.hpp>

#include "app/cli.hh"

using provledger::app::ParseCli;

BOOST_AUTO_TEST_CASE(defaults_and_both_value_forms) {
  auto r = ParseCli({"--config.file=/etc/p.yml", "--web.listen-address", "127.0.0.1:9", "--log.format=json"});
  BOOST_TEST(r.errors.empty());
  BOOST_TEST(r.options.config_file == "/etc/p.yml");
  BOOST_TEST(*r.options.listen_address == "127.0.0.1:9");
  BOOST_TEST(!r.options.telemetry_path.has_value());
  BOOST_TEST(r.options.log_level == "info");
  BOOST_TEST(r.options.log_format == "json");
  BOOST_TEST(!r.options.config_check);
}

BOOST_AUTO_TEST_CASE(errors_are_collected) {
  auto r = ParseCli({"--log.level=loud", "--bogus", "--config.check=yes", "--web.telemetry-path=metrics"});
  BOOST_TEST(r.errors.size() == 5u);   // level, unknown, switch with value, path, missing config.file
}

BOOST_AUTO_TEST_CASE(version_and_help_need_no_config) {
  BOOST_TEST(ParseCli({"--version"}).errors.empty());
  BOOST_TEST(ParseCli({"-h"}).options.help);
  BOOST_TEST(ParseCli({}).errors.size() == 1u);
  BOOST_TEST(ParseCli({"--config.file"}).errors.size() == 2u);   // needs a value; then required
}

BOOST_AUTO_TEST_CASE(config_check_live_is_a_switch) {
  auto r = ParseCli({"--config.file=/etc/p.yml", "--config.check-live"});
  BOOST_TEST(r.errors.empty());
  BOOST_TEST(r.options.config_check_live);
  BOOST_TEST(!r.options.config_check);
  BOOST_TEST(!ParseCli({"--config.file=/etc/p.yml"}).options.config_check_live);
  BOOST_TEST(ParseCli({"--config.file=/etc/p.yml", "--config.check-live=1"}).errors.size() == 1u);
}
