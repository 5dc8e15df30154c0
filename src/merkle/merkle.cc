#include "merkle/merkle.hh"

#include <openssl/evp.h>

#include <bit>
#include <cstring>
#include <stdexcept>

namespace provledger::merkle {
namespace {

// SHA-256 fetched once (an implicit fetch on every EVP_Digest call costs
// more than hashing a 65-byte node), and one digest context per thread,
// reused: no allocation per hash.
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (m == nullptr) throw std::runtime_error("SHA-256 is not available from libcrypto");
    return m;
  }();
  return md;
}

EVP_MD_CTX* ThreadCtx() {
  struct Ctx {
    EVP_MD_CTX* p = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(p); }
  };
  thread_local Ctx ctx;
  if (ctx.p == nullptr) throw std::runtime_error("SHA-256: out of memory");
  return ctx.p;
}

Hash Digest(std::initializer_list<std::span<const std::uint8_t>> parts) {
  EVP_MD_CTX* ctx = ThreadCtx();
  Hash out{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) != 1) throw std::runtime_error("SHA-256 failed");
  for (const auto& p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx, p.data(), p.size()) != 1) throw std::runtime_error("SHA-256 failed");
  }
  if (EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size()) throw std::runtime_error("SHA-256 failed");
  return out;
}

std::span<const std::uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

constexpr std::uint8_t kLeafPrefix[1] = {0x00};
constexpr std::uint8_t kNodePrefix[1] = {0x01};

// Largest power of two strictly smaller than n (n > 1).
std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

void Path(const Hash* leaves, std::uint64_t n, std::uint64_t m, std::vector<Hash>& out);

Hash Mth(const Hash* leaves, std::uint64_t n) {
  if (n == 0) return EmptyRoot();
  if (n == 1) return leaves[0];
  const std::uint64_t k = SplitPoint(n);
  return NodeHash(Mth(leaves, k), Mth(leaves + k, n - k));
}

// RFC 6962 2.1.1: PATH(m, D[n]), appended leaf-first.
void Path(const Hash* leaves, std::uint64_t n, std::uint64_t m, std::vector<Hash>& out) {
  if (n <= 1) return;
  const std::uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(leaves, k, m, out);
    out.push_back(Mth(leaves + k, n - k));
  } else {
    Path(leaves + k, n - k, m - k, out);
    out.push_back(Mth(leaves, k));
  }
}

// Fills proofs for leaves [0, n) of this subtree; returns the subtree's root.
Hash AllPaths(const Hash* leaves, std::uint64_t n, std::vector<Hash>* proofs) {
  if (n == 1) return leaves[0];
  const std::uint64_t k = SplitPoint(n);
  const Hash left = AllPaths(leaves, k, proofs);
  const Hash right = AllPaths(leaves + k, n - k, proofs + k);
  for (std::uint64_t i = 0; i < k; ++i) proofs[i].push_back(right);
  for (std::uint64_t i = k; i < n; ++i) proofs[i].push_back(left);
  return NodeHash(left, right);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Hash Sha256(std::string_view bytes) { return Digest({Bytes(bytes)}); }
Hash Sha256(std::span<const std::uint8_t> bytes) { return Digest({bytes}); }

Hash LeafHash(std::string_view leaf_bytes) { return Digest({kLeafPrefix, Bytes(leaf_bytes)}); }
Hash LeafHash(const Hash& leaf_bytes) { return Digest({kLeafPrefix, leaf_bytes}); }
Hash NodeHash(const Hash& left, const Hash& right) { return Digest({kNodePrefix, left, right}); }
Hash EmptyRoot() { return Digest({}); }

Hash RootFromLeafHashes(const std::vector<Hash>& leaf_hashes) {
  return Mth(leaf_hashes.data(), leaf_hashes.size());
}

std::vector<Hash> InclusionProof(const std::vector<Hash>& leaf_hashes, std::uint64_t index) {
  if (index >= leaf_hashes.size()) throw std::out_of_range("inclusion proof: leaf index outside the tree");
  std::vector<Hash> out;
  Path(leaf_hashes.data(), leaf_hashes.size(), index, out);
  return out;
}

std::vector<std::vector<Hash>> AllInclusionProofs(const std::vector<Hash>& leaf_hashes) {
  std::vector<std::vector<Hash>> proofs(leaf_hashes.size());
  if (!leaf_hashes.empty()) AllPaths(leaf_hashes.data(), leaf_hashes.size(), proofs.data());
  return proofs;
}

std::optional<Hash> RootFromInclusionProof(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                                           const std::vector<Hash>& proof, std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<Hash> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  if (index >= size) return fail("leaf index " + std::to_string(index) + " not below tree size " + std::to_string(size));
  // RFC 9162 2.1.3.2, with the proof length fixed by the shape: the inner
  // part where index and size-1 share no prefix, then the right border.
  const std::uint64_t last = size - 1;
  const int inner = 64 - std::countl_zero(index ^ last);
  const int border = std::popcount(index >> inner);
  if (proof.size() != static_cast<std::size_t>(inner + border))
    return fail("audit path has " + std::to_string(proof.size()) + " hashes, a leaf at index " +
                std::to_string(index) + " of a tree of " + std::to_string(size) + " needs " +
                std::to_string(inner + border));
  Hash r = leaf_hash;
  for (int i = 0; i < inner; ++i) {
    r = ((index >> i) & 1) == 0 ? NodeHash(r, proof[static_cast<std::size_t>(i)])
                                 : NodeHash(proof[static_cast<std::size_t>(i)], r);
  }
  for (std::size_t i = static_cast<std::size_t>(inner); i < proof.size(); ++i) r = NodeHash(proof[i], r);
  return r;
}

bool VerifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                     const std::vector<Hash>& proof, const Hash& root, std::string* why) {
  const auto got = RootFromInclusionProof(index, size, leaf_hash, proof, why);
  if (!got) return false;
  if (*got != root) {
    if (why) *why = "audit path leads to " + ToHex(*got) + ", not to the anchor root " + ToHex(root);
    return false;
  }
  return true;
}

std::string ToHex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.resize(bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    s[2 * i] = kDigits[bytes[i] >> 4];
    s[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return s;
}
std::string ToHex(const Hash& h) { return ToHex(std::span<const std::uint8_t>(h)); }

std::optional<std::vector<std::uint8_t>> BytesFromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::optional<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  const auto b = BytesFromHex(hex);
  if (!b) return std::nullopt;
  Hash h{};
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

}  // namespace provledger::merkle
