// HTTP basic auth against bcrypt hashes (web config basic_auth_users).
//
// bcrypt costs ~50-300 ms of CPU per check (cost 10-12), so it never runs on
// the event loop: Check() answers from the header alone (no header, malformed
// header, unknown user, or a credential verified before) and says
// kNeedsVerify otherwise; Verify() runs crypt_r on a handler thread.
// A successful verification is cached as SHA-256(user, password, hash) (at
// most 256 entries, cleared on reload), so a scraper that sends the same
// credentials pays bcrypt once per reload, and a cache hit is compared in
// constant time. Failures are never cached (the cache cannot be filled by
// wrong guesses), and an unknown user runs bcrypt against a fixed hash too,
// so timing does not tell which user names exist.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace provledger::http {

// "Basic dXNlcjpwYXNz" -> {"user", "pass"}; nullopt when not Basic or not
// valid base64 or no ':'.
std::optional<std::pair<std::string, std::string>> ParseBasicAuth(std::string_view authorization);

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);

  enum class Result { kOk, kDenied, kNeedsVerify };
  bool enabled() const { return !users_.empty(); }
  // Thread-safe.
  Result Check(std::optional<std::string_view> authorization_header) const;
  // Runs bcrypt (slow); caches a success. Thread-safe.
  bool Verify(std::string_view authorization_header) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest Key(std::string_view user, std::string_view password, std::string_view hash);
  bool Cached(const Digest& key) const;

  std::map<std::string, std::string> users_;
  mutable std::mutex mu_;
  mutable std::set<Digest> verified_;
};

}  // namespace provledger::http
