#include "http/server.hh"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <charconv>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <civetweb.h>
#include <spdlog/spdlog.h>

#include "config/listen_address.hh"
#include "http/landing.hh"
#include "http/negotiate.hh"

namespace provledger::http {

namespace {

constexpr std::string_view kHealthyPath = "/-/healthy";
constexpr std::string_view kReadyPath = "/-/ready";
constexpr const char* kTextPlain = "text/plain; charset=utf-8";
constexpr const char* kTextHtml = "text/html; charset=utf-8";

HttpError AddressError(std::string_view address, std::string_view why) {
  return HttpError("invalid --web.listen-address \"" + std::string(address) + "\": " +
                   std::string(why));
}

// While mg_start2 runs (synchronously, on the constructing thread) CivetWeb's
// messages are collected here, so the exception can say why binding failed
// ("cannot bind to ...: 98 (Address already in use)").
thread_local std::vector<std::string>* startup_messages = nullptr;

int CivetLogMessage(const struct mg_connection*, const char* message) {
  const std::string_view text = message != nullptr ? message : "";
  if (startup_messages != nullptr) {
    startup_messages->emplace_back(text);
  } else {
    spdlog::warn("civetweb: {}", text);
  }
  return 1;  // handled: civetweb writes nothing itself
}

void ConnectAndClose(const std::string& host, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1) {
    connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }
  close(fd);
}

// CivetWeb 1.15 formats its own Date header with gmtime(), which is not
// thread-safe (a data race between workers, seen by ThreadSanitizer). Sending
// our own Date, formatted with gmtime_r, makes it skip that code.
void AddDateHeader(struct mg_connection* conn) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  char date[64];
  if (gmtime_r(&now, &tm) == nullptr ||
      std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0) {
    return;
  }
  mg_response_header_add(conn, "Date", date, -1);
}

void InitCivetwebOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

}  // namespace

std::string ToCivetListeningPorts(std::string_view address, bool ipv6_available) {
  // The rule is the config loader's, so --config.check refuses what this does.
  std::string why;
  const auto a = config::ParseListenAddress(address, ipv6_available, &why);
  if (!a) throw AddressError(address, why);
  const std::string port = std::to_string(a->port);
  if (a->ipv6) return "[" + a->host + "]:" + port;
  if (a->host.empty()) return port;  // all IPv4 interfaces
  return a->host + ":" + port;
}

bool Ipv6ListenAvailable() {
  InitCivetwebOnce();
  return mg_check_feature(MG_FEATURES_IPV6) != 0;
}

HttpServer::HttpServer(HttpOptions options, const render::Publisher& publisher)
    : options_(std::move(options)), publisher_(publisher) {
  const std::string& path = options_.telemetry_path;
  if (path.empty() || path.front() != '/' || path == "/" || path == kHealthyPath ||
      path == kReadyPath) {
    throw HttpError("invalid --web.telemetry-path \"" + path +
                    "\": must start with / and differ from /, /-/healthy and /-/ready");
  }
  InitCivetwebOnce();
  const std::string ports =
      ToCivetListeningPorts(options_.listen_address, Ipv6ListenAvailable());
  const std::string threads =
      std::to_string(std::clamp<std::int64_t>(options_.max_requests, 1, 1024));

  const char* civet_options[] = {
      "listening_ports", ports.c_str(),
      "num_threads", threads.c_str(),
      "request_timeout_ms", "10000",
      "enable_keep_alive", "yes",
      "keep_alive_timeout_ms", "2000",
      // Headers and body go out in separate writes; without TCP_NODELAY,
      // Nagle plus delayed ACK can stall a response by ~40 ms.
      "tcp_nodelay", "1",
      nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = &CivetLogMessage;
  // begin_request sees every request from the first accepted connection on,
  // so there is no window after mg_start2 in which CivetWeb answers alone.
  callbacks.begin_request = &HttpServer::HandleRequest;

  char error_text[256] = {0};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof error_text;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = civet_options;

  std::vector<std::string> messages;
  startup_messages = &messages;
  ctx_ = mg_start2(&init, &error);
  startup_messages = nullptr;
  if (ctx_ == nullptr) {
    std::string why;
    for (const auto& m : messages) why += (why.empty() ? "" : "; ") + m;
    if (why.empty()) why = error_text[0] != '\0' ? error_text : "CivetWeb failed to start";
    throw HttpError("cannot listen on \"" + options_.listen_address + "\": " + why);
  }
  for (const auto& m : messages) spdlog::warn("civetweb: {}", m);
  mg_server_port bound[4]{};
  const int n = mg_get_server_ports(ctx_, 4, bound);
  if (n < 1) {
    mg_stop(ctx_);
    ctx_ = nullptr;
    throw HttpError("cannot listen on \"" + options_.listen_address + "\": no bound port reported");
  }
  port_ = bound[0].port;
  if (ports.find('[') == std::string::npos) {
    const std::size_t colon = ports.find(':');
    wake_host_ = colon == std::string::npos ? "127.0.0.1" : ports.substr(0, colon);
    if (wake_host_ == "0.0.0.0") wake_host_ = "127.0.0.1";
  }
}

HttpServer::~HttpServer() {
  if (ctx_ == nullptr) return;
  // CivetWeb's master thread polls the listening socket in 2 s quanta and
  // notices mg_stop's flag only then. Connecting to ourselves wakes it, so a
  // stop takes milliseconds instead of up to 2 s.
  std::atomic<bool> stopped{false};
  std::thread waker;
  if (!wake_host_.empty()) {
    waker = std::thread([this, &stopped] {
      while (!stopped.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!stopped.load()) ConnectAndClose(wake_host_, port_);
      }
    });
  }
  mg_stop(ctx_);
  stopped = true;
  if (waker.joinable()) waker.join();
}

int HttpServer::HandleRequest(struct mg_connection* conn) {
  // A C callback: no exception may cross it.
  try {
    auto* self = static_cast<HttpServer*>(mg_get_request_info(conn)->user_data);
    return self->Dispatch(conn);
  } catch (const std::exception& e) {
    spdlog::error("http: request failed: {}", e.what());
  } catch (...) {
    spdlog::error("http: request failed");
  }
  mg_send_http_error(conn, 500, "%s", "internal error\n");
  return 500;
}

int HttpServer::Dispatch(struct mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const std::string_view method = ri->request_method != nullptr ? ri->request_method : "";
  const std::string_view path = ri->local_uri != nullptr ? ri->local_uri : "";

  enum class Route { kMetrics, kHealth, kLanding, kNone };
  Route route = Route::kNone;
  if (path == options_.telemetry_path) {
    route = Route::kMetrics;
  } else if (path == kHealthyPath || path == kReadyPath) {
    route = Route::kHealth;
  } else if (path == "/") {
    route = Route::kLanding;
  }

  const bool head = method == "HEAD";
  if (route == Route::kNone) {
    return ServeText(conn, head, 404, kTextPlain, "404 page not found\n");
  }
  if (method != "GET" && !head) {
    return ServeText(conn, false, 405, kTextPlain, "405 method not allowed\n", "Allow", "GET, HEAD");
  }
  switch (route) {
    case Route::kMetrics:
      return ServeMetrics(conn, head);
    case Route::kHealth:
      // Ready as soon as the listener is bound; databases never gate this.
      return ServeText(conn, head, 200, kTextPlain, "OK");
    case Route::kLanding: {
      const auto published = publisher_.Current();
      const std::string page =
          RenderLandingPage(*published, publisher_.build(), options_.telemetry_path);
      return ServeText(conn, head, 200, kTextHtml, page);
    }
    case Route::kNone:
      break;
  }
  return ServeText(conn, head, 404, kTextPlain, "404 page not found\n");
}

int HttpServer::ServeMetrics(struct mg_connection* conn, bool head) {
  const char* accept = mg_get_header(conn, "Accept-Encoding");
  const bool gzip = accept != nullptr && AcceptsGzip(accept);
  // The only shared state a scrape touches: one pointer copy under the lock.
  const auto published = publisher_.Current();
  const std::string& body = gzip ? published->exposition.gzip : published->exposition.text;

  char length[24];
  const auto r = std::to_chars(length, length + sizeof length - 1, body.size());
  *r.ptr = '\0';
  mg_response_header_start(conn, 200);
  mg_response_header_add(conn, "Content-Type", kMetricsContentType.data(),
                         static_cast<int>(kMetricsContentType.size()));
  if (gzip) mg_response_header_add(conn, "Content-Encoding", "gzip", -1);
  mg_response_header_add(conn, "Vary", "Accept-Encoding", -1);
  mg_response_header_add(conn, "Content-Length", length, -1);
  AddDateHeader(conn);
  mg_response_header_send(conn);
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
  return 200;
}

int HttpServer::ServeText(struct mg_connection* conn, bool head, int status,
                          const char* content_type, std::string_view body,
                          const char* extra_header_name, const char* extra_header_value) {
  const std::string length = std::to_string(body.size());
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", content_type, -1);
  if (extra_header_name != nullptr) {
    mg_response_header_add(conn, extra_header_name, extra_header_value, -1);
  }
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  AddDateHeader(conn);
  mg_response_header_send(conn);
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
  return status;
}

}  // namespace provledger::http
