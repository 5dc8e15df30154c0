// --web.config.file: TLS and basic auth in the Prometheus exporter-toolkit
// format (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md).
//
//   tls_server_config:
//     cert_file: server.crt          # PEM; relative paths are relative to this file
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert   # NoClientCert (default),
//                                   # RequestClientCert, RequireAnyClientCert,
//                                   # VerifyClientCertIfGiven, RequireAndVerifyClientCert
//     client_ca_file: ca.crt       # required by the two Verify* types
//     min_version: TLS12           # TLS10 TLS11 TLS12 (default) TLS13
//     max_version: TLS13           # default TLS13
//     cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ...]  # Go names; TLS 1.2
//                                   # suites restrict TLS <= 1.2, TLS_AES_* names TLS 1.3
//     prefer_server_cipher_suites: true   # accepted
//   http_server_config:
//     http2: false                 # accepted; the server speaks HTTP/1.1 only
//     headers: {Strict-Transport-Security: max-age=31536000, ...}
//   basic_auth_users:
//     alice: $2y$10$...            # bcrypt hashes only
//
// Problems are reported all at once as "FILE:LINE:COLUMN: message" (the
// config loader's style, config::ConfigError). The certificate and key files
// are read when the TLS context is built (http/tls.hh), which also reports
// problems naming the file.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace provledger::http {

enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

struct TlsServerConfig {
  std::string cert_file;       // resolved against the web config's directory
  std::string key_file;
  std::string client_ca_file;  // empty: none
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  int min_version = 0x0303;  // TLS1_2_VERSION
  int max_version = 0x0304;  // TLS1_3_VERSION
  std::vector<std::string> cipher_suites;  // OpenSSL names, TLS <= 1.2
  std::vector<std::string> tls13_suites;   // OpenSSL names, TLS 1.3
};

// Highest bcrypt cost accepted in basic_auth_users. A verification takes
// 2^cost rounds (cost 10: 50-100 ms; each step doubles it, so 14 is about a
// second and 20 about a minute): it runs once per user when the file is
// loaded, once per reload for a good password (cached), and for every failed
// attempt. Higher costs made loading the file hang (found by fuzz_web_config).
inline constexpr int kMaxBcryptCost = 14;

struct WebConfig {
  std::string path;
  std::optional<TlsServerConfig> tls;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  std::vector<std::pair<std::string, std::string>> headers;
};

// Throws config::ConfigError (every problem, positioned).
WebConfig ParseWebConfig(const std::string& yaml_text, const std::string& filename);
WebConfig LoadWebConfig(const std::string& path);

// Loads the file and builds its TLS context (reading the certificate files)
// and checks its bcrypt hashes: prints "web config OK: ..." to `out` and
// returns 0, or every problem to `err` and returns 1.
int CheckWebConfigFile(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace provledger::http
