// Deterministic randomness for the simulator: no std:: distributions (their
// output is implementation-defined), only integer mixing and our own
// transforms, so one seed gives the same data with any compiler or libstdc++.
//
// - Mix64 / Unmix-free bijection: the splitmix64 finalizer, a bijection on
//   uint64, used to derive ids that are unique by construction.
// - Rng: xoshiro256** seeded through splitmix64. Not thread-safe; one per
//   stream. Streams are keyed (seed, domain, index) so threads can generate
//   their parts independently and still agree.
// - Hash256: a fast non-cryptographic 256-bit digest rendered as 64 hex chars
//   (looks like sha256; it is not one).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace provledger::sim {

inline constexpr std::uint64_t Mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Key for a (seed, domain, index) triple; distinct triples give distinct
// keys as long as index < 2^48 and domain < 2^16 (Mix64 is a bijection).
inline constexpr std::uint64_t StreamKey(std::uint64_t seed, std::uint64_t domain,
                                         std::uint64_t index) {
  return Mix64(Mix64(seed) ^ ((domain << 48) | (index & 0xffffffffffffULL)));
}

inline constexpr std::uint64_t Rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t z = seed;
    for (auto& w : s_) {
      z += 0x9e3779b97f4a7c15ULL;
      w = Mix64(z);
    }
  }
  Rng(std::uint64_t seed, std::uint64_t domain, std::uint64_t index)
      : Rng(StreamKey(seed, domain, index)) {}

  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // [0, n) for n > 0 (Lemire's multiply-shift; bias < 2^-64 * n, irrelevant here).
  std::uint64_t Below(std::uint64_t n) {
    __extension__ typedef unsigned __int128 U128;
    return static_cast<std::uint64_t>((static_cast<U128>(Next()) * n) >> 64);
  }
  bool Chance(double p) { return Uniform() < p; }
  // Standard normal via Box-Muller (one value per call; simple and portable).
  double Normal() {
    double u1 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // exp(N(mu, sigma)).
  double LogNormal(double mu, double sigma) { return std::exp(mu + sigma * Normal()); }
  // Exponential with the given mean.
  double Exponential(double mean) {
    double u = Uniform();
    if (u < 1e-300) u = 1e-300;
    return -std::log(u) * mean;
  }

 private:
  std::uint64_t s_[4];
};

// Zipf-like weights over ranks 1..n: w(k) = k^-s. Sample returns a rank index
// in [0, n) by inverse CDF (binary search).
class Zipf {
 public:
  Zipf(std::size_t n, double s);
  std::size_t Sample(double u) const;   // u in [0, 1)
  double Probability(std::size_t k) const { return pmf_[k]; }
  std::size_t size() const { return cdf_.size(); }

 private:
  std::vector<double> cdf_;
  std::vector<double> pmf_;
};

// Lowercase hex of the low `digits` nibbles of v, most significant first.
void AppendHex(std::string& out, std::uint64_t v, int digits = 16);

// A fast 256-bit digest of bytes, as 64 lowercase hex characters.
std::string Hash256Hex(std::string_view bytes);
void AppendHash256Hex(std::string& out, std::string_view bytes);

// uuid-looking 8-4-4-4-12 hex from two 64-bit words (all 128 bits kept).
void AppendUuid(std::string& out, std::uint64_t hi, std::uint64_t lo);

}  // namespace provledger::sim
