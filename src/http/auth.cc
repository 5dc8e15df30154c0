#include "http/auth.hh"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

namespace provledger::http {

namespace {

constexpr std::size_t kMaxCached = 256;
// bcrypt of a random string, cost 10: the work an unknown user costs too.
constexpr const char* kDummyHash = "$2y$10$k7Y5lKQ3V6Jf8y0yQm7qUuVw88qLWK3wiXRWHTbCY0xOU5nHJvQvi";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + static_cast<std::size_t>(k)];
      if (c == '=') {
        if (i + 4 != in.size() || k < 2) return std::nullopt;
        v[k] = 0;
        ++pad;
      } else {
        if (pad != 0) return std::nullopt;
        v[k] = Base64Value(c);
        if (v[k] < 0) return std::nullopt;
      }
    }
    const unsigned triple = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                            (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out.push_back(static_cast<char>((triple >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((triple >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(triple & 0xff));
  }
  return out;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> ParseBasicAuth(std::string_view h) {
  if (h.size() < 6) return std::nullopt;
  static constexpr std::string_view kBasic = "basic ";
  for (std::size_t i = 0; i < kBasic.size(); ++i) {
    const char c = h[i] >= 'A' && h[i] <= 'Z' ? static_cast<char>(h[i] - 'A' + 'a') : h[i];
    if (c != kBasic[i]) return std::nullopt;
  }
  std::string_view b64 = h.substr(kBasic.size());
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  const auto decoded = Base64Decode(b64);
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}

BasicAuth::Digest BasicAuth::Key(std::string_view user, std::string_view password, std::string_view hash) {
  Digest d{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  // Length-prefixed parts: "ab"+"c" and "a"+"bc" differ.
  for (std::string_view part : {user, password, hash}) {
    const std::uint64_t n = part.size();
    EVP_DigestUpdate(ctx, &n, sizeof n);
    EVP_DigestUpdate(ctx, part.data(), part.size());
  }
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, d.data(), &len);
  EVP_MD_CTX_free(ctx);
  return d;
}

bool BasicAuth::Cached(const Digest& key) const {
  std::lock_guard lock(mu_);
  // Constant time per entry; the set is small.
  bool found = false;
  for (const Digest& d : verified_) found |= CRYPTO_memcmp(d.data(), key.data(), key.size()) == 0;
  return found;
}

BasicAuth::Result BasicAuth::Check(std::optional<std::string_view> header) const {
  if (!enabled()) return Result::kOk;
  if (!header) return Result::kDenied;
  const auto creds = ParseBasicAuth(*header);
  if (!creds) return Result::kDenied;
  const auto it = users_.find(creds->first);
  if (it != users_.end() && Cached(Key(creds->first, creds->second, it->second))) return Result::kOk;
  return Result::kNeedsVerify;
}

bool BasicAuth::Verify(std::string_view header) const {
  const auto creds = ParseBasicAuth(header);
  if (!creds) return false;
  const auto it = users_.find(creds->first);
  const std::string& hash = it != users_.end() ? it->second : std::string(kDummyHash);
  auto data = std::make_unique<crypt_data>();
  // crypt_rn, not crypt_r: it returns null on failure (never a "*0" token), and
  // GCC 12's AddressSanitizer intercepts crypt_r with a null real function
  // under libxcrypt (a SEGV at pc 0 in scripts/test's asan part).
  const char* out = crypt_rn(creds->second.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  const bool match = out != nullptr && std::string_view(out).size() == hash.size() &&
                     CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  if (!match || it == users_.end()) return false;
  std::lock_guard lock(mu_);
  if (verified_.size() >= kMaxCached) verified_.clear();
  verified_.insert(Key(creds->first, creds->second, hash));
  return true;
}

}  // namespace provledger::http
