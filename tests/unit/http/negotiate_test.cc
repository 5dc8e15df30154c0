// Accept-Encoding negotiation and listen-address translation (pure).
#include <boost/test/unit_test.hpp>

#include "http/negotiate.hh"
#include "http/server.hh"

namespace provledger::http {
namespace {

BOOST_AUTO_TEST_CASE(accepts_gzip_table) {
  struct Case {
    const char* header;
    bool gzip;
  };
  const Case cases[] = {
      {"", false},
      {"gzip", true},
      {"GZIP", true},
      {"x-gzip", true},
      {"gzip, deflate, br", true},
      {"deflate, br", false},
      {"identity", false},
      {"gzip;q=0", false},
      {"gzip; q=0", false},
      {"gzip;q=0.0", false},
      {"gzip;q=0.000", false},
      {"gzip;Q=0", false},
      {"gzip;q=0.001", true},
      {"gzip;q=0.5", true},
      {"gzip;q=1", true},
      {"gzip;q=1.000", true},
      {"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
      {"*", true},
      {"*;q=0", false},
      {"*;q=0.5, gzip;q=0", false},   // an explicit gzip entry wins over *
      {"gzip;q=0, *", false},
      {"identity;q=1, *;q=0", false},
      {"gzip;q=2", false},            // malformed q: entry ignored
      {"gzip;q=abc", false},
      {"gzip;q=0.0001", false},       // more than 3 decimals: malformed
      {" , ,gzip ,", true},
      {"deflate;q=0.5,gzip;q=0.5", true},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("Accept-Encoding: " << c.header) { BOOST_TEST(AcceptsGzip(c.header) == c.gzip); }
  }
}

BOOST_AUTO_TEST_CASE(listen_address_translation) {
  BOOST_TEST(ToCivetListeningPorts(":23473", false) == "23473");
  BOOST_TEST(ToCivetListeningPorts("127.0.0.1:0", false) == "127.0.0.1:0");
  BOOST_TEST(ToCivetListeningPorts("0.0.0.0:9", false) == "0.0.0.0:9");
  BOOST_TEST(ToCivetListeningPorts("localhost:8080", false) == "127.0.0.1:8080");
  BOOST_TEST(ToCivetListeningPorts("[::1]:80", true) == "[::1]:80");
  BOOST_TEST(ToCivetListeningPorts(":080", false) == "80");
  for (const char* bad : {"", "23473", ":", ":65536", ":-1", ":80s", ":80r", "127.0.0.1:80,81",
                          "example.invalid:80", "1.2.3:80", " :80", "[::1]80", "[nothost]:80"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_CHECK_THROW(ToCivetListeningPorts(bad, true), HttpError); }
  }
  // IPv6 without CivetWeb IPv6 support is refused with a clear message.
  try {
    ToCivetListeningPorts("[::1]:80", false);
    BOOST_FAIL("expected HttpError");
  } catch (const HttpError& e) {
    BOOST_TEST(std::string(e.what()).find("[::1]:80") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("IPv6") != std::string::npos);
  }
}

}  // namespace
}  // namespace provledger::http
