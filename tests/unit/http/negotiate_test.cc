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

BOOST_AUTO_TEST_CASE(listen_address_parsing) {
  struct Case {
    const char* address;
    bool ipv6;
    const char* host;
    unsigned port;
  };
  for (const Case& c : {Case{":23473", false, "0.0.0.0", 23473}, Case{"127.0.0.1:0", false, "127.0.0.1", 0},
                        Case{"0.0.0.0:9", false, "0.0.0.0", 9}, Case{"localhost:8080", false, "127.0.0.1", 8080},
                        Case{"[::1]:80", true, "::1", 80}, Case{":080", false, "0.0.0.0", 80}}) {
    BOOST_TEST_CONTEXT(c.address) {
      const ListenAddress a = ParseListenAddress(c.address);
      BOOST_TEST(a.ipv6 == c.ipv6);
      BOOST_TEST(a.host == c.host);
      BOOST_TEST(a.port == c.port);
    }
  }
  for (const char* bad : {"", "23473", ":", ":65536", ":-1", ":80s", ":80r", "127.0.0.1:80,81",
                          "example.invalid:80", "1.2.3:80", " :80", "[::1]80", "[nothost]:80"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_CHECK_THROW(ParseListenAddress(bad), HttpError); }
  }
}

}  // namespace
}  // namespace provledger::http
