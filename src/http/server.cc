#include "http/server.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "config/listen_address.hh"
#include "http/auth.hh"
#include "http/landing.hh"
#include "http/tls.hh"
#include "http/web_config.hh"

namespace provledger::http {

namespace {

using Clock = std::chrono::steady_clock;

HttpError AddressError(std::string_view address, std::string_view why) {
  return HttpError("invalid --web.listen-address \"" + std::string(address) + "\": " + std::string(why));
}

std::string ErrnoText(int err) {
  char buf[128];
  // GNU strerror_r returns the message pointer.
  const char* msg = strerror_r(err, buf, sizeof buf);
  return std::to_string(err) + " (" + msg + ")";
}

constexpr const char* kTextHtml = "text/html; charset=utf-8";

// What --web.config.file gives, as one immutable snapshot: swapped whole on
// reload; a connection keeps the one it was accepted with.
struct WebState {
  explicit WebState(WebConfig cfg)
      : tls(cfg.tls ? BuildTlsContext(*cfg.tls) : nullptr),
        auth(std::move(cfg.basic_auth_users)),
        headers(std::move(cfg.headers)) {}
  std::shared_ptr<ssl_ctx_st> tls;  // null: plain HTTP
  BasicAuth auth;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::shared_ptr<const WebState> LoadWebState(const std::string& path) {
  if (path.empty()) return std::make_shared<WebState>(WebConfig{});
  return std::make_shared<WebState>(LoadWebConfig(path));
}

bool Unprotected(const Request& req) { return req.path == "/-/healthy" || req.path == "/-/ready"; }

Response Unauthorized() {
  Response r = Response::Text(401, "401 Unauthorized\n");
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"provledger_exporter\", charset=\"UTF-8\"");
  return r;
}

}  // namespace

ListenAddress ParseListenAddress(std::string_view address) {
  // The rule is the config loader's, so --config.check refuses what this does.
  std::string why;
  const auto a = config::ParseListenAddress(address, Ipv6ListenAvailable(), &why);
  if (!a) throw AddressError(address, why);
  ListenAddress out;
  out.ipv6 = a->ipv6;
  out.host = a->host.empty() ? "0.0.0.0" : a->host;  // empty: all IPv4 interfaces
  out.port = static_cast<std::uint16_t>(a->port);
  return out;
}

bool Ipv6ListenAvailable() { return true; }

// ---------------------------------------------------------------------------

class HttpServer::Impl {
 public:
  Impl(HttpOptions options, const render::Publisher& publisher);
  ~Impl();

  int port() const { return port_; }
  const HttpOptions& options() const { return options_; }
  bool tls() const { return Web()->tls != nullptr; }
  void ReloadWebConfig() {
    auto next = LoadWebState(options_.web_config_file);
    std::lock_guard lock(web_mu_);
    web_ = std::move(next);
  }

 private:
  enum class State { kHandshake, kReading, kBusy, kWriting };

  struct Conn {
    int fd = -1;
    std::uint64_t id = 0;
    State state = State::kReading;
    std::string in;
    bool peer_eof = false;
    bool request_started = false;  // bytes of the current request have arrived
    Clock::time_point deadline;    // read: header/idle deadline; write: write deadline
    Clock::time_point waiting_since;
    // The response being written: head, then the body.
    std::string out_head;
    Response out;
    bool out_head_only = false;  // HEAD request
    std::size_t out_off = 0;     // bytes of head + body sent
    bool close_after = false;
    std::uint32_t events = 0;    // current epoll interest
    std::shared_ptr<const WebState> web;  // as of the accept
    SSL* ssl = nullptr;
  };

  struct Job {
    int fd;
    std::uint64_t id;
    Request request;
    RouteDecision decision;
    std::shared_ptr<const WebState> web;
    bool verify_auth;  // run bcrypt first; 401 unless it matches
  };
  struct Done {
    int fd;
    std::uint64_t id;
    Response response;
    bool head;
  };
  std::shared_ptr<const WebState> Web() const {
    std::lock_guard lock(web_mu_);
    return web_;
  }
  // TLS-or-plain socket I/O: > 0 bytes, 0 end of stream, -1 would block
  // (*want_write: the TLS layer waits to write), -2 error.
  ssize_t RecvSome(Conn& c, char* buf, std::size_t n, bool* want_write);
  ssize_t SendSome(Conn& c, const char* data, std::size_t n, bool* want_read);
  bool Handshake(Conn& c);  // false: closed or still in progress
  Response ResponseFor(const Job& job);

  void Loop();
  void AcceptAll();
  void OnEvent(Conn& c, std::uint32_t events);
  bool ReadFrom(Conn& c);   // false: the connection was closed
  void Pump(int fd);
  bool ProcessOne(Conn& c);  // true: a response was started
  void StartResponse(Conn& c, Response response, bool head, bool close);
  bool WriteSome(Conn& c);  // true: written, connection reads again
  void CloseConn(int fd);
  void SetInterest(Conn& c, std::uint32_t events);
  void SweepDeadlines();
  bool EvictOne();
  void DrainCompletions();
  void Submit(Job job);
  void WorkerMain();
  const std::string& HttpDate();

  const HttpOptions options_;
  const render::Publisher& publisher_;
  std::vector<RouteEntry> route_table_;
  std::size_t max_connections_ = 1024;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop, and handler completions
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::unordered_map<int, Conn> conns_;
  std::uint64_t next_id_ = 1;
  std::time_t date_second_ = 0;
  std::string date_;
  std::thread loop_;
  mutable std::mutex web_mu_;
  std::shared_ptr<const WebState> web_;

  // Handler pool: started on demand up to max_requests threads.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::vector<Done> done_;
  std::vector<std::thread> workers_;
  std::size_t idle_workers_ = 0;
  std::size_t max_workers_ = 1;
  bool workers_stop_ = false;
};

HttpServer::Impl::Impl(HttpOptions options, const render::Publisher& publisher)
    : options_(std::move(options)), publisher_(publisher) {
  const std::string& path = options_.telemetry_path;
  if (path.empty() || path.front() != '/' || path == "/" || path == "/-/healthy" || path == "/-/ready") {
    throw HttpError("invalid --web.telemetry-path \"" + path +
                    "\": must start with / and differ from /, /-/healthy and /-/ready");
  }
  for (const Route& r : options_.routes) {
    if (r.path.empty() || r.path.front() != '/' || !r.handler) throw HttpError("invalid route \"" + r.path + "\"");
    route_table_.push_back(RouteEntry{r.path, r.prefix, r.methods, r.own_auth});
  }
  max_workers_ = static_cast<std::size_t>(std::clamp<std::int64_t>(options_.max_requests, 1, 1024));
  max_connections_ = std::max<std::size_t>(options_.max_connections, 1);
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    const rlim_t reserve = 64;  // database connections, the state file, logs
    const rlim_t room = nofile.rlim_cur > reserve * 2 ? nofile.rlim_cur - reserve : nofile.rlim_cur / 2;
    max_connections_ = std::min<std::size_t>(max_connections_, std::max<rlim_t>(room, 1));
  }

  web_ = LoadWebState(options_.web_config_file);  // throws: not started
  const ListenAddress addr = ParseListenAddress(options_.listen_address);
  listen_fd_ = socket(addr.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw HttpError("cannot listen on \"" + options_.listen_address + "\": socket: " + ErrnoText(errno));
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (addr.ipv6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(addr.port);
    inet_pton(AF_INET6, addr.host.c_str(), &a6->sin6_addr);
    setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    len = sizeof *a6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(addr.port);
    inet_pton(AF_INET, addr.host.c_str(), &a4->sin_addr);
    len = sizeof *a4;
  }
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(listen_fd_, 1024) != 0) {
    const int err = errno;
    close(listen_fd_);
    throw HttpError("cannot listen on \"" + options_.listen_address + "\": " + ErrnoText(err));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(addr.ipv6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    const int err = errno;
    close(listen_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    throw HttpError("cannot start the HTTP server: " + ErrnoText(err));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  loop_ = std::thread([this] { Loop(); });
}

HttpServer::Impl::~Impl() {
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  if (loop_.joinable()) loop_.join();
  {
    std::lock_guard lock(mu_);
    workers_stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  for (auto& [fd, c] : conns_) {
    if (c.ssl != nullptr) SSL_free(c.ssl);
    close(fd);
  }
  conns_.clear();
  close(listen_fd_);
  close(epoll_fd_);
  close(wake_fd_);
}

const std::string& HttpServer::Impl::HttpDate() {
  const std::time_t now = std::time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    date_ = FormatHttpDate(now);
  }
  return date_;
}

void HttpServer::Impl::Loop() {
  std::vector<epoll_event> events(256);
  auto next_sweep = Clock::now();
  while (!stopping_.load()) {
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 200);
    if (n < 0 && errno != EINTR) {
      spdlog::error("http: epoll_wait failed: {}", ErrnoText(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        AcceptAll();
      } else if (fd == wake_fd_) {
        std::uint64_t v = 0;
        [[maybe_unused]] const ssize_t r = read(wake_fd_, &v, sizeof v);
        DrainCompletions();
      } else {
        auto it = conns_.find(fd);
        if (it != conns_.end()) OnEvent(it->second, events[i].events);
      }
    }
    if (Clock::now() >= next_sweep) {
      SweepDeadlines();
      next_sweep = Clock::now() + std::chrono::milliseconds(100);
    }
  }
}

void HttpServer::Impl::AcceptAll() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && EvictOne()) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) spdlog::warn("http: accept failed: {}", ErrnoText(errno));
      return;
    }
    if (conns_.size() >= max_connections_ && !EvictOne()) {
      close(fd);  // every connection is being answered: the client retries
      continue;
    }
    const int one = 1;
    // Head and body go out in separate writes when the body is large:
    // without TCP_NODELAY, Nagle plus delayed ACK can stall a response ~40 ms.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Conn& c = conns_[fd];
    c = Conn{};
    c.fd = fd;
    c.id = next_id_++;
    c.waiting_since = Clock::now();
    c.deadline = c.waiting_since + options_.header_timeout;
    c.web = Web();
    if (c.web->tls) {
      c.ssl = SSL_new(c.web->tls.get());
      if (c.ssl == nullptr || SSL_set_fd(c.ssl, fd) != 1) {
        if (c.ssl != nullptr) SSL_free(c.ssl);
        conns_.erase(fd);
        close(fd);
        continue;
      }
      SSL_set_accept_state(c.ssl);
      c.state = State::kHandshake;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    c.events = ev.events;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      conns_.erase(fd);
      close(fd);
      continue;
    }
    // A client usually sends its request with the handshake's last ACK: read
    // and answer it now, before accepting more. Under an accept storm (idle
    // connections reopened as fast as they are evicted) a scrape is then
    // answered before it could become the oldest connection and be evicted.
    if (c.state == State::kHandshake) {
      if (Handshake(c) && ReadFrom(c)) Pump(fd);
    } else if (ReadFrom(c)) {
      Pump(fd);
    }
  }
}

bool HttpServer::Impl::Handshake(Conn& c) {
  ERR_clear_error();
  const int r = SSL_do_handshake(c.ssl);
  if (r == 1) {
    c.state = State::kReading;
    SetInterest(c, EPOLLIN | EPOLLRDHUP);
    return true;
  }
  const int err = SSL_get_error(c.ssl, r);
  if (err == SSL_ERROR_WANT_READ) {
    SetInterest(c, EPOLLIN | EPOLLRDHUP);
    return false;
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    SetInterest(c, EPOLLOUT);
    return false;
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    const unsigned long e = ERR_peek_error();
    char buf[256] = "connection closed";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    spdlog::debug("http: TLS handshake failed: {}", buf);
  }
  ERR_clear_error();
  CloseConn(c.fd);
  return false;
}

ssize_t HttpServer::Impl::RecvSome(Conn& c, char* buf, std::size_t n, bool* want_write) {
  *want_write = false;
  if (c.ssl == nullptr) {
    for (;;) {
      const ssize_t r = recv(c.fd, buf, n, 0);
      if (r >= 0) return r;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
    }
  }
  ERR_clear_error();
  const int r = SSL_read(c.ssl, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
  if (r > 0) return r;
  const int err = SSL_get_error(c.ssl, r);
  if (err == SSL_ERROR_WANT_READ) return -1;
  if (err == SSL_ERROR_WANT_WRITE) {
    *want_write = true;
    return -1;
  }
  ERR_clear_error();
  return err == SSL_ERROR_ZERO_RETURN ? 0 : -2;
}

ssize_t HttpServer::Impl::SendSome(Conn& c, const char* data, std::size_t n, bool* want_read) {
  *want_read = false;
  if (c.ssl == nullptr) {
    for (;;) {
      const ssize_t r = send(c.fd, data, n, MSG_NOSIGNAL);
      if (r >= 0) return r;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
    }
  }
  ERR_clear_error();
  const int r = SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
  if (r > 0) return r;
  const int err = SSL_get_error(c.ssl, r);
  if (err == SSL_ERROR_WANT_WRITE) return -1;
  if (err == SSL_ERROR_WANT_READ) {
    *want_read = true;
    return -1;
  }
  ERR_clear_error();
  return -2;
}

bool HttpServer::Impl::EvictOne() {
  // The oldest connection that has sent nothing of a request; failing that,
  // the oldest one with an incomplete request. Never one being answered.
  int victim = -1;
  bool victim_started = true;
  Clock::time_point oldest = Clock::time_point::max();
  for (const auto& [fd, c] : conns_) {
    if (c.state != State::kReading && c.state != State::kHandshake) continue;
    const bool better = victim < 0 || (victim_started && !c.request_started) ||
                        (victim_started == c.request_started && c.waiting_since < oldest);
    if (better) {
      oldest = c.waiting_since;
      victim = fd;
      victim_started = c.request_started;
    }
  }
  if (victim < 0) return false;
  CloseConn(victim);
  return true;
}

void HttpServer::Impl::SetInterest(Conn& c, std::uint32_t events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = c.fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.events = events;
}

void HttpServer::Impl::CloseConn(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  const auto it = conns_.find(fd);
  if (it != conns_.end() && it->second.ssl != nullptr) {
    if (it->second.state != State::kHandshake) SSL_shutdown(it->second.ssl);  // best effort close_notify
    SSL_free(it->second.ssl);
  }
  close(fd);
  conns_.erase(fd);
}

void HttpServer::Impl::SweepDeadlines() {
  const auto now = Clock::now();
  std::vector<int> expired;
  for (const auto& [fd, c] : conns_) {
    if (c.state != State::kBusy && now >= c.deadline) expired.push_back(fd);
  }
  for (int fd : expired) CloseConn(fd);
}

void HttpServer::Impl::OnEvent(Conn& c, std::uint32_t events) {
  const int fd = c.fd;
  if ((events & EPOLLERR) != 0 || (c.state == State::kBusy && (events & EPOLLHUP) != 0)) {
    CloseConn(fd);
    return;
  }
  if (c.state == State::kHandshake) {
    if (!Handshake(c)) return;
    if (!ReadFrom(c)) return;
  } else if (c.state == State::kReading && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLOUT)) != 0) {
    if (!ReadFrom(c)) return;
  }
  Pump(fd);
}

bool HttpServer::Impl::ReadFrom(Conn& c) {
  const std::size_t cap = options_.limits.max_header_bytes + options_.limits.max_body_bytes + 4096;
  char buf[16384];
  for (;;) {
    if (c.in.size() >= cap) break;  // the parser refuses it
    bool want_write = false;
    const ssize_t n = RecvSome(c, buf, std::min(sizeof buf, cap - c.in.size()), &want_write);
    if (n > 0) {
      if (!c.request_started) {
        c.request_started = true;
        c.deadline = Clock::now() + options_.header_timeout;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      c.peer_eof = true;
      break;
    }
    if (n == -1) {
      SetInterest(c, want_write ? EPOLLOUT : (EPOLLIN | EPOLLRDHUP));
      break;
    }
    CloseConn(c.fd);
    return false;
  }
  return true;
}

// Moves a connection forward as far as it can go without waiting: writes
// what the socket takes, then parses and answers pipelined requests one by
// one (a loop, not recursion: a buffer full of pipelined requests must not
// grow the stack).
void HttpServer::Impl::Pump(int fd) {
  for (;;) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (c.state == State::kWriting) {
      if (!WriteSome(c)) return;
    } else if (c.state == State::kReading) {
      if (!ProcessOne(c)) return;
    } else {
      return;  // kBusy: a handler thread has the request
    }
  }
}

bool HttpServer::Impl::ProcessOne(Conn& c) {
  if (c.in.empty()) {
    if (c.peer_eof) CloseConn(c.fd);
    return false;
  }
  ParseResult parsed = ParseRequest(c.in, options_.limits);
  if (parsed.state == ParseState::kIncomplete) {
    if (c.peer_eof) CloseConn(c.fd);
    return false;
  }
  if (parsed.state == ParseState::kError) {
    spdlog::debug("http: bad request status={} reason={}", parsed.error_status, parsed.error);
    c.in.clear();
    StartResponse(c,
                  Response::Text(parsed.error_status, std::to_string(parsed.error_status) + " " +
                                                          std::string(ReasonPhrase(parsed.error_status)) + ": " +
                                                          parsed.error + "\n"),
                  false, true);
    return true;
  }
  c.in.erase(0, parsed.consumed);
  Request& req = parsed.request;
  const bool head = req.method == "HEAD";
  const bool close = !req.keep_alive || (c.peer_eof && c.in.empty());
  RouteDecision d = Decide(req, options_.telemetry_path, route_table_);

  // Basic auth: everything but the health endpoints. bcrypt never runs here.
  bool verify = false;
  const bool own_auth = d.kind == RouteDecision::Kind::kHandler && route_table_[d.handler_index].own_auth;
  if (c.web->auth.enabled() && !Unprotected(req) && !own_auth) {
    switch (c.web->auth.Check(req.Header("authorization"))) {
      case BasicAuth::Result::kOk:
        break;
      case BasicAuth::Result::kDenied:
        StartResponse(c, Unauthorized(), head, close);
        return true;
      case BasicAuth::Result::kNeedsVerify:
        verify = true;
        break;
    }
  }
  if (!verify) {
    switch (d.kind) {
      case RouteDecision::Kind::kMetrics:
        StartResponse(c, MetricsResponse(req, publisher_.Current()), head, close);
        return true;
      case RouteDecision::Kind::kHealth:
      case RouteDecision::Kind::kRespond:
        StartResponse(c, std::move(d.response), head, close);
        return true;
      case RouteDecision::Kind::kLanding:
      case RouteDecision::Kind::kHandler:
        break;
    }
  }
  c.state = State::kBusy;
  c.close_after = close;
  SetInterest(c, 0);
  Submit(Job{c.fd, c.id, std::move(req), std::move(d), c.web, verify});
  return false;
}

void HttpServer::Impl::StartResponse(Conn& c, Response response, bool head, bool close) {
  const bool close_after = close || response.close;
  for (const auto& h : c.web->headers) response.headers.push_back(h);
  c.out_head = SerializeHead(response, HttpDate(), close_after);
  c.out = std::move(response);
  c.out_head_only = head;
  c.out_off = 0;
  c.close_after = close_after;
  c.state = State::kWriting;
  c.deadline = Clock::now() + options_.write_timeout;
}

bool HttpServer::Impl::WriteSome(Conn& c) {
  const std::string_view body = c.out_head_only ? std::string_view() : c.out.Body();
  const std::size_t total = c.out_head.size() + body.size();
  while (c.out_off < total) {
    ssize_t n = 0;
    bool want_read = false;
    if (c.ssl == nullptr) {
      iovec iov[2];
      int cnt = 0;
      if (c.out_off < c.out_head.size()) {
        iov[cnt++] = iovec{const_cast<char*>(c.out_head.data()) + c.out_off, c.out_head.size() - c.out_off};
        if (!body.empty()) iov[cnt++] = iovec{const_cast<char*>(body.data()), body.size()};
      } else {
        const std::size_t boff = c.out_off - c.out_head.size();
        iov[cnt++] = iovec{const_cast<char*>(body.data()) + boff, body.size() - boff};
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(cnt);
      n = sendmsg(c.fd, &msg, MSG_NOSIGNAL);
      if (n < 0) n = errno == EINTR ? 0 : (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
    } else if (c.out_off < c.out_head.size()) {
      // One TLS record for a small response: head and body together.
      if (c.out_off == 0 && !body.empty() && body.size() <= 16384) {
        c.out_head.append(body);
        c.out_head_only = true;
        return WriteSome(c);
      }
      n = SendSome(c, c.out_head.data() + c.out_off, c.out_head.size() - c.out_off, &want_read);
    } else {
      const std::size_t boff = c.out_off - c.out_head.size();
      n = SendSome(c, body.data() + boff, body.size() - boff, &want_read);
    }
    if (n > 0) {
      c.out_off += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) continue;
    if (n == -1) {
      SetInterest(c, want_read ? EPOLLIN : EPOLLOUT);
      return false;
    }
    CloseConn(c.fd);
    return false;
  }
  if (c.close_after) {
    CloseConn(c.fd);
    return false;
  }
  // Ready for the next request (maybe already here: pipelined).
  c.out = Response{};
  c.out_head.clear();
  c.state = State::kReading;
  c.request_started = !c.in.empty();
  c.waiting_since = Clock::now();
  c.deadline = c.waiting_since + (c.in.empty() ? options_.idle_timeout : options_.header_timeout);
  SetInterest(c, EPOLLIN | EPOLLRDHUP);
  return true;
}

void HttpServer::Impl::Submit(Job job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
    if (idle_workers_ < jobs_.size() && workers_.size() < max_workers_) {
      workers_.emplace_back([this] { WorkerMain(); });
    }
  }
  cv_.notify_one();
}

Response HttpServer::Impl::ResponseFor(const Job& job) {
  try {
    if (job.verify_auth) {
      const auto header = job.request.Header("authorization");
      if (!header || !job.web->auth.Verify(*header)) return Unauthorized();
    }
    switch (job.decision.kind) {
      case RouteDecision::Kind::kMetrics:
        return MetricsResponse(job.request, publisher_.Current());
      case RouteDecision::Kind::kHealth:
      case RouteDecision::Kind::kRespond:
        return job.decision.response;
      case RouteDecision::Kind::kLanding: {
        const auto published = publisher_.Current();
        Response r = Response::Text(200, RenderLandingPage(*published, publisher_.build(), options_.telemetry_path,
                                                         options_.landing_links));
        r.content_type = kTextHtml;
        return r;
      }
      case RouteDecision::Kind::kHandler:
        return options_.routes[job.decision.handler_index].handler(job.request);
    }
  } catch (const std::exception& e) {
    spdlog::error("http: request failed path={} error={}", job.request.path, e.what());
  } catch (...) {
    spdlog::error("http: request failed path={}", job.request.path);
  }
  return Response::Text(500, "500 internal error\n");
}

void HttpServer::Impl::WorkerMain() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_workers_;
    cv_.wait(lock, [this] { return workers_stop_ || !jobs_.empty(); });
    --idle_workers_;
    if (workers_stop_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Done done{job.fd, job.id, ResponseFor(job), job.request.method == "HEAD"};
    lock.lock();
    done_.push_back(std::move(done));
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  }
}

void HttpServer::Impl::DrainCompletions() {
  std::vector<Done> done;
  {
    std::lock_guard lock(mu_);
    done.swap(done_);
  }
  for (Done& d : done) {
    auto it = conns_.find(d.fd);
    if (it == conns_.end() || it->second.id != d.id || it->second.state != State::kBusy) continue;
    Conn& c = it->second;
    StartResponse(c, std::move(d.response), d.head, c.close_after);
    Pump(d.fd);
  }
}

// ---------------------------------------------------------------------------

HttpServer::HttpServer(HttpOptions options, const render::Publisher& publisher)
    : impl_(std::make_unique<Impl>(std::move(options), publisher)) {}

HttpServer::~HttpServer() = default;

int HttpServer::port() const { return impl_->port(); }
bool HttpServer::tls() const { return impl_->tls(); }
void HttpServer::ReloadWebConfig() { impl_->ReloadWebConfig(); }
const HttpOptions& HttpServer::options() const { return impl_->options(); }

}  // namespace provledger::http
