#include "evidence/keys.hh"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "merkle/merkle.hh"

namespace provledger::evidence {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string Trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

PublicKey RawPublic(EVP_PKEY* k) {
  PublicKey pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(k, pub.data(), &len) != 1 || len != pub.size())
    throw KeyError("cannot read the Ed25519 public key");
  return pub;
}

std::string ReadKeyFile(const std::string& path, bool check_private) {
  return ReadSecretFile(path, check_private ? "private key file" : "key file", check_private, 64 * 1024);
}

}  // namespace

std::string ReadSecretFile(const std::string& path, const std::string& what, bool check_private,
                           std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw KeyError(path + ": cannot open " + what + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw KeyError(path + ": cannot stat " + what + ": " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw KeyError(path + ": " + what + " is not a regular file");
  }
  if (check_private && (st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw KeyError(path + ": " + what + " has mode " + mode +
                   ", readable or writable by group or others; chmod 600 it (refused)");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    throw KeyError(path + ": " + what + " is larger than " + std::to_string(max_bytes / 1024) + " KiB");
  }
  std::string data(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  data.resize(got);
  return data;
}

struct SigningKey::Impl {
  Pkey key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  public_ = RawPublic(impl_->key.get());
}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

SigningKey SigningKey::FromSeed(const std::array<std::uint8_t, 32>& seed) {
  Pkey k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!k) throw KeyError("cannot make an Ed25519 key from the seed");
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(k);
  return SigningKey(std::move(impl));
}

SigningKey SigningKey::Generate() {
  std::array<std::uint8_t, 32> seed{};
  if (RAND_priv_bytes(seed.data(), static_cast<int>(seed.size())) != 1)
    throw KeyError("no randomness for a new key");
  SigningKey k = FromSeed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  return k;
}

SigningKey SigningKey::FromFile(const std::string& path) {
  std::string text = ReadKeyFile(path, true);
  if (text.find("-----BEGIN") != std::string::npos) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    Pkey k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    OPENSSL_cleanse(text.data(), text.size());
    if (!k) throw KeyError(path + ": not a PEM private key (expected PKCS#8 \"BEGIN PRIVATE KEY\", unencrypted)");
    if (EVP_PKEY_id(k.get()) != EVP_PKEY_ED25519) throw KeyError(path + ": the PEM key is not an Ed25519 key");
    auto impl = std::make_unique<Impl>();
    impl->key = std::move(k);
    return SigningKey(std::move(impl));
  }
  std::string hex = Trim(text);
  OPENSSL_cleanse(text.data(), text.size());
  auto bytes = merkle::BytesFromHex(hex);
  OPENSSL_cleanse(hex.data(), hex.size());
  if (!bytes || bytes->size() != 32)
    throw KeyError(path + ": expected a PKCS#8 PEM Ed25519 key or a 32-byte seed as 64 hex digits");
  std::array<std::uint8_t, 32> seed{};
  std::copy(bytes->begin(), bytes->end(), seed.begin());
  OPENSSL_cleanse(bytes->data(), bytes->size());
  SigningKey k = FromSeed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  return k;
}

std::string SigningKey::key_id() const { return KeyId(public_); }

Signature SigningKey::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  Signature sig{};
  std::size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      len != sig.size())
    throw KeyError("Ed25519 signing failed");
  return sig;
}

std::string SigningKey::PrivatePem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw KeyError("cannot encode the private key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string KeyId(const PublicKey& pub) { return merkle::ToHex(merkle::Sha256(std::span<const std::uint8_t>(pub))); }

bool VerifySignature(const PublicKey& pub, std::string_view message, std::string_view signature) {
  if (signature.size() != 64) return false;
  Pkey k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  if (!k) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

PublicKey ParsePublicKey(const std::string& value_or_path) {
  std::string text = Trim(value_or_path);
  if (text.size() != 64 || !merkle::BytesFromHex(text)) text = Trim(ReadKeyFile(value_or_path, false));
  if (text.find("-----BEGIN") != std::string::npos) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    Pkey k(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!k || EVP_PKEY_id(k.get()) != EVP_PKEY_ED25519)
      throw KeyError(value_or_path + ": not an Ed25519 SPKI PEM public key");
    return RawPublic(k.get());
  }
  auto bytes = merkle::BytesFromHex(text);
  if (!bytes || bytes->size() != 32)
    throw KeyError(value_or_path + ": expected an Ed25519 public key as 64 hex digits or an SPKI PEM file");
  PublicKey pub{};
  std::copy(bytes->begin(), bytes->end(), pub.begin());
  return pub;
}

std::string PublicPem(const PublicKey& pub) {
  Pkey k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!k || !bio || PEM_write_bio_PUBKEY(bio.get(), k.get()) != 1) throw KeyError("cannot encode the public key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

void WritePrivateKeyFile(const std::string& path, const SigningKey& key) {
  std::string pem = key.PrivatePem();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    OPENSSL_cleanse(pem.data(), pem.size());
    throw KeyError(path + ": cannot create key file: " + std::strerror(errno) +
                   (errno == EEXIST ? " (refusing to overwrite a key)" : ""));
  }
  ::fchmod(fd, 0600);   // whatever the umask
  std::size_t put = 0;
  bool ok = true;
  while (put < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + put, pem.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    put += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!ok) {
    ::unlink(path.c_str());
    throw KeyError(path + ": cannot write key file: " + std::strerror(errno));
  }
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                       c == '/';
    const bool pad = c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=');
    if (!alnum && !pad) return false;
  }
  std::string buf(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return false;
  std::size_t len = static_cast<std::size_t>(n);
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  buf.resize(len);
  // Canonical: re-encoding gives the same text (no stray bits in padding).
  if (Base64(buf) != text) return false;
  *out = std::move(buf);
  return true;
}

}  // namespace provledger::evidence
