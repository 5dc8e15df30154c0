// decode_bench: decode::DecodeReceipt over N in-memory receipts, for
// before/after comparisons of the receipt decoder (issue 5).
//
// The receipts look like what the exporter reads from PostgreSQL for rows the
// simulator (tools/sim/model.cc FillOp) writes: a jsonb body rendered by
// `body::text` (keys sorted by length then bytes, ", " and ": " separators),
// the simulator's id shapes (UUID receipt_id, "op-" + 16 hex, "tenant-NNNN",
// "kid-<region>-N", "p-YYYY.MM", 64-hex content hash).
//
// Usage: decode_bench [--receipts N] [--reps R] [--v1-pct P] [--seed S]
// Output: one JSON object on stdout: receipts, reps, ok (decoded without
// error, must equal receipts*reps), ns_per_receipt (best rep).
//
// Instruction counts: the decode loop is DecodeAllReceipts(), so
//   valgrind --tool=callgrind --toggle-collect='*DecodeAllReceipts*' decode_bench ...
// counts only the decoding; divide the total Ir by receipts*reps.
//
// Build (release libs of a meson build dir B):
//   c++ -std=c++20 -O2 -g -I src -I B bench/tools/decode_bench.cc -o B/bench/decode_bench
//       B/src/decode/libdecode.a B/src/core/libcore.a       (one line)
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "decode/decode.hh"

namespace {

using provledger::decode::DecodeReceipt;
using provledger::decode::Field;
using provledger::decode::Limits;
using provledger::decode::ReceiptColumns;

// splitmix64: deterministic, platform-independent.
struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }
};

void AppendHex(std::string& out, std::uint64_t v, int digits = 16) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 0xF]);
}

struct Row {
  std::string receipt_id, tenant, op_id, region, policy_version, kid, version, body,
      content_hash, created;
  ReceiptColumns Cols() const {
    auto f = [](const std::string& s) { return Field{s, false}; };
    return {f(receipt_id), f(tenant),  f(op_id), f(region),       f(policy_version),
            f(kid),        f(version), f(body),  f(content_hash), f(created)};
  }
};

// `"key": "value"` as jsonb::text writes it (the values here need no escapes).
void Str(std::string& b, const char* key, std::string_view v) {
  b += '"';
  b += key;
  b += "\": \"";
  b += v;
  b += '"';
}

Row MakeRow(Rng& rng, bool v2) {
  static const char* kRegions[] = {"eu-west", "eu-central", "us-east", "us-west", "ap-south", "uk-south"};
  static const char* kCurrency[] = {"EUR", "EUR", "USD", "USD", "JPY", "GBP"};
  static const char* kActions[][2] = {
      {"orders.create", "orders"},        {"orders.refund", "orders"},   {"payments.authorize", "payments"},
      {"payments.capture", "payments"},   {"kyc.verify", "kyc"},         {"documents.sign", "documents"},
      {"accounts.update", "accounts"},    {"exports.create", "exports"}, {"accounts.close", "accounts"},
      {"documents.archive", "documents"}};
  static const char* kPolicies[] = {"p-2026.09", "p-2026.10", "p-2026.11"};
  Row r;
  const std::size_t reg = rng.Below(6);
  r.region = kRegions[reg];
  const std::uint64_t a = rng.Next(), b = rng.Next();
  AppendHex(r.receipt_id, a >> 32, 8);
  r.receipt_id += '-';
  AppendHex(r.receipt_id, (a >> 16) & 0xFFFF, 4);
  r.receipt_id += "-4";
  AppendHex(r.receipt_id, a & 0xFFF, 3);
  r.receipt_id += '-';
  AppendHex(r.receipt_id, 0x8000 | (b >> 48 & 0x3FFF), 4);
  r.receipt_id += '-';
  AppendHex(r.receipt_id, b & 0xFFFFFFFFFFFFULL, 12);
  char buf[64];
  std::snprintf(buf, sizeof buf, "tenant-%04u", static_cast<unsigned>(1 + rng.Below(2000)));
  r.tenant = buf;
  r.op_id = "op-";
  AppendHex(r.op_id, rng.Next());
  r.policy_version = kPolicies[rng.Below(3)];
  r.kid = "kid-" + r.region + "-" + std::to_string(1 + rng.Below(9));
  r.version = v2 ? "2" : "1";
  for (int i = 0; i < 4; ++i) AppendHex(r.content_hash, rng.Next());
  r.created = std::to_string(1795000000000000LL + static_cast<long long>(rng.Below(86400000000ULL)));
  const auto& act = kActions[rng.Below(10)];
  const std::string actor = "user-" + std::to_string(rng.Below(100000));
  std::string resource = std::string(act[1]) + "/";
  AppendHex(resource, rng.Next(), 12);
  const double du = static_cast<double>(rng.Below(1000)) / 1000.0;
  const char* decision = du < 0.95 ? "allow" : (du < 0.99 ? "deny" : "review");
  const std::string amount = std::to_string(100 + rng.Below(250000));
  std::string& s = r.body;
  if (v2) {
    // jsonb key order: by length, then bytes.
    s += '{';
    Str(s, "kid", r.kid);                   s += ", ";
    Str(s, "actor", actor);                 s += ", ";
    Str(s, "op_id", r.op_id);               s += ", ";
    Str(s, "action", act[0]);               s += ", ";
    Str(s, "region", r.region);             s += ", ";
    Str(s, "schema", "provledger.receipt/v2"); s += ", ";
    s += "\"payload\": {";
    Str(s, "currency", kCurrency[reg]);
    s += ", \"amount_cents\": " + amount + "}, ";
    Str(s, "decision", decision);           s += ", ";
    Str(s, "resource", resource);           s += ", ";
    Str(s, "tenant_id", r.tenant);          s += ", ";
    Str(s, "receipt_id", r.receipt_id);     s += ", ";
    Str(s, "policy_version", r.policy_version);
    s += '}';
  } else {
    s += '{';
    Str(s, "op", r.op_id);                  s += ", ";
    Str(s, "actor", actor);                 s += ", ";
    s += "\"amount\": " + amount + ", ";
    Str(s, "action", act[0]);               s += ", ";
    Str(s, "policy", r.policy_version);     s += ", ";
    Str(s, "tenant", r.tenant);             s += ", ";
    Str(s, "decision", decision);           s += ", ";
    Str(s, "resource", resource);
    s += '}';
  }
  return r;
}

// The measured loop; kept out of line so callgrind can toggle on it.
__attribute__((noinline)) std::size_t DecodeAllReceipts(const std::vector<ReceiptColumns>& cols,
                                                        const Limits& limits) {
  std::size_t ok = 0;
  for (const ReceiptColumns& c : cols) {
    auto d = DecodeReceipt(c, limits);
    if (d.ok()) {
      ++ok;
    } else if (ok == 0) {
      std::fprintf(stderr, "decode_bench: first error: %s\n", d.error().c_str());
    }
  }
  return ok;
}

long ArgL(int argc, char** argv, const char* name, long def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
  }
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = ArgL(argc, argv, "--receipts", 100000);
  const long reps = ArgL(argc, argv, "--reps", 5);
  const long v1_pct = ArgL(argc, argv, "--v1-pct", 0);
  Rng rng{static_cast<std::uint64_t>(ArgL(argc, argv, "--seed", 42))};
  if (n <= 0 || reps <= 0 || v1_pct < 0 || v1_pct > 100) {
    std::fprintf(stderr, "usage: decode_bench [--receipts N] [--reps R] [--v1-pct P] [--seed S]\n");
    return 2;
  }
  std::vector<Row> rows;
  rows.reserve(static_cast<std::size_t>(n));
  std::size_t body_bytes = 0;
  for (long i = 0; i < n; ++i) {
    rows.push_back(MakeRow(rng, static_cast<long>(rng.Below(100)) >= v1_pct));
    body_bytes += rows.back().body.size();
  }
  std::vector<ReceiptColumns> cols;
  cols.reserve(rows.size());
  for (const Row& r : rows) cols.push_back(r.Cols());
  const Limits limits{};
  double best_ns = 1e300;
  std::size_t ok_total = 0;
  for (long rep = 0; rep < reps; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    ok_total += DecodeAllReceipts(cols, limits);
    const auto t1 = std::chrono::steady_clock::now();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
    if (ns < best_ns) best_ns = ns;
  }
  std::printf(
      "{\"receipts\":%ld,\"reps\":%ld,\"v1_pct\":%ld,\"mean_body_bytes\":%.1f,\"ok\":%zu,"
      "\"ns_per_receipt\":%.1f}\n",
      n, reps, v1_pct, static_cast<double>(body_bytes) / static_cast<double>(n), ok_total, best_ns);
  return ok_total == static_cast<std::size_t>(n * reps) ? 0 : 1;
}
