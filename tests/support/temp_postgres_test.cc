// Tests of the test support itself: server ports are chosen outside the
// kernel's ephemeral range, and a start whose port is taken is retried on
// another port (issue: "Address already in use" under load).
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE support_temp_postgres
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <stdexcept>

#include "temp_postgres.hh"

using provledger::testing::EphemeralPortRange;
using provledger::testing::FreeLoopbackPort;
using provledger::testing::PortOutsideRange;
using provledger::testing::TempPostgres;

namespace {

// A listening socket on 127.0.0.1 (a port some other process holds).
struct Occupied {
  int fd = -1;
  int port = 0;
  Occupied() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot occupy a loopback port");
    }
    port = ntohs(a.sin_port);
  }
  ~Occupied() { ::close(fd); }
};

bool Connects(int port) {
  PGconn* c = PQconnectdb(("host=127.0.0.1 port=" + std::to_string(port) + " dbname=postgres user=postgres").c_str());
  const bool ok = PQstatus(c) == CONNECTION_OK;
  PQfinish(c);
  return ok;
}

bool Outside(int port, std::pair<int, int> r) { return port < r.first || port > r.second; }

}  // namespace

BOOST_AUTO_TEST_CASE(ports_outside_the_ephemeral_range) {
  const std::pair<int, int> r{32768, 60999};
  BOOST_TEST(PortOutsideRange(0, r) == 20000);
  BOOST_TEST(PortOutsideRange(12767, r) == 32767);
  BOOST_TEST(PortOutsideRange(12768, r) == 61000);
  BOOST_TEST(PortOutsideRange(12768 + 4535, r) == 65535);
  BOOST_TEST(PortOutsideRange(12768 + 4536, r) == 20000);   // wraps
  for (std::uint64_t n = 0; n < 40000; n += 7) {
    const int p = PortOutsideRange(n, r);
    BOOST_TEST_REQUIRE(Outside(p, r), n << " -> " << p);
    BOOST_TEST_REQUIRE((p >= 20000 && p <= 65535));
  }
  // A range reaching the top: only the part below it; one covering all: all.
  BOOST_TEST(PortOutsideRange(5, {30000, 65535}) == 20005);
  BOOST_TEST(PortOutsideRange(10000, {30000, 65535}) == 20000);
  BOOST_TEST(PortOutsideRange(5, {1024, 65535}) == 20005);
  BOOST_TEST(PortOutsideRange(3, {1024, 40000}) == 40004);
}

BOOST_AUTO_TEST_CASE(free_port_is_outside_this_machines_range) {
  const auto r = EphemeralPortRange();
  for (int i = 0; i < 50; ++i) BOOST_TEST(Outside(FreeLoopbackPort(), r));
}

BOOST_AUTO_TEST_CASE(start_retries_on_another_port_when_the_port_is_taken) {
  Occupied busy;   // inside the ephemeral range, as an outgoing connection's port would be
  TempPostgres::Options o;
  o.try_ports = {busy.port, busy.port};   // the first two choices are taken
  TempPostgres pg(o);
  BOOST_TEST(pg.running());
  BOOST_TEST(pg.port() != busy.port);
  BOOST_TEST(Outside(pg.port(), EphemeralPortRange()));
  BOOST_TEST(Connects(pg.port()));
  BOOST_TEST(pg.LogTail().find("Address already in use") != std::string::npos);
  // Restart on the same port.
  const int port = pg.port();
  pg.Stop();
  pg.Start();
  BOOST_TEST(pg.port() == port);
  BOOST_TEST(Connects(port));
}
