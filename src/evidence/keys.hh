// Ed25519 signing keys for evidence bundles (OpenSSL libcrypto).
// Private keys come only from files: PKCS#8 PEM (`openssl genpkey -algorithm
// ed25519`) or the 32-byte seed in hex (64 digits, surrounding whitespace
// ignored). A key file readable or writable by group or others is refused.
// Key id = lower-case hex SHA-256 of the raw 32-byte public key.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace provledger::evidence {

struct KeyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

class SigningKey {
 public:
  // Reads and checks the file (mode, format); throws KeyError with the path.
  static SigningKey FromFile(const std::string& path);
  static SigningKey Generate();
  static SigningKey FromSeed(const std::array<std::uint8_t, 32>& seed);
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  const PublicKey& public_key() const { return public_; }
  std::string key_id() const;
  Signature Sign(std::string_view message) const;
  // PKCS#8 PEM of the private key (what keygen writes).
  std::string PrivatePem() const;

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  PublicKey public_{};
};

std::string KeyId(const PublicKey& pub);

// Reads a small secret file (a key, the API's bearer tokens) through an fd
// opened with O_NOFOLLOW, checking on that fd that it is a regular file of at
// most `max_bytes` and, with `check_private`, that group and others have no
// access bits (mode & 077 == 0). Throws KeyError naming `path` and `what`.
std::string ReadSecretFile(const std::string& path, const std::string& what, bool check_private,
                           std::size_t max_bytes);
bool VerifySignature(const PublicKey& pub, std::string_view message, std::string_view signature);
// A public key given as 64 hex digits, or a file holding either that or an
// SPKI PEM ("-----BEGIN PUBLIC KEY-----"). Throws KeyError.
PublicKey ParsePublicKey(const std::string& value_or_path);
std::string PublicPem(const PublicKey& pub);

// Writes the private key file with mode 0600; refuses to overwrite.
void WritePrivateKeyFile(const std::string& path, const SigningKey& key);

// Standard base64 with padding (DSSE, in-toto); decode is strict.
std::string Base64(std::string_view bytes);
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace provledger::evidence
