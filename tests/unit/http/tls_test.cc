// --web.config.file: TLS and basic auth on the real server, with
// certificates made by the openssl command in a temp directory (a CA, a
// server certificate for 127.0.0.1, a client certificate from the CA and a
// self-signed one it does not trust), and a TLS client written here on
// OpenSSL. Also the web config's positioned errors.
#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "config/load.hh"
#include "http/auth.hh"
#include "http/server.hh"
#include "http/tls.hh"
#include "http/web_config.hh"
#include "render/publisher.hh"

namespace provledger::http {
namespace {

namespace fs = std::filesystem;

void Run(const std::string& cmd) {
  const std::string full = cmd + " >/dev/null 2>&1";
  if (std::system(full.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

void Write(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

// Certificates made once for the whole test module.
struct Pki {
  fs::path dir;
  Pki() {
    char tmpl[] = "/tmp/provledger-tls-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir = tmpl;
    const std::string d = dir.string();
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    Run("openssl req -x509" + ec + "-keyout " + d + "/ca.key -out " + d + "/ca.crt -days 2 -subj /CN=test-ca");
    Write(dir / "san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    Run("openssl req" + ec + "-keyout " + d + "/server.key -out " + d + "/server.csr -subj /CN=localhost");
    Run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -out " +
        d + "/server.crt -days 2 -extfile " + d + "/san.ext");
    Run("openssl req" + ec + "-keyout " + d + "/client.key -out " + d + "/client.csr -subj /CN=prometheus");
    Run("openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -out " +
        d + "/client.crt -days 2");
    Run("openssl req -x509" + ec + "-keyout " + d + "/rogue.key -out " + d + "/rogue.crt -days 2 -subj /CN=rogue");
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

const Pki& TestPki() {
  static const Pki pki;
  return pki;
}

std::string BcryptHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) == nullptr) throw std::runtime_error("gensalt");
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), salt, &data);
  if (out == nullptr || out[0] == '*') throw std::runtime_error("crypt_r");
  return out;
}

struct TlsResult {
  bool handshake = false;
  int version = 0;        // TLS1_2_VERSION, TLS1_3_VERSION
  std::string response;   // everything read until close
};

struct ClientOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string cert;  // client certificate (and key) names in the PKI, or empty
  std::string key;
};

// One TLS connection: handshake (verifying the server against the test CA),
// then `request`, then read until the server closes.
TlsResult TlsExchange(int port, const std::string& request, const ClientOptions& o = {}) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx.get(), o.min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), o.max_version);
  if (SSL_CTX_load_verify_locations(ctx.get(), (TestPki() / "ca.crt").c_str(), nullptr) != 1) {
    throw std::runtime_error("client: CA");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!o.cert.empty()) {
    SSL_CTX_use_certificate_file(ctx.get(), (TestPki() / o.cert).c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx.get(), (TestPki() / o.key).c_str(), SSL_FILETYPE_PEM);
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("connect");
  }
  SSL* ssl = SSL_new(ctx.get());
  SSL_set_fd(ssl, fd);
  SSL_set1_host(ssl, "127.0.0.1");
  TlsResult r;
  if (SSL_connect(ssl) == 1) {
    r.handshake = true;
    r.version = SSL_version(ssl);
    if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
      char buf[16384];
      int n;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) r.response.append(buf, static_cast<std::size_t>(n));
    }
  }
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  return r;
}

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra + "\r\n";
}

std::string BasicHeader(const std::string& user, const std::string& password) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return "Authorization: Basic " + out + "\r\n";
}

struct TlsServer {
  render::Publisher publisher{render::BuildInfo{"9.9.9", "testrev"}};
  fs::path web_config;
  std::unique_ptr<HttpServer> server;
  explicit TlsServer(const std::string& yaml, std::vector<Route> routes = {}) {
    web_config = TestPki().dir / ("web-" + std::to_string(counter++) + ".yml");
    Write(web_config, yaml);
    HttpOptions o;
    o.listen_address = "127.0.0.1:0";
    o.max_requests = 4;
    o.web_config_file = web_config.string();
    o.routes = std::move(routes);
    server = std::make_unique<HttpServer>(std::move(o), publisher);
  }
  int port() const { return server->port(); }
  static inline int counter = 0;
};

std::string TlsBlock(const std::string& extra = "") {
  return "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" + extra;
}

BOOST_AUTO_TEST_CASE(tls12_and_tls13_handshakes) {
  TlsServer s(TlsBlock());
  BOOST_TEST(s.server->tls());
  ClientOptions v12;
  v12.max_version = TLS1_2_VERSION;
  const TlsResult r12 = TlsExchange(s.port(), Get("/metrics"), v12);
  BOOST_TEST(r12.handshake);
  BOOST_TEST(r12.version == TLS1_2_VERSION);
  BOOST_TEST(r12.response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, r12.response.substr(0, 100));
  BOOST_TEST(r12.response.find("provledger_exporter_build_info") != std::string::npos);
  ClientOptions v13;
  v13.min_version = TLS1_3_VERSION;
  const TlsResult r13 = TlsExchange(s.port(), Get("/-/healthy"), v13);
  BOOST_TEST(r13.handshake);
  BOOST_TEST(r13.version == TLS1_3_VERSION);
  BOOST_TEST(r13.response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  // The landing page over TLS too.
  const TlsResult again = TlsExchange(s.port(), Get("/"), v13);
  BOOST_TEST(again.response.find("<html") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(min_version_is_enforced) {
  TlsServer s(TlsBlock("  min_version: TLS13\n"));
  ClientOptions v12;
  v12.max_version = TLS1_2_VERSION;
  BOOST_TEST(!TlsExchange(s.port(), Get("/metrics"), v12).handshake);
  BOOST_TEST(TlsExchange(s.port(), Get("/metrics")).version == TLS1_3_VERSION);
  TlsServer capped(TlsBlock("  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"));
  const TlsResult r = TlsExchange(capped.port(), Get("/metrics"));
  BOOST_TEST(r.version == TLS1_2_VERSION);
  BOOST_TEST(r.response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
}

BOOST_AUTO_TEST_CASE(client_certificates_required_and_verified) {
  TlsServer s(TlsBlock("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"));
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    BOOST_TEST_CONTEXT("TLS version " << std::hex << version) {
      ClientOptions none;
      none.min_version = none.max_version = version;
      const TlsResult no_cert = TlsExchange(s.port(), Get("/metrics"), none);
      BOOST_TEST(no_cert.response.empty());  // refused in the handshake (TLS 1.3: at the first read)
      ClientOptions rogue = none;
      rogue.cert = "rogue.crt";
      rogue.key = "rogue.key";
      BOOST_TEST(TlsExchange(s.port(), Get("/metrics"), rogue).response.empty());
      ClientOptions good = none;
      good.cert = "client.crt";
      good.key = "client.key";
      const TlsResult ok = TlsExchange(s.port(), Get("/metrics"), good);
      BOOST_TEST(ok.response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, ok.response.substr(0, 100));
    }
  }
}

BOOST_AUTO_TEST_CASE(basic_auth_over_tls) {
  const std::string hash = BcryptHash("s3cret:with colon");
  TlsServer s(TlsBlock() + "basic_auth_users:\n  prometheus: " + hash +
              "\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n");
  const std::string missing = TlsExchange(s.port(), Get("/metrics")).response;
  BOOST_TEST(missing.rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0, missing);
  BOOST_TEST(missing.find("WWW-Authenticate: Basic realm=\"provledger_exporter\"") != std::string::npos, missing);
  BOOST_TEST(missing.find("provledger_exporter_build_info") == std::string::npos);
  BOOST_TEST(missing.find("X-Frame-Options: deny\r\n") != std::string::npos);
  const std::string wrong = TlsExchange(s.port(), Get("/metrics", BasicHeader("prometheus", "s3cret"))).response;
  BOOST_TEST(wrong.rfind("HTTP/1.1 401 ", 0) == 0, wrong);
  const std::string unknown = TlsExchange(s.port(), Get("/metrics", BasicHeader("alice", "s3cret:with colon"))).response;
  BOOST_TEST(unknown.rfind("HTTP/1.1 401 ", 0) == 0, unknown);
  const std::string garbage = TlsExchange(s.port(), Get("/metrics", "Authorization: Basic !!!!\r\n")).response;
  BOOST_TEST(garbage.rfind("HTTP/1.1 401 ", 0) == 0, garbage);
  for (int i = 0; i < 2; ++i) {  // verified by bcrypt, then from the cache
    const std::string ok = TlsExchange(s.port(), Get("/metrics", BasicHeader("prometheus", "s3cret:with colon"))).response;
    BOOST_TEST(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, ok.substr(0, 100));
    BOOST_TEST(ok.find("provledger_exporter_build_info") != std::string::npos);
    BOOST_TEST(ok.find("X-Frame-Options: deny\r\n") != std::string::npos);
  }
  // The landing page is protected too; the health endpoints are not (probes
  // carry no credentials and they reveal nothing).
  BOOST_TEST(TlsExchange(s.port(), Get("/")).response.rfind("HTTP/1.1 401 ", 0) == 0);
  BOOST_TEST(TlsExchange(s.port(), Get("/-/healthy")).response.rfind("HTTP/1.1 200 ", 0) == 0);
  BOOST_TEST(TlsExchange(s.port(), Get("/-/ready")).response.rfind("HTTP/1.1 200 ", 0) == 0);
}

// A route with own_auth (the evidence API's bearer tokens) is not behind the
// web config's basic auth; other routes still are.
BOOST_AUTO_TEST_CASE(own_auth_routes_skip_basic_auth) {
  auto route = [](const char* path, bool own) {
    Route r;
    r.path = path;
    r.own_auth = own;
    r.handler = [](const Request& req) {
      return http::Response::Text(200, "handler saw " + std::string(req.Header("authorization").value_or("none")));
    };
    return r;
  };
  TlsServer s("basic_auth_users:\n  u: " + BcryptHash("one") + "\n", {route("/own", true), route("/guarded", false)});
  auto plain = [&](const std::string& request) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(s.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
    send(fd, request.data(), request.size(), 0);
    std::string out;
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    close(fd);
    return out;
  };
  const std::string own = plain(Get("/own", "Authorization: Bearer abcdefghijklmnop\r\n"));
  BOOST_TEST(own.rfind("HTTP/1.1 200 ", 0) == 0, own);
  BOOST_TEST(own.find("handler saw Bearer abcdefghijklmnop") != std::string::npos, own);
  BOOST_TEST(plain(Get("/guarded", "Authorization: Bearer abcdefghijklmnop\r\n")).rfind("HTTP/1.1 401 ", 0) == 0);
  BOOST_TEST(plain(Get("/guarded", BasicHeader("u", "one"))).rfind("HTTP/1.1 200 ", 0) == 0);
  BOOST_TEST(plain(Get("/metrics")).rfind("HTTP/1.1 401 ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(basic_auth_without_tls_and_reload) {
  TlsServer s("basic_auth_users:\n  u: " + BcryptHash("one") + "\n");
  BOOST_TEST(!s.server->tls());
  auto plain = [&](const std::string& request) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(s.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
    send(fd, request.data(), request.size(), 0);
    std::string out;
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    close(fd);
    return out;
  };
  BOOST_TEST(plain(Get("/metrics", BasicHeader("u", "one"))).rfind("HTTP/1.1 200 ", 0) == 0);
  BOOST_TEST(plain(Get("/metrics")).rfind("HTTP/1.1 401 ", 0) == 0);
  // SIGHUP: a new password replaces the old one, the cache is not reused.
  Write(s.web_config, "basic_auth_users:\n  u: " + BcryptHash("two") + "\n");
  s.server->ReloadWebConfig();
  BOOST_TEST(plain(Get("/metrics", BasicHeader("u", "one"))).rfind("HTTP/1.1 401 ", 0) == 0);
  BOOST_TEST(plain(Get("/metrics", BasicHeader("u", "two"))).rfind("HTTP/1.1 200 ", 0) == 0);
  // An invalid file on reload is refused with its position; the previous one stays.
  Write(s.web_config, "basic_auth_users:\n  u: plaintext\n");
  try {
    s.server->ReloadWebConfig();
    BOOST_FAIL("reload accepted a plaintext password");
  } catch (const config::ConfigError& e) {
    BOOST_TEST(e.problems().at(0) == s.web_config.string() + ":2:6: basic_auth_users.u: not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters; make one with htpasswd -nBC 10 \"\" | tr -d ':\\n')");
  }
  BOOST_TEST(plain(Get("/metrics", BasicHeader("u", "two"))).rfind("HTTP/1.1 200 ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(web_config_problems_are_positioned) {
  struct Case {
    std::string yaml;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n",
       "w.yml:4:21: client_auth_type: \"Maybe\" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
       "VerifyClientCertIfGiven, RequireAndVerifyClientCert"},
      {"tls_server_config:\n  cert_file: a\n", "w.yml:1:1: tls_server_config: key_file is required"},
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
       "w.yml:4:16: min_version: \"TLS14\" is not one of TLS10, TLS11, TLS12, TLS13"},
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
       "w.yml:4:21: client_auth_type verifies client certificates: client_ca_file is required"},
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
       "w.yml:4:19: cipher_suites: unknown or insecure cipher suite \"TLS_RSA_WITH_RC4_128_SHA\" (Go crypto/tls names)"},
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n",
       "w.yml:1:1: tls_server_config: min_version is above max_version"},
      {"http_server_config:\n  headers:\n    Set-Cookie: x\n",
       "w.yml:3:5: headers: \"Set-Cookie\" may not be set (allowed: Strict-Transport-Security, "
       "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, Content-Security-Policy)"},
      {"basic_auth_users:\n  bob: $2y$10$short\n", "w.yml:2:8: basic_auth_users.bob: not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters; make one with htpasswd -nBC 10 \"\" | tr -d ':\\n')"},
      // A cost-20 hash made loading hang for a minute in crypt (fuzz_web_config).
      {"basic_auth_users:\n  bob: $2y$20$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n",
       "w.yml:2:8: basic_auth_users.bob: bcrypt cost must be 04 to 14 (each verification takes 2^cost rounds; 10 is the usual choice)"},
      {"basic_auth_users:\n  bob: $2y$03$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n",
       "w.yml:2:8: basic_auth_users.bob: bcrypt cost must be 04 to 14 (each verification takes 2^cost rounds; 10 is the usual choice)"},
      {"basic_auth_users:\n  bob: $2y$1x$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n",
       "w.yml:2:8: basic_auth_users.bob: bcrypt cost must be 04 to 14 (each verification takes 2^cost rounds; 10 is the usual choice)"},
      {"tls_config:\n  x: 1\n", "w.yml:1:1: unknown key \"tls_config\" (expected tls_server_config, http_server_config, basic_auth_users)"},
      {"basic_auth_users: [a\n", "w.yml:2:1: YAML syntax error: end of sequence flow not found"},
      {"basic_auth_users: {}\n---\nb: 2\n", "w.yml:2:1: only one YAML document is allowed in a web config file"},
      // yaml-cpp's LoadAll never returned on these (the ramp plan loader's
      // fuzz target found it; the web config loader had the same code).
      {",", "w.yml:1:1: only one YAML document is allowed in a web config file"},
      {",-$h,", "w.yml:1:1: only one YAML document is allowed in a web config file"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.yaml) {
      try {
        ParseWebConfig(c.yaml, "w.yml");
        BOOST_FAIL("accepted");
      } catch (const config::ConfigError& e) {
        BOOST_TEST(e.problems().at(0) == c.problem);
      }
    }
  }
  // An empty file: plain HTTP, no auth.
  const WebConfig empty = ParseWebConfig("", "w.yml");
  BOOST_TEST(!empty.tls);
  BOOST_TEST(empty.basic_auth_users.empty());
}

BOOST_AUTO_TEST_CASE(bad_certificate_files_name_the_file) {
  const Pki& pki = TestPki();
  auto check = [&](const std::string& yaml, const std::string& expect) {
    const fs::path p = pki.dir / "bad.yml";
    Write(p, yaml);
    std::ostringstream out, err;
    BOOST_TEST(CheckWebConfigFile(p.string(), out, err) == 1);
    BOOST_TEST(err.str().find(expect) != std::string::npos, err.str());
    render::Publisher pub;
    HttpOptions o;
    o.listen_address = "127.0.0.1:0";
    o.web_config_file = p.string();
    BOOST_CHECK_THROW(HttpServer(std::move(o), pub), std::exception);
  };
  check(TlsBlock().replace(TlsBlock().find("server.crt"), 10, "nope.crt"), "cert_file \"" + (pki / "nope.crt") + "\"");
  check("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
        "key_file \"" + (pki / "client.key") + "\": error:05800074:x509 certificate routines::key values mismatch");
  const fs::path good = pki.dir / "good.yml";
  Write(good, TlsBlock("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"));
  std::ostringstream out, err;
  BOOST_TEST(CheckWebConfigFile(good.string(), out, err) == 0, err.str());
  BOOST_TEST(out.str() == "web config OK: TLS, 0 basic auth users, 0 headers\n");
}

using Creds = std::pair<std::string, std::string>;

BOOST_AUTO_TEST_CASE(parse_basic_auth_header) {
  BOOST_TEST((ParseBasicAuth("Basic dXNlcjpwYXNz").value() == Creds("user", "pass")));
  BOOST_TEST((ParseBasicAuth("basic dTo6").value() == Creds("u", ":")));
  BOOST_TEST((ParseBasicAuth("Basic dTo=").value() == Creds("u", "")));
  for (const char* bad : {"", "Basic", "Basic ", "Bearer dXNlcjpwYXNz", "Basic dXNlcnBhc3M=", "Basic dXNlcjpwYXN",
                          "Basic d=Nlcjpw", "Basic ====", "Basic dXNlcjpwYXNz=="}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!ParseBasicAuth(bad).has_value()); }
  }
}

}  // namespace
}  // namespace provledger::http
