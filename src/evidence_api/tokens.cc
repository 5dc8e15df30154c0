#include "evidence_api/tokens.hh"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

#include "config/load.hh"
#include "evidence/keys.hh"

namespace provledger::evidence_api {
namespace {

constexpr std::size_t kMinTokenBytes = 16;
constexpr std::size_t kMaxTokenBytes = 512;

std::array<std::uint8_t, 32> Digest(std::string_view s) {
  std::array<std::uint8_t, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

bool IsB64Token(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isalnum(c) == 0 && c != '-' && c != '.' && c != '_' && c != '~' && c != '+' && c != '/') break;
    ++i;
  }
  if (i == 0) return false;
  while (i < s.size() && s[i] == '=') ++i;
  return i == s.size();
}

TokenSet TokenSet::Parse(std::string_view text, const std::string& file) {
  TokenSet set;
  std::vector<std::string> problems;
  auto report = [&](int line, std::size_t col, const std::string& msg) {
    problems.push_back(file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + msg);
  };
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    ++line_no;
    // Fields: [start, end) offsets of whitespace-separated words.
    std::vector<std::pair<std::size_t, std::size_t>> fields;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && IsSpace(line[i])) ++i;
      const std::size_t b = i;
      while (i < line.size() && !IsSpace(line[i])) ++i;
      if (i > b) fields.emplace_back(b, i);
    }
    if (!fields.empty() && line[fields[0].first] != '#') {
      const auto [tb, te] = fields[0];
      const std::string_view tok = line.substr(tb, te - tb);
      if (!IsB64Token(tok)) {
        report(line_no, tb + 1, "not a bearer token (RFC 6750 b64token: A-Z a-z 0-9 - . _ ~ + / and trailing =)");
      } else if (tok.size() < kMinTokenBytes || tok.size() > kMaxTokenBytes) {
        report(line_no, tb + 1, "a token must be " + std::to_string(kMinTokenBytes) + " to " +
                                    std::to_string(kMaxTokenBytes) + " characters long, this one has " +
                                    std::to_string(tok.size()));
      } else {
        Token t;
        t.digest = Digest(tok);
        t.line = line_no;
        for (std::size_t k = 1; k < fields.size(); ++k) {
          const auto [b, e] = fields[k];
          t.tenants.emplace_back(line.substr(b, e - b));
        }
        bool dup = false;
        for (const Token& o : set.tokens_) {
          if (CRYPTO_memcmp(o.digest.data(), t.digest.data(), t.digest.size()) == 0) {
            report(line_no, tb + 1, "the same token is already defined on line " + std::to_string(o.line));
            dup = true;
            break;
          }
        }
        if (!dup) set.tokens_.push_back(std::move(t));
      }
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (problems.empty() && set.tokens_.empty()) problems.push_back(file + ": no token defined (the API would refuse everyone)");
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
  return set;
}

TokenSet TokenSet::Load(const std::string& path) {
  return Parse(evidence::ReadSecretFile(path, "tokens file", true, 1 << 20), path);
}

TokenSet::Auth TokenSet::Authenticate(std::optional<std::string_view> authorization) const {
  Auth a;
  if (!authorization) return a;
  std::string_view v = *authorization;
  // auth-scheme is case-insensitive (RFC 9110 11.1); one or more spaces.
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || v[kScheme.size()] != ' ') {
    a.outcome = Outcome::kMalformed;
    return a;
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) {
      a.outcome = Outcome::kMalformed;
      return a;
    }
  }
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (!IsB64Token(v)) {
    a.outcome = Outcome::kMalformed;
    return a;
  }
  const auto d = Digest(v);
  const Token* match = nullptr;
  for (const Token& t : tokens_) {   // every token, no early exit
    const bool eq = CRYPTO_memcmp(t.digest.data(), d.data(), d.size()) == 0;
    if (eq) match = &t;
  }
  a.outcome = match ? Outcome::kOk : Outcome::kUnknown;
  a.token = match;
  return a;
}

bool TokenSet::Allows(const Token& token, std::string_view tenant) {
  if (token.tenants.empty()) return true;
  for (const auto& t : token.tenants) {
    if (t == tenant) return true;
  }
  return false;
}

}  // namespace provledger::evidence_api
