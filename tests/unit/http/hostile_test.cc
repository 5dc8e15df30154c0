// Defect 1 of issue 9: idle connections and a slowloris must not take the
// scrape away. 200 idle TCP connections (reopened as soon as the server drops
// one) plus slowloris clients (one header byte every 2 s) hold the server on
// loopback while a scraper opens a fresh connection per scrape. At least 99 %
// of the scrapes must get a whole 200 response within 1 s (the criterion the
// issue sets; 1 s is ~1000x what a scrape takes on this loopback, so a noisy
// machine does not make it flaky, while a thread-per-connection server
// answers 0 of them).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "http/server.hh"
#include "render/publisher.hh"

namespace provledger::http {
namespace {

HttpOptions Opts(std::string address, std::string path, std::int64_t max_requests) {
  HttpOptions o;
  o.listen_address = std::move(address);
  o.telemetry_path = std::move(path);
  o.max_requests = max_requests;
  return o;
}

using Clock = std::chrono::steady_clock;

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One scrape on a fresh connection; true when a complete "200" response
// with its whole Content-Length body arrived before `deadline`.
bool ScrapeBefore(int port, Clock::time_point deadline) {
  const int fd = ConnectLoopback(port);  // loopback connect completes from the backlog
  if (fd < 0) return false;
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return false;
  }
  std::string got;
  bool ok = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[65536];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
    const std::size_t end = got.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    const std::size_t cl = got.find("Content-Length: ");
    if (got.rfind("HTTP/1.1 200 ", 0) != 0 || cl == std::string::npos || cl > end) break;
    const std::size_t length = std::stoul(got.substr(cl + 16));
    if (got.size() >= end + 4 + length) {
      ok = true;
      break;
    }
  }
  close(fd);
  return ok;
}

// Keeps `count` connections open that never send a byte; whenever the server
// closes one, it is opened again at once.
void HoldIdle(int port, int count, const std::atomic<bool>& stop, std::atomic<int>& reopened) {
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) fds.push_back(ConnectLoopback(port));
  while (!stop.load()) {
    std::vector<pollfd> ps;
    for (int fd : fds) ps.push_back(pollfd{fd, POLLIN, 0});
    poll(ps.data(), ps.size(), 50);
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i] >= 0 && (ps[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      if (fds[i] >= 0) {
        char buf[4096];
        if (recv(fds[i], buf, sizeof buf, MSG_DONTWAIT) > 0) continue;  // data: keep reading later
        close(fds[i]);
      }
      fds[i] = ConnectLoopback(port);
      ++reopened;
    }
  }
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

// Slowloris: each connection sends a never-ending request header one byte
// every `interval`, reconnecting when dropped.
void Slowloris(int port, int count, std::chrono::milliseconds interval, const std::atomic<bool>& stop) {
  const std::string header = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  std::vector<int> fds(static_cast<std::size_t>(count), -1);
  std::vector<std::size_t> pos(fds.size(), 0);
  auto next = Clock::now();
  while (!stop.load()) {
    if (Clock::now() >= next) {
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i] < 0) {
          fds[i] = ConnectLoopback(port);
          pos[i] = 0;
        }
        const char c = pos[i] < header.size() ? header[pos[i]] : 'a';
        if (fds[i] >= 0 && send(fds[i], &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
          close(fds[i]);
          fds[i] = -1;
        } else {
          ++pos[i];
        }
      }
      next = Clock::now() + interval;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

void RunSiege(HttpOptions options) {
  render::Publisher publisher{render::BuildInfo{"9.9.9", "testrev"}};
  HttpServer server(std::move(options), publisher);
  const int port = server.port();
  BOOST_REQUIRE(ScrapeBefore(port, Clock::now() + std::chrono::seconds(5)));

  std::atomic<bool> stop{false};
  std::atomic<int> reopened{0};
  std::thread idle([&] { HoldIdle(port, 200, stop, reopened); });
  std::thread loris([&] { Slowloris(port, 10, std::chrono::milliseconds(2000), stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let them take their places

  constexpr int kScrapes = 100;
  int answered = 0;
  Clock::duration slowest{};
  for (int i = 0; i < kScrapes; ++i) {
    const auto start = Clock::now();
    if (ScrapeBefore(port, start + std::chrono::seconds(1))) {
      ++answered;
      slowest = std::max(slowest, Clock::now() - start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  idle.join();
  loris.join();
  // Reported, not asserted: the figures the README quotes.
  BOOST_TEST_MESSAGE("answered within 1 s: " << answered << "/" << kScrapes << ", slowest answered: "
                                             << std::chrono::duration_cast<std::chrono::microseconds>(slowest).count()
                                             << " us, idle connections reopened: " << reopened.load());
  BOOST_TEST(answered * 100 >= kScrapes * 99, "answered within 1 s: " << answered << "/" << kScrapes);
  // And the server is still fine once they are gone.
  BOOST_TEST(ScrapeBefore(port, Clock::now() + std::chrono::seconds(5)));
}

// The product's defaults (web.max_requests 40, 10 s header timeout): the
// attackers hold their connections for the whole test.
BOOST_AUTO_TEST_CASE(idle_connections_and_slowloris_do_not_starve_scrapes) {
  RunSiege(Opts("127.0.0.1:0", "/metrics", 40));
}

// Fewer connection slots than attackers and a 1 s header timeout: the server
// keeps dropping connections and the idlers keep reopening them (a storm of
// accepts and evictions); a scrape still always gets a slot.
BOOST_AUTO_TEST_CASE(reopened_idle_connections_beyond_the_connection_limit) {
  HttpOptions o = Opts("127.0.0.1:0", "/metrics", 40);
  o.max_connections = 64;
  o.header_timeout = std::chrono::milliseconds(1000);
  RunSiege(std::move(o));
}

}  // namespace
}  // namespace provledger::http
