#include "rand.hh"

#include <algorithm>
#include <cstring>

namespace provledger::sim {

Zipf::Zipf(std::size_t n, double s) : cdf_(n), pmf_(n) {
  double total = 0;
  for (std::size_t k = 0; k < n; ++k) total += std::pow(static_cast<double>(k + 1), -s);
  double acc = 0;
  for (std::size_t k = 0; k < n; ++k) {
    pmf_[k] = std::pow(static_cast<double>(k + 1), -s) / total;
    acc += pmf_[k];
    cdf_[k] = acc;
  }
  if (n > 0) cdf_[n - 1] = 1.0;  // absorb rounding so every u < 1 maps to a rank
}

std::size_t Zipf::Sample(double u) const {
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  if (it == cdf_.end()) return cdf_.size() - 1;
  return static_cast<std::size_t>(it - cdf_.begin());
}

namespace {
constexpr char kHex[] = "0123456789abcdef";
}

void AppendHex(std::string& out, std::uint64_t v, int digits) {
  char buf[16];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = kHex[v & 0xf];
    v >>= 4;
  }
  out.append(buf, static_cast<std::size_t>(digits));
}

void AppendHash256Hex(std::string& out, std::string_view bytes) {
  // Four independent lanes over 8-byte words, then a cross-lane finalization.
  // Deterministic and byte-order independent (words are assembled explicitly).
  std::uint64_t lane[4] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL,
                           0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL};
  const std::size_t n = bytes.size();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  std::size_t w = 0;
  for (; i + 8 <= n; i += 8, ++w) {
    std::uint64_t word = 0;
    for (int b = 7; b >= 0; --b) word = (word << 8) | p[i + static_cast<std::size_t>(b)];
    std::uint64_t& l = lane[w & 3];
    l = Rotl(l ^ (word * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
  }
  std::uint64_t tail = 0;
  for (std::size_t b = n; b > i; --b) tail = (tail << 8) | p[b - 1];
  lane[w & 3] ^= Mix64(tail ^ 0xff51afd7ed558ccdULL);
  const std::uint64_t len = static_cast<std::uint64_t>(n);
  std::uint64_t h[4];
  for (int k = 0; k < 4; ++k) {
    h[k] = Mix64(lane[k] ^ Rotl(lane[(k + 1) & 3], 17) ^ (len * 0x9e3779b97f4a7c15ULL) ^
                 static_cast<std::uint64_t>(k));
  }
  for (int k = 0; k < 4; ++k) {
    AppendHex(out, Mix64(h[k] + Rotl(h[(k + 2) & 3], 23) + static_cast<std::uint64_t>(k)));
  }
}

std::string Hash256Hex(std::string_view bytes) {
  std::string s;
  s.reserve(64);
  AppendHash256Hex(s, bytes);
  return s;
}

void AppendUuid(std::string& out, std::uint64_t hi, std::uint64_t lo) {
  // No version/variant bits forced: hi stays a bijective image of the index,
  // which keeps ids unique by construction.
  AppendHex(out, hi >> 32, 8);
  out.push_back('-');
  AppendHex(out, (hi >> 16) & 0xffff, 4);
  out.push_back('-');
  AppendHex(out, hi & 0xffff, 4);
  out.push_back('-');
  AppendHex(out, lo >> 48, 4);
  out.push_back('-');
  AppendHex(out, lo & 0xffffffffffffULL, 12);
}

}  // namespace provledger::sim
