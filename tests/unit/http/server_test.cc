// The real server (src/http) on 127.0.0.1:0, fetched with a plain socket
// client written here (no curl): status, headers, bodies, gzip negotiation,
// HEAD, 404, 405, landing page escaping, health, keep-alive, bind errors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <stdexcept>
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

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool has(const std::string& name) const { return headers.count(name) != 0; }
  std::string get(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd_);
      throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
    }
  }
  ~Client() { close(fd_); }
  int fd() const { return fd_; }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void Send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      off += static_cast<std::size_t>(n);
    }
  }

  // Reads one response. The body is delimited by Content-Length (required:
  // the server must always send it); a HEAD response has none.
  Response Read(bool head) {
    while (buf_.find("\r\n\r\n") == std::string::npos) Fill();
    const std::size_t end = buf_.find("\r\n\r\n");
    const std::string head_block = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    Response r;
    std::size_t pos = head_block.find("\r\n");
    const std::string status_line = head_block.substr(0, pos);
    if (status_line.rfind("HTTP/1.1 ", 0) != 0) throw std::runtime_error("bad status line: " + status_line);
    r.status = std::stoi(status_line.substr(9, 3));
    while (pos != std::string::npos) {
      const std::size_t next = head_block.find("\r\n", pos + 2);
      const std::string line = head_block.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        const std::string name = Lower(line.substr(0, colon));
        if (r.headers.count(name)) throw std::runtime_error("duplicate header " + name);
        r.headers[name] = value;
      }
      pos = next;
    }
    if (!r.has("content-length")) throw std::runtime_error("no Content-Length");
    if (head) return r;
    const std::size_t length = std::stoul(r.get("content-length"));
    while (buf_.size() < length) Fill();
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True when the server has closed the connection and sent nothing more.
  bool AtEof() {
    if (!buf_.empty()) return false;
    char c;
    const ssize_t n = recv(fd_, &c, 1, 0);
    if (n > 0) buf_.push_back(c);
    return n == 0;
  }

 private:
  void Fill() {
    char tmp[65536];
    const ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) throw std::runtime_error("connection closed or timed out while reading");
    buf_.append(tmp, static_cast<std::size_t>(n));
  }

  int fd_ = -1;
  std::string buf_;
};

Response Fetch(int port, const std::string& method, const std::string& path,
               const std::vector<std::string>& extra_headers = {}) {
  Client c(port);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : extra_headers) req += h + "\r\n";
  req += "\r\n";
  c.Send(req);
  Response r = c.Read(method == "HEAD");
  if (!c.AtEof()) throw std::runtime_error("extra bytes after the response (body on HEAD?)");
  return r;
}

std::string Gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw std::runtime_error("inflate failed");
    }
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  return out;
}

compute::Snapshot SampleSnapshot() {
  compute::Snapshot s;
  s.now = 1700000000000000;
  s.coverage = {{"<script>alert(1)</script>", 4, 3, 75}, {"acme", 200, 197, 98.5}};
  s.divergence = {{"<script>alert(1)</script>", 1}, {"acme", 2}};
  compute::SourceHealth src;
  src.name = "ledger-eu";
  src.up = true;
  src.polled = true;
  src.last_success_seconds = 1700000000;
  src.rows_read = 10;
  s.sources = {src};
  s.tenants = 2;
  return s;
}

struct Server {
  render::Publisher publisher{render::BuildInfo{"9.9.9", "testrev"}};
  HttpServer server;
  explicit Server(HttpOptions o = Opts("127.0.0.1:0", "/metrics", 4)) : server(std::move(o), publisher) {}
  int port() const { return server.port(); }
};

BOOST_AUTO_TEST_CASE(binds_port_zero_and_reports_the_real_port) {
  Server s;
  BOOST_TEST(s.port() > 0);
  BOOST_TEST(s.port() < 65536);
  BOOST_TEST(Fetch(s.port(), "GET", "/-/healthy").status == 200);
}

BOOST_AUTO_TEST_CASE(serves_the_empty_snapshot_before_the_first_publish) {
  Server s;
  const Response r = Fetch(s.port(), "GET", "/metrics");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == s.publisher.Current()->exposition.text);
  BOOST_TEST(r.body.find("provledger_exporter_build_info{version=\"9.9.9\",revision=\"testrev\"} 1") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(metrics_plain) {
  Server s;
  const auto pub = s.publisher.Publish(SampleSnapshot());
  const Response r = Fetch(s.port(), "GET", "/metrics");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.get("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(r.get("vary") == "Accept-Encoding");
  BOOST_TEST(!r.has("content-encoding"));
  BOOST_TEST(r.get("date").size() == 29u);  // "Sun, 06 Nov 1994 08:49:37 GMT", exactly once
  BOOST_TEST(r.get("content-length") == std::to_string(pub->exposition.text.size()));
  BOOST_TEST(r.body == pub->exposition.text);
  BOOST_TEST(r.body.find("attest_coverage_pct{tenant=\"acme\"} 98.5") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(metrics_gzip_negotiation) {
  Server s;
  const auto pub = s.publisher.Publish(SampleSnapshot());
  for (const char* accept : {"gzip", "gzip, deflate, br", "br;q=1, gzip;q=0.5", "*"}) {
    BOOST_TEST_CONTEXT(accept) {
      const Response r = Fetch(s.port(), "GET", "/metrics", {std::string("Accept-Encoding: ") + accept});
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.get("content-encoding") == "gzip");
      BOOST_TEST(r.get("vary") == "Accept-Encoding");
      BOOST_TEST(r.get("content-type") == "text/plain; version=0.0.4; charset=utf-8");
      BOOST_TEST(r.get("content-length") == std::to_string(pub->exposition.gzip.size()));
      BOOST_TEST(r.body == pub->exposition.gzip);  // the pre-compressed bytes, not recompressed
      BOOST_TEST(Gunzip(r.body) == pub->exposition.text);
    }
  }
  for (const char* accept : {"gzip;q=0", "identity", "deflate", "*;q=0", "gzip;q=0, *"}) {
    BOOST_TEST_CONTEXT(accept) {
      const Response r = Fetch(s.port(), "GET", "/metrics", {std::string("Accept-Encoding: ") + accept});
      BOOST_TEST(r.status == 200);
      BOOST_TEST(!r.has("content-encoding"));
      BOOST_TEST(r.body == pub->exposition.text);
    }
  }
}

BOOST_AUTO_TEST_CASE(metrics_head) {
  Server s;
  const auto pub = s.publisher.Publish(SampleSnapshot());
  const Response plain = Fetch(s.port(), "HEAD", "/metrics");  // Fetch checks no body follows
  BOOST_TEST(plain.status == 200);
  BOOST_TEST(plain.get("content-length") == std::to_string(pub->exposition.text.size()));
  BOOST_TEST(plain.get("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  const Response gz = Fetch(s.port(), "HEAD", "/metrics", {"Accept-Encoding: gzip"});
  BOOST_TEST(gz.get("content-length") == std::to_string(pub->exposition.gzip.size()));
  BOOST_TEST(gz.get("content-encoding") == "gzip");
}

BOOST_AUTO_TEST_CASE(not_found_and_method_not_allowed) {
  Server s;
  for (const char* path : {"/nope", "/metrics/", "/metricsx", "/-/", "/favicon.ico"}) {
    BOOST_TEST_CONTEXT(path) { BOOST_TEST(Fetch(s.port(), "GET", path).status == 404); }
  }
  for (const char* method : {"POST", "PUT", "DELETE"}) {
    for (const char* path : {"/metrics", "/", "/-/healthy"}) {
      BOOST_TEST_CONTEXT(method << " " << path) {
        const Response r = Fetch(s.port(), method, path, {"Content-Length: 0"});
        BOOST_TEST(r.status == 405);
        BOOST_TEST(r.get("allow") == "GET, HEAD");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(health_and_ready) {
  Server s;
  for (const char* path : {"/-/healthy", "/-/ready"}) {
    BOOST_TEST_CONTEXT(path) {
      const Response r = Fetch(s.port(), "GET", path);
      BOOST_TEST(r.status == 200);
      BOOST_TEST(r.body == "OK");
      BOOST_TEST(Fetch(s.port(), "HEAD", path).status == 200);
    }
  }
  // A source being down does not change them.
  compute::Snapshot down;
  compute::SourceHealth src;
  src.name = "ledger";
  src.polled = true;
  src.last_error = "connection refused";
  down.sources = {src};
  s.publisher.Publish(std::move(down));
  BOOST_TEST(Fetch(s.port(), "GET", "/-/ready").status == 200);
  BOOST_TEST(Fetch(s.port(), "GET", "/-/healthy").status == 200);
}

BOOST_AUTO_TEST_CASE(landing_page_escapes_tenants) {
  Server s;
  s.publisher.Publish(SampleSnapshot());
  const Response r = Fetch(s.port(), "GET", "/");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.get("content-type") == "text/html; charset=utf-8");
  BOOST_TEST(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  BOOST_TEST(r.body.find("<script") == std::string::npos);
  BOOST_TEST(r.body.find("href=\"/metrics\"") != std::string::npos);
  BOOST_TEST(r.body.find("9.9.9") != std::string::npos);
  BOOST_TEST(r.body.find("<td>ledger-eu</td>") != std::string::npos);
  BOOST_TEST(r.body.find("<td>acme</td>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(custom_telemetry_path) {
  Server s(Opts("127.0.0.1:0", "/custom/metrics", 2));
  BOOST_TEST(Fetch(s.port(), "GET", "/custom/metrics").status == 200);
  BOOST_TEST(Fetch(s.port(), "GET", "/metrics").status == 404);
  BOOST_TEST(Fetch(s.port(), "GET", "/").body.find("href=\"/custom/metrics\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(keep_alive_serves_several_requests_on_one_connection) {
  Server s;
  const auto pub = s.publisher.Publish(SampleSnapshot());
  Client c(s.port());
  for (int i = 0; i < 3; ++i) {
    c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
    const Response r = c.Read(false);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == pub->exposition.gzip);
  }
  c.Send("GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(c.Read(false).body == "OK");
}

BOOST_AUTO_TEST_CASE(scrapes_during_publishes_get_whole_expositions) {
  Server s(Opts("127.0.0.1:0", "/metrics", 8));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> scrapes{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        try {
          const Response r = Fetch(s.port(), "GET", "/metrics", {"Accept-Encoding: gzip"});
          const std::string text = Gunzip(r.body);
          // Each exposition is internally consistent: its tenant gauge and
          // its pending gauge were published together.
          const auto t = text.find("\nprovledger_exporter_tenants ");
          const auto p = text.find("\nprovledger_exporter_pending_operations ");
          if (r.status != 200 || t == std::string::npos || p == std::string::npos ||
              std::stoul(text.substr(t + 29)) != std::stoul(text.substr(p + 40))) {
            ++bad;
          }
          ++scrapes;
        } catch (const std::exception&) {
          ++bad;
        }
      }
    });
  }
  for (std::uint64_t i = 1; i <= 100; ++i) {
    compute::Snapshot snap;
    snap.tenants = i;
    snap.pending_ops = i;
    s.publisher.Publish(std::move(snap));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop = true;
  for (auto& t : clients) t.join();
  BOOST_TEST(bad.load() == 0);
  BOOST_TEST(scrapes.load() > 0);
}

BOOST_AUTO_TEST_CASE(bind_failure_names_the_address) {
  Server first;
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  render::Publisher pub;
  try {
    HttpServer second(Opts(taken, "/metrics", 2), pub);
    BOOST_FAIL("a second server bound " << taken);
  } catch (const HttpError& e) {
    BOOST_TEST(std::string(e.what()).find(taken) != std::string::npos, e.what());
    BOOST_TEST(std::string(e.what()).find("Address already in use") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(HttpServer(Opts("not-an-address", "/metrics", 2), pub), HttpError);
  BOOST_CHECK_THROW(HttpServer(Opts("127.0.0.1:0", "metrics", 2), pub), HttpError);
  BOOST_CHECK_THROW(HttpServer(Opts("127.0.0.1:0", "/-/ready", 2), pub), HttpError);
  // The first server still works.
  BOOST_TEST(Fetch(first.port(), "GET", "/-/healthy").status == 200);
}

BOOST_AUTO_TEST_CASE(stops_cleanly_and_releases_the_port) {
  int port = 0;
  {
    Server s;
    port = s.port();
    BOOST_TEST(Fetch(port, "GET", "/-/healthy").status == 200);
  }
  BOOST_CHECK_THROW(Client{port}, std::runtime_error);  // nothing listens any more
  // The same port can be bound again right away.
  Server again(Opts("127.0.0.1:" + std::to_string(port), "/metrics", 2));
  BOOST_TEST(again.port() == port);
}

// ---- Issue 9, defect 7: raw-socket regressions (each failed on CivetWeb 1.15).

std::string RawExchange(int port, const std::string& request) {
  Client c(port);
  c.Send(request);
  std::string all;
  // Read until the server closes (every request here ends with Connection: close
  // or an error that closes).
  for (;;) {
    char tmp[65536];
    const int fd = c.fd();
    const ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    all.append(tmp, static_cast<std::size_t>(n));
  }
  return all;
}

BOOST_AUTO_TEST_CASE(upgrade_websocket_is_answered_as_http_and_the_pipelined_request_too) {
  Server s;
  const auto pub = s.publisher.Publish(SampleSnapshot());
  Client c(s.port());
  c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
         "GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n");
  const Response first = c.Read(false);  // throws unless a status line and headers come first
  BOOST_TEST(first.status == 200);
  BOOST_TEST(first.get("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(!first.has("upgrade"));
  BOOST_TEST(first.body == pub->exposition.text);
  const Response second = c.Read(false);
  BOOST_TEST(second.status == 200);
  BOOST_TEST(second.body == "OK");
}

BOOST_AUTO_TEST_CASE(absolute_uri_request_line_is_answered) {
  Server s;
  const auto pub = s.publisher.Publish(SampleSnapshot());
  const std::string host = "127.0.0.1:" + std::to_string(s.port());
  Client c(s.port());
  c.Send("GET http://" + host + "/metrics HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  const Response r = c.Read(false);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == pub->exposition.text);
  c.Send("GET HTTP://" + host + "/-/healthy?x=1 HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  BOOST_TEST(c.Read(false).body == "OK");
  c.Send("GET http://" + host + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  const Response landing = c.Read(false);
  BOOST_TEST(landing.status == 200);
  BOOST_TEST(landing.get("content-type") == "text/html; charset=utf-8");
}

BOOST_AUTO_TEST_CASE(options_asterisk_is_answered) {
  Server s;
  Client c(s.port());
  c.Send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  const Response r = c.Read(false);
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.get("allow") == "GET, HEAD");
  BOOST_TEST(r.get("content-length") == "0");
  // The connection stays usable.
  c.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(c.Read(false).body == "OK");
  // "*" with another method is a bad request, answered, then closed.
  const std::string bad = RawExchange(s.port(), "GET * HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(bad.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0, bad);
}

BOOST_AUTO_TEST_CASE(status_line_never_echoes_the_client_protocol) {
  Server s;
  for (const char* version : {"HTTP/1.0", "HTTP/1.1", "HTTP/1.9"}) {
    BOOST_TEST_CONTEXT(version) {
      const std::string out =
          RawExchange(s.port(), std::string("GET /-/ready ") + version + "\r\nHost: x\r\nConnection: close\r\n\r\n");
      BOOST_TEST(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, out);
    }
  }
  struct Case {
    const char* version;
    const char* status_line;
  };
  for (const Case& c : {Case{"HTTP/2.0", "HTTP/1.1 505 "}, Case{"HTTP/0.9", "HTTP/1.1 505 "},
                        Case{"HTTP/1.1x", "HTTP/1.1 400 "}, Case{"FOO/1.1", "HTTP/1.1 400 "},
                        Case{"http/1.1", "HTTP/1.1 400 "}, Case{"HTTP/11", "HTTP/1.1 400 "}}) {
    BOOST_TEST_CONTEXT(c.version) {
      const std::string out = RawExchange(s.port(), std::string("GET /-/ready ") + c.version + "\r\nHost: x\r\n\r\n");
      BOOST_TEST(out.rfind(c.status_line, 0) == 0, out);
      BOOST_TEST((out.find(c.version) == std::string::npos || std::string(c.version) == "HTTP/1.1x"), out);
    }
  }
}

BOOST_AUTO_TEST_CASE(nul_in_path_is_refused_not_served_as_metrics) {
  Server s;
  s.publisher.Publish(SampleSnapshot());
  for (const char* path : {"/metrics%00.html", "/metrics%00", "/%00", "/metrics%0a", "/metrics%7f", "/metrics%zz",
                           "/metrics%", "/metrics%0"}) {
    BOOST_TEST_CONTEXT(path) {
      const std::string out = RawExchange(s.port(), std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
      BOOST_TEST(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0, out);
      BOOST_TEST(out.find("attest_coverage_pct") == std::string::npos);
    }
  }
  // Escapes that decode to a printable character are fine; a literal "%00"
  // in the decoded path is just another unknown path.
  BOOST_TEST(Fetch(s.port(), "GET", "/%6Detrics").status == 200);
  BOOST_TEST(Fetch(s.port(), "GET", "/metrics%2500").status == 404);
  BOOST_TEST(Fetch(s.port(), "GET", "/metrics.html").status == 404);
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_an_answer_then_a_close) {
  Server s;
  struct Case {
    std::string request;
    const char* status_line;
  };
  const std::vector<Case> cases = {
      {"GET /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},  // no Host
      {"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 "},
      {"GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "HTTP/1.1 400 "},
      {"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 "},
      {"POST /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 501 "},
      {"GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 414 "},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", "HTTP/1.1 431 "},
      {"GET ftp://x/metrics HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "},
      {"G\x01T /metrics HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400 "},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.request.substr(0, 60)) {
      const std::string out = RawExchange(s.port(), c.request);
      BOOST_TEST(out.rfind(c.status_line, 0) == 0, out.substr(0, 200));
      BOOST_TEST(out.find("Connection: close\r\n") != std::string::npos);
    }
  }
  BOOST_TEST(Fetch(s.port(), "GET", "/-/healthy").status == 200);
}

BOOST_AUTO_TEST_CASE(many_pipelined_requests_are_answered_in_order) {
  Server s;
  std::string burst;
  constexpr int kRequests = 2000;
  for (int i = 0; i < kRequests; ++i) burst += (i % 2 == 0 ? "GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n"
                                                            : "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  Client c(s.port());
  std::thread sender([&] { c.Send(burst); });
  int ok = 0;
  for (int i = 0; i < kRequests; ++i) {
    const Response r = c.Read(i % 2 == 1);
    if (r.status == (i % 2 == 0 ? 200 : 404)) ++ok;
  }
  sender.join();
  BOOST_TEST(ok == kRequests);
}

BOOST_AUTO_TEST_CASE(custom_routes_run_on_handler_threads) {
  render::Publisher publisher;
  HttpOptions o = Opts("127.0.0.1:0", "/metrics", 2);
  Route echo;
  echo.path = "/api/v1/echo";
  echo.prefix = true;
  echo.methods = {"GET", "POST"};
  echo.handler = [](const Request& req) {
    http::Response r = http::Response::Text(201, req.method + " " + req.path + " " + req.query + " " + req.body);
    r.headers.emplace_back("X-Seen", "yes");
    return r;
  };
  Route boom;
  boom.path = "/api/v1/boom";
  boom.handler = [](const Request&) -> http::Response { throw std::runtime_error("handler failed"); };
  o.routes = {echo, boom};
  HttpServer server(std::move(o), publisher);
  const Response get = Fetch(server.port(), "GET", "/api/v1/echo/a%20b?x=1");
  BOOST_TEST(get.status == 201);
  BOOST_TEST(get.body == "GET /api/v1/echo/a b x=1 ");
  BOOST_TEST(get.get("x-seen") == "yes");
  Client c(server.port());
  c.Send("POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  BOOST_TEST(c.Read(false).body == "POST /api/v1/echo  hello");
  BOOST_TEST(Fetch(server.port(), "HEAD", "/api/v1/echo").status == 201);
  const Response put = Fetch(server.port(), "PUT", "/api/v1/echo", {"Content-Length: 0"});
  BOOST_TEST(put.status == 405);
  BOOST_TEST(put.get("allow") == "GET, POST, HEAD");
  BOOST_TEST(Fetch(server.port(), "GET", "/api/v1/echoes").status == 404);
  BOOST_TEST(Fetch(server.port(), "GET", "/api/v1/boom").status == 500);
  BOOST_TEST(Fetch(server.port(), "GET", "/api/v1/boom/x").status == 404);  // not a prefix route
}

BOOST_AUTO_TEST_CASE(listens_on_ipv6_loopback) {
  render::Publisher publisher;
  HttpServer server(Opts("[::1]:0", "/metrics", 1), publisher);
  BOOST_TEST(server.port() > 0);
  const int fd = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(static_cast<uint16_t>(server.port()));
  a.sin6_addr = in6addr_loopback;
  BOOST_REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const std::string req = "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  BOOST_REQUIRE(send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fd);
  BOOST_TEST(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, out);
}

}  // namespace
}  // namespace provledger::http
