#include "http/web_config.hh"

#include <crypt.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/load.hh"
#include "config/yaml_document.hh"
#include "http/tls.hh"

namespace provledger::http {

namespace {

constexpr std::size_t kMaxWebConfigBytes = 1024 * 1024;

struct Pos {
  int line = 0;
  int col = 0;
};

Pos PosOf(const YAML::Node& n, Pos fallback) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0 || m.column < 0) return fallback;
  return {m.line + 1, m.column + 1};
}

// Go's crypto/tls names -> OpenSSL names (TLS 1.2 and below).
const std::map<std::string_view, std::string_view>& Tls12Suites() {
  static const std::map<std::string_view, std::string_view> m = {
      {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
      {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
      {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
      {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
  };
  return m;
}

const std::set<std::string_view>& Tls13Suites() {
  static const std::set<std::string_view> s = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                               "TLS_CHACHA20_POLY1305_SHA256"};
  return s;
}

// exporter-toolkit allows exactly these response headers.
const std::set<std::string_view>& AllowedHeaders() {
  static const std::set<std::string_view> s = {"Strict-Transport-Security", "X-Content-Type-Options",
                                               "X-Frame-Options", "X-XSS-Protection", "Content-Security-Policy"};
  return s;
}

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  WebConfig Run(const std::string& text) {
    WebConfig cfg;
    cfg.path = file_;
    // Exactly one document, read like the config file: yaml-cpp's LoadAll
    // never returns on "," or ",-$h," (found by fuzz_ramp_plan in the ramp
    // plan loader, which had the same code).
    const config::YamlDocument doc = config::LoadSingleYamlDocument(text, kMaxWebConfigBytes);
    if (!doc.ok) {
      Pos p{doc.line, doc.column};
      if (p.line == 0) p = {1, 1};
      Report(p, doc.message.rfind("only one YAML document", 0) == 0
                    ? "only one YAML document is allowed in a web config file"
                    : doc.message);
      return cfg;
    }
    if (doc.root.IsNull()) return cfg;  // empty file: plain HTTP, no auth
    const YAML::Node root = doc.root;
    if (!root.IsMap()) {
      Report(PosOf(root, {1, 1}), "expected a mapping with tls_server_config, http_server_config, basic_auth_users");
      return cfg;
    }
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      const Pos kp = PosOf(kv.first, {1, 1});
      if (!Once(kp, "", key)) continue;
      if (key == "tls_server_config") {
        LoadTls(kv.second, kp, cfg);
      } else if (key == "http_server_config") {
        LoadHttp(kv.second, kp, cfg);
      } else if (key == "basic_auth_users") {
        LoadUsers(kv.second, kp, cfg);
      } else {
        Report(kp, "unknown key \"" + key + "\" (expected tls_server_config, http_server_config, basic_auth_users)");
      }
    }
    return cfg;
  }

  bool ok() const { return problems_.empty(); }

  std::vector<std::string> Formatted() const {
    auto sorted = problems_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return std::pair(a.first.line, a.first.col) < std::pair(b.first.line, b.first.col);
    });
    std::vector<std::string> out;
    for (const auto& [p, text] : sorted) {
      out.push_back(p.line == 0 ? file_ + ": " + text
                                : file_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": " + text);
    }
    return out;
  }

  void Report(Pos p, std::string text) { problems_.emplace_back(p, std::move(text)); }

 private:
  bool Once(Pos p, const std::string& scope, const std::string& key) {
    if (!seen_.insert(scope + "." + key).second) {
      Report(p, "duplicate key \"" + key + "\"");
      return false;
    }
    return true;
  }

  std::optional<std::string> Str(const YAML::Node& v, Pos kp, const std::string& key) {
    if (!v.IsScalar()) {
      Report(PosOf(v, kp), key + ": expected a string");
      return std::nullopt;
    }
    return v.Scalar();
  }

  std::string Resolve(const std::string& p) const {
    if (p.empty() || p.front() == '/') return p;
    const std::size_t slash = file_.rfind('/');
    return slash == std::string::npos ? p : file_.substr(0, slash + 1) + p;
  }

  std::optional<int> Version(const YAML::Node& v, Pos kp, const std::string& key) {
    const auto s = Str(v, kp, key);
    if (!s) return std::nullopt;
    if (*s == "TLS10") return 0x0301;
    if (*s == "TLS11") return 0x0302;
    if (*s == "TLS12") return 0x0303;
    if (*s == "TLS13") return 0x0304;
    Report(PosOf(v, kp), key + ": \"" + *s + "\" is not one of TLS10, TLS11, TLS12, TLS13");
    return std::nullopt;
  }

  void LoadTls(const YAML::Node& n, Pos kp, WebConfig& cfg) {
    TlsServerConfig tls;
    if (!n.IsMap()) {
      Report(PosOf(n, kp), "tls_server_config: expected a mapping");
      return;
    }
    Pos cert_pos = kp;
    Pos ca_pos = kp;
    Pos auth_pos = kp;
    bool has_key = false;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const Pos p = PosOf(kv.first, kp);
      const Pos vp = PosOf(kv.second, p);
      if (!Once(p, "tls", key)) continue;
      if (key == "cert_file") {
        if (auto s = Str(kv.second, p, key)) tls.cert_file = Resolve(*s);
        cert_pos = vp;
      } else if (key == "key_file") {
        if (auto s = Str(kv.second, p, key)) tls.key_file = Resolve(*s);
        has_key = true;
      } else if (key == "client_ca_file") {
        if (auto s = Str(kv.second, p, key)) tls.client_ca_file = Resolve(*s);
        ca_pos = vp;
      } else if (key == "client_auth_type") {
        auth_pos = vp;
        const auto s = Str(kv.second, p, key);
        if (!s) continue;
        static const std::map<std::string, ClientAuth> kTypes = {
            {"NoClientCert", ClientAuth::kNoClientCert},
            {"RequestClientCert", ClientAuth::kRequestClientCert},
            {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
            {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
            {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert}};
        const auto it = kTypes.find(*s);
        if (it == kTypes.end()) {
          Report(vp, "client_auth_type: \"" + *s +
                         "\" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
                         "VerifyClientCertIfGiven, RequireAndVerifyClientCert");
        } else {
          tls.client_auth = it->second;
        }
      } else if (key == "min_version") {
        if (auto v = Version(kv.second, p, key)) tls.min_version = *v;
      } else if (key == "max_version") {
        if (auto v = Version(kv.second, p, key)) tls.max_version = *v;
      } else if (key == "cipher_suites") {
        if (!kv.second.IsSequence()) {
          Report(vp, "cipher_suites: expected a list of cipher suite names");
          continue;
        }
        for (const auto& item : kv.second) {
          const Pos ip = PosOf(item, vp);
          const auto s = Str(item, ip, "cipher_suites item");
          if (!s) continue;
          const auto it = Tls12Suites().find(*s);
          if (it != Tls12Suites().end()) {
            tls.cipher_suites.emplace_back(it->second);
          } else if (Tls13Suites().count(*s) != 0) {
            tls.tls13_suites.push_back(*s);
          } else {
            Report(ip, "cipher_suites: unknown or insecure cipher suite \"" + *s + "\" (Go crypto/tls names)");
          }
        }
      } else if (key == "prefer_server_cipher_suites") {
        if (!kv.second.IsScalar() || (kv.second.Scalar() != "true" && kv.second.Scalar() != "false")) {
          Report(vp, "prefer_server_cipher_suites: expected true or false");
        }
      } else if (key == "curve_preferences" || key == "cert" || key == "key" || key == "client_allowed_sans") {
        Report(p, key + " is not supported by provledger_exporter (use cert_file, key_file, client_ca_file)");
      } else {
        Report(p, "unknown key \"" + key + "\" in tls_server_config");
      }
    }
    if (tls.cert_file.empty()) Report(cert_pos, "tls_server_config: cert_file is required");
    if (!has_key || tls.key_file.empty()) Report(kp, "tls_server_config: key_file is required");
    const bool verify = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
    if (verify && tls.client_ca_file.empty()) {
      Report(auth_pos, "client_auth_type verifies client certificates: client_ca_file is required");
    }
    if (!verify && !tls.client_ca_file.empty() && tls.client_auth == ClientAuth::kNoClientCert) {
      Report(ca_pos, "client_ca_file is set but client_auth_type is NoClientCert (set client_auth_type)");
    }
    if (tls.min_version > tls.max_version) Report(kp, "tls_server_config: min_version is above max_version");
    cfg.tls = std::move(tls);
  }

  void LoadHttp(const YAML::Node& n, Pos kp, WebConfig& cfg) {
    if (!n.IsMap()) {
      Report(PosOf(n, kp), "http_server_config: expected a mapping");
      return;
    }
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const Pos p = PosOf(kv.first, kp);
      if (!Once(p, "http", key)) continue;
      if (key == "http2") {
        if (!kv.second.IsScalar() || (kv.second.Scalar() != "true" && kv.second.Scalar() != "false")) {
          Report(PosOf(kv.second, p), "http2: expected true or false");
        }
      } else if (key == "headers") {
        if (!kv.second.IsMap()) {
          Report(PosOf(kv.second, p), "headers: expected a mapping of header name to value");
          continue;
        }
        for (const auto& h : kv.second) {
          const std::string name = h.first.Scalar();
          const Pos hp = PosOf(h.first, p);
          if (AllowedHeaders().count(name) == 0) {
            Report(hp, "headers: \"" + name +
                           "\" may not be set (allowed: Strict-Transport-Security, X-Content-Type-Options, "
                           "X-Frame-Options, X-XSS-Protection, Content-Security-Policy)");
            continue;
          }
          const auto v = Str(h.second, hp, name);
          if (!v) continue;
          if (v->find_first_of("\r\n") != std::string::npos || v->find('\0') != std::string::npos) {
            Report(PosOf(h.second, hp), "headers: " + name + ": value contains a line break or NUL");
            continue;
          }
          cfg.headers.emplace_back(name, *v);
        }
      } else {
        Report(p, "unknown key \"" + key + "\" in http_server_config");
      }
    }
  }

  void LoadUsers(const YAML::Node& n, Pos kp, WebConfig& cfg) {
    if (n.IsNull()) return;
    if (!n.IsMap()) {
      Report(PosOf(n, kp), "basic_auth_users: expected a mapping of user name to bcrypt hash");
      return;
    }
    for (const auto& kv : n) {
      const std::string user = kv.first.Scalar();
      const Pos p = PosOf(kv.first, kp);
      if (!Once(p, "users", user)) continue;
      if (user.empty() || user.find(':') != std::string::npos) {
        Report(p, "basic_auth_users: a user name must be non-empty and contain no ':'");
        continue;
      }
      const auto hash = Str(kv.second, p, "basic_auth_users." + user);
      if (!hash) continue;
      const Pos vp = PosOf(kv.second, p);
      const bool bcrypt_form = hash->size() == 60 &&
                               (hash->rfind("$2a$", 0) == 0 || hash->rfind("$2b$", 0) == 0 || hash->rfind("$2y$", 0) == 0);
      if (!bcrypt_form) {
        Report(vp, "basic_auth_users." + user + ": not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters; make one with htpasswd -nBC 10 \"\" | tr -d ':\\n')");
        continue;
      }
      // The cost is checked before libcrypt runs (kMaxBcryptCost says why).
      const int cost = ((*hash)[4] - '0') * 10 + ((*hash)[5] - '0');
      if (!std::isdigit(static_cast<unsigned char>((*hash)[4])) ||
          !std::isdigit(static_cast<unsigned char>((*hash)[5])) || (*hash)[6] != '$' || cost < 4 ||
          cost > kMaxBcryptCost) {
        Report(vp, "basic_auth_users." + user + ": bcrypt cost must be 04 to " +
                       std::to_string(kMaxBcryptCost) +
                       " (each verification takes 2^cost rounds; 10 is the usual choice)");
        continue;
      }
      // libcrypt must understand it (valid salt alphabet).
      auto data = std::make_unique<crypt_data>();
      // crypt_rn (null on failure), not crypt_r: see BasicAuth::Verify.
      const char* out = crypt_rn("", hash->c_str(), data.get(), sizeof(crypt_data));
      if (out == nullptr || out[0] == '*') {
        Report(vp, "basic_auth_users." + user + ": libcrypt cannot use this bcrypt hash (bad cost or salt)");
        continue;
      }
      cfg.basic_auth_users.emplace(user, *hash);
    }
  }

  std::string file_;
  std::vector<std::pair<Pos, std::string>> problems_;
  std::set<std::string> seen_;
};

}  // namespace

WebConfig ParseWebConfig(const std::string& yaml_text, const std::string& filename) {
  Loader loader(filename);
  if (yaml_text.size() > kMaxWebConfigBytes) {
    loader.Report({}, "file is larger than 1 MiB");
    throw config::ConfigError(loader.Formatted());
  }
  WebConfig cfg = loader.Run(yaml_text);
  if (!loader.ok()) throw config::ConfigError(loader.Formatted());
  return cfg;
}

WebConfig LoadWebConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config::ConfigError({path + ": cannot read web config file"});
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxWebConfigBytes) throw config::ConfigError({path + ": file is larger than 1 MiB"});
  }
  return ParseWebConfig(text, path);
}

int CheckWebConfigFile(const std::string& path, std::ostream& out, std::ostream& err) {
  try {
    const WebConfig cfg = LoadWebConfig(path);
    if (cfg.tls) BuildTlsContext(*cfg.tls);
    out << "web config OK: " << (cfg.tls ? "TLS" : "plain HTTP") << ", " << cfg.basic_auth_users.size()
        << " basic auth users, " << cfg.headers.size() << " headers\n";
    return 0;
  } catch (const config::ConfigError& e) {
    for (const auto& p : e.problems()) err << p << "\n";
  } catch (const std::exception& e) {
    err << path << ": " << e.what() << "\n";
  }
  return 1;
}

}  // namespace provledger::http
