// Bearer tokens of the evidence export API (docs/evidence.md, "Async API").
//
// Tokens file: one token per line, optionally followed by the tenants it may
// export (whitespace-separated); a token without tenants may export any
// tenant. Blank lines and lines starting with '#' are ignored.
//
//     # token                              tenants (none: all)
//     3f9c1d0e8a7b6c5d4e3f2a1b0c9d8e7f     acme beta
//     admin-2b7e151628aed2a6abf7158809cf4f3c
//
// A token is 16..512 characters of RFC 6750's b64token alphabet
// (A-Z a-z 0-9 - . _ ~ + /, then optional trailing '='). Problems are
// reported as FILE:LINE:COLUMN (config::ConfigError): a bad token, a
// duplicate, no token at all. The file is read once, at start, through
// evidence::ReadSecretFile (no group/other access bits).
//
// Only SHA-256 digests of the tokens are kept; Authenticate hashes the
// presented token and compares it with every stored digest in constant time
// (CRYPTO_memcmp, no early exit), so timing tells nothing about which bytes
// matched.
#pragma once

#include <memory>
#include <mutex>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provledger::evidence_api {

struct Token {
  std::array<std::uint8_t, 32> digest{};   // SHA-256 of the token
  std::vector<std::string> tenants;        // empty: every tenant
  int line = 0;                            // where it was defined (for logs: never the token)
};

class TokenSet {
 public:
  // Throws config::ConfigError with positioned problems.
  static TokenSet Parse(std::string_view text, const std::string& file);
  // ReadSecretFile(path) then Parse. Throws config::ConfigError or evidence::KeyError.
  static TokenSet Load(const std::string& path);

  enum class Outcome {
    kMissing,     // no Authorization header
    kMalformed,   // not "Bearer <b64token>"
    kUnknown,     // well-formed, matches no token
    kOk,
  };
  struct Auth {
    Outcome outcome = Outcome::kMissing;
    const Token* token = nullptr;   // kOk
  };
  Auth Authenticate(std::optional<std::string_view> authorization) const;

  static bool Allows(const Token& token, std::string_view tenant);
  std::size_t size() const { return tokens_.size(); }

 private:
  std::vector<Token> tokens_;
};

// The API's tokens, replaceable while requests run (the exporter re-reads the
// tokens file on SIGHUP): a request authenticates and authorizes against the
// set that was current when it started.
class TokenStore {
 public:
  explicit TokenStore(TokenSet set) : set_(std::make_shared<const TokenSet>(std::move(set))) {}
  std::shared_ptr<const TokenSet> Get() const {
    std::lock_guard lock(mu_);
    return set_;
  }
  void Replace(TokenSet set) {
    auto next = std::make_shared<const TokenSet>(std::move(set));
    std::lock_guard lock(mu_);
    set_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TokenSet> set_;
};

// RFC 6750 b64token syntax (1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=").
bool IsB64Token(std::string_view s);

}  // namespace provledger::evidence_api
