#include "evidence/cli.hh"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "build_info.hh"
#include "config/load.hh"
#include "evidence/bundle.hh"
#include "evidence/collect.hh"
#include "evidence/export.hh"
#include "evidence/keys.hh"
#include "evidence/verify.hh"
#include "evidence/zip.hh"
#include "merkle/merkle.hh"
#include "pq/error.hh"
#include "receipt/receipt.hh"

namespace provledger::evidence {
namespace {

constexpr const char* kUsage =
    "Usage: provledger_evidence keygen --out=KEY_FILE [--public-out=PUB_PEM]\n"
    "  or:  provledger_evidence export --config.file=FILE --tenant=T (--op-id=ID ... | --from=TIME --to=TIME) "
    "--key-file=KEY_FILE --out=BUNDLE.zip [--max-ops=N]\n"
    "  or:  provledger_evidence verify BUNDLE.zip --public-key=HEX_OR_FILE [--public-key=...] [--quiet]\n"
    "\n"
    "Builds signed audit bundles (receipts, inclusion proofs, spans and outcomes of a\n"
    "tenant's operations) from the ledgers in the exporter's config, and verifies them\n"
    "offline. Reference: docs/evidence.md.\n"
    "\n"
    "Commands:\n"
    "  keygen        write a new Ed25519 signing key to KEY_FILE; print its public key\n"
    "  export        write the bundle of the given operations (or time range) to BUNDLE.zip\n"
    "  verify        check every signature, hash and proof of BUNDLE.zip\n"
    "\n"
    "Options:\n"
    "  --out=FILE            keygen: the private key file; export: the bundle\n"
    "  --public-out=FILE     keygen: also write the public key as PEM\n"
    "  --config.file=FILE    export: the exporter's configuration file\n"
    "  --tenant=T            export: the tenant\n"
    "  --op-id=ID            export: an operation (repeatable)\n"
    "  --from=TIME, --to=TIME  export: the operations with a span or receipt in [from, to)\n"
    "  --key-file=FILE       export: the signing key (keys come from files only)\n"
    "  --max-ops=N           export: fail when the query selects more than N operations\n"
    "  --public-key=KEY      verify: a trusted public key, hex or PEM file (repeatable)\n"
    "  --quiet               verify: print only what is not ok\n"
    "  --version             print the version\n"
    "  -h, --help            this text\n"
    "\n"
    "TIME: Unix seconds or RFC 3339 UTC (2026-12-04T10:00:00Z).\n"
    "\n"
    "Exit status: 0 ok, 1 failure, 2 usage, 3 (verify) nothing failed but some step unproven.\n";

struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> flags;
  std::string error;
  std::vector<std::string> All(const std::string& k) const {
    std::vector<std::string> v;
    for (const auto& [n, val] : flags)
      if (n == k) v.push_back(val);
    return v;
  }
  std::string One(const std::string& k) const {
    auto v = All(k);
    return v.empty() ? "" : v.back();
  }
  bool Has(const std::string& k) const { return !All(k).empty(); }
};

Args Parse(const std::vector<std::string>& args, std::size_t from, const std::vector<std::string>& known) {
  Args a;
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s.rfind("--", 0) != 0) {
      a.positional.push_back(s);
      continue;
    }
    const auto eq = s.find('=');
    std::string name = s.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string value;
    bool flag_only = name == "quiet";
    if (eq != std::string::npos) {
      value = s.substr(eq + 1);
    } else if (!flag_only) {
      if (i + 1 >= args.size()) {
        a.error = "--" + name + " needs a value";
        return a;
      }
      value = args[++i];
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      a.error = "unknown flag --" + name +
                (name == "key_hex" || name == "key-hex" || name == "key"
                     ? " (private keys are read from a file only: --key-file)"
                     : "");
      return a;
    }
    a.flags.emplace_back(name, value);
  }
  return a;
}

// The body -> content hash definition of receipts v2 (src/receipt): SHA-256
// of the RFC 8785 canonical form; nullopt when the body is not accepted JSON.
BodyHasher ContentHasher() {
  return [](const std::string& body) -> std::optional<std::string> {
    auto h = receipt::ContentHash(body);
    if (!h) return std::nullopt;
    return std::move(h.value());
  };
}

Micros WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Keygen(const Args& a, std::ostream& out, std::ostream& err) {
  const std::string path = a.One("out");
  if (path.empty() || !a.positional.empty()) {
    err << "keygen: --out=KEY_FILE is required\n" << kUsage;
    return 2;
  }
  const SigningKey key = SigningKey::Generate();
  WritePrivateKeyFile(path, key);
  const std::string pub_out = a.One("public-out");
  if (!pub_out.empty()) {
    FILE* f = std::fopen(pub_out.c_str(), "wx");
    if (f == nullptr) {
      err << pub_out << ": cannot create public key file (exists?)\n";
      return 1;
    }
    const std::string pem = PublicPem(key.public_key());
    std::fwrite(pem.data(), 1, pem.size(), f);
    std::fclose(f);
  }
  nlohmann::json j{{"key_file", path},
                   {"public_key", merkle::ToHex(std::span<const std::uint8_t>(key.public_key()))},
                   {"key_id", key.key_id()}};
  if (!pub_out.empty()) j["public_key_file"] = pub_out;
  out << j.dump() << "\n";
  return 0;
}

int Export(const Args& a, std::ostream& out, std::ostream& err) {
  const std::string cfg_path = a.One("config.file"), tenant = a.One("tenant"), key_path = a.One("key-file"),
                    out_path = a.One("out");
  if (cfg_path.empty() || tenant.empty() || key_path.empty() || out_path.empty() || !a.positional.empty()) {
    err << "export: --config.file, --tenant, --key-file and --out are required\n" << kUsage;
    return 2;
  }
  Query q;
  q.tenant = tenant;
  q.op_ids = a.All("op-id");
  if (a.Has("from") || a.Has("to")) {
    long long from = 0, to = 0;
    if (!q.op_ids.empty() || !ParseTime(a.One("from"), &from) || !ParseTime(a.One("to"), &to) || from >= to) {
      err << "export: give either --op-id=... or both --from and --to (from < to; Unix seconds or RFC 3339 UTC)\n";
      return 2;
    }
    q.from = from;
    q.to = to;
  } else if (q.op_ids.empty()) {
    err << "export: give --op-id=ID (repeatable) or --from and --to\n" << kUsage;
    return 2;
  }
  CollectOptions opt;
  if (a.Has("max-ops")) {
    try {
      opt.max_operations = std::stoul(a.One("max-ops"));
    } catch (...) {
      err << "export: --max-ops must be a positive integer\n";
      return 2;
    }
  }
  // The key first: a bad key file fails before any database work.
  const SigningKey key = SigningKey::FromFile(key_path);
  const config::Config cfg = config::LoadConfig(cfg_path);
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  if (tty) {
    opt.progress = [&](const std::string& phase, std::size_t done, std::size_t total) {
      if (phase == "writing bundle") {
        err << "\r[writing bundle]\x1b[K" << std::flush;
        return;
      }
      const int width = 30;
      const int filled = total == 0 ? width : static_cast<int>(width * done / total);
      err << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
          << std::string(static_cast<std::size_t>(width - filled), ' ') << "] " << done << "/" << total << " "
          << phase << "\x1b[K" << std::flush;
    };
  }
  const auto t0 = std::chrono::steady_clock::now();
  const ExportSummary s = ExportBundle(cfg, q, key, out_path, WallNow(), opt);
  if (tty) err << "\r\x1b[K" << std::flush;
  for (const auto& w : s.warnings) err << "warning: " << w << "\n";
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json j{{"out", out_path},          {"tenant", tenant},   {"operations", s.operations},
                   {"receipts", s.receipts},   {"inclusion_proofs", s.inclusion_proofs}, {"outcomes", s.outcomes},
                   {"files", s.files},         {"key_id", key.key_id()},      {"warnings", s.warnings},
                   {"seconds", secs}};
  out << j.dump() << "\n";
  return 0;
}

int Verify(const Args& a, std::ostream& out, std::ostream& err) {
  if (a.positional.size() != 1 || !a.Has("public-key")) {
    err << "verify: one BUNDLE.zip and at least one --public-key are required\n" << kUsage;
    return 2;
  }
  std::vector<PublicKey> keys;
  for (const auto& k : a.All("public-key")) keys.push_back(ParsePublicKey(k));
  std::vector<ZipEntry> entries;
  try {
    entries = ReadZip(a.positional[0]);
  } catch (const ZipError& e) {
    out << "FAIL bundle: " << e.what() << "\n";
    out << "summary: 0 ok, 1 failed, 0 unproven, 0 masked\n";
    return 1;
  }
  const VerifyReport rep = VerifyBundle(entries, keys, ContentHasher());
  const bool quiet = a.Has("quiet");
  for (const auto& f : rep.findings) {
    if (quiet && f.verdict == Verdict::kOk) continue;
    out << VerdictName(f.verdict) << " " << f.subject << ": " << f.detail << "\n";
  }
  out << "summary: " << rep.count(Verdict::kOk) << " ok, " << rep.count(Verdict::kFail) << " failed, "
      << rep.count(Verdict::kUnproven) << " unproven, " << rep.count(Verdict::kMasked) << " masked\n";
  return rep.exit_code();
}

}  // namespace

bool ParseTime(const std::string& text, long long* us) {
  if (text.empty()) return false;
  std::size_t pos = 0;
  if (text.find_first_not_of("0123456789.") == std::string::npos) {
    try {
      const double v = std::stod(text, &pos);
      if (pos != text.size()) return false;
      *us = static_cast<long long>(v * 1e6 + (v >= 0 ? 0.5 : -0.5));
      return true;
    } catch (...) {
      return false;
    }
  }
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  long long frac = 0;
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    long long scale = 100000;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) {
      frac += (rest[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    rest = rest.substr(i);
  }
  if (rest != "Z") return false;
  const time_t t = timegm(&tm);
  *us = static_cast<long long>(t) * 1000000 + frac;
  return true;
}

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() < 2 || args[1] == "-h" || args[1] == "--help") {
    (args.size() < 2 ? err : out) << kUsage;
    return args.size() < 2 ? 2 : 0;
  }
  if (args[1] == "--version") {
    out << "provledger_evidence " << PROVLEDGER_VERSION << " (revision " << PROVLEDGER_REVISION << ")\n";
    return 0;
  }
  const std::string cmd = args[1];
  std::vector<std::string> known;
  if (cmd == "keygen") known = {"out", "public-out"};
  else if (cmd == "export") known = {"config.file", "tenant", "op-id", "from", "to", "key-file", "out", "max-ops"};
  else if (cmd == "verify") known = {"public-key", "quiet"};
  else {
    err << "unknown command " << cmd << "\n" << kUsage;
    return 2;
  }
  const Args a = Parse(args, 2, known);
  if (!a.error.empty()) {
    err << cmd << ": " << a.error << "\n";
    return 2;
  }
  try {
    if (cmd == "keygen") return Keygen(a, out, err);
    if (cmd == "export") return Export(a, out, err);
    return Verify(a, out, err);
  } catch (const config::ConfigError& e) {
    for (const auto& p : e.problems()) err << p << "\n";
  } catch (const KeyError& e) {
    err << cmd << ": " << e.what() << "\n";
  } catch (const CollectError& e) {
    err << cmd << ": " << e.what() << "\n";
  } catch (const ZipError& e) {
    err << cmd << ": " << e.what() << "\n";
  } catch (const std::exception& e) {
    err << cmd << ": " << e.what() << "\n";
  }
  return 1;
}

}  // namespace provledger::evidence
