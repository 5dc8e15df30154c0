#include "decode/decode.hh"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "decode/utf8.hh"
#include "receipt/receipt.hh"

namespace provledger::decode {
namespace {

// "" when `f` is usable text: not NULL (unless allowed), UTF-8, no NUL.
std::string CheckText(const Field& f, std::string_view column, bool nullable) {
  if (f.null) {
    return nullable ? std::string() : std::string(column) + " is NULL";
  }
  if (f.text.find('\0') != std::string_view::npos) {
    return std::string(column) + " contains a NUL byte";
  }
  if (!IsValidUtf8(f.text)) {
    return std::string(column) + " is not valid UTF-8: \"" + Printable(f.text) + "\"";
  }
  return {};
}

std::string CheckId(const Field& f, std::string_view column) {
  std::string e = CheckText(f, column, false);
  if (e.empty() && f.text.empty()) e = std::string(column) + " is empty";
  return e;
}

std::string CheckTenant(const Field& f, std::string_view column, const Limits& limits) {
  if (f.null) return std::string(column) + " is NULL";
  std::string e = ValidateTenant(f.text, limits.max_tenant_bytes);
  if (!e.empty()) e = std::string(column) + ": " + e;
  return e;
}

std::string CheckMicros(const Field& f, std::string_view column, Micros* out) {
  if (f.null) return std::string(column) + " is NULL";
  auto v = ParseInt64(f.text);
  if (!v) return std::string(column) + " is not a bigint: \"" + Printable(f.text) + "\"";
  *out = *v;
  return {};
}

// The value of the 8 ASCII digits at p (little-endian load), or false when
// one of them is not a digit. The SWAR steps of simdjson's
// parse_eight_digits_unrolled.
bool EightDigits(const char* p, std::uint64_t* out) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  if ((((w & 0xF0F0F0F0F0F0F0F0ULL) | (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4))) !=
      0x3333333333333333ULL) {
    return false;
  }
  w -= 0x3030303030303030ULL;
  w = (w * 10) + (w >> 8);
  w = (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
       (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
  *out = w;
  return true;
}

}  // namespace

namespace {

// The code point of a control or bidirectional-formatting character at
// name[i] (valid UTF-8), or -1: C0 and DEL, C1 (U+0080..U+009F), ALM
// (U+061C), LRM/RLM (U+200E/F), line/paragraph separators (U+2028/9),
// LRE..RLO (U+202A..U+202E) and LRI..PDI (U+2066..U+2069). Such names would
// reach the landing page and dashboards and reorder or hide text there.
int ControlAt(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x20 || b0 == 0x7f) return b0;
  if (b0 == 0xc2 && i + 1 < s.size()) {
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 >= 0x80 && b1 <= 0x9f) return b1;
  }
  if (b0 == 0xd8 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x9c) return 0x061c;
  if (b0 == 0xe2 && i + 2 < s.size()) {
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    const auto b2 = static_cast<unsigned char>(s[i + 2]);
    const int cp = 0x2000 | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
    if (cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return cp;
  }
  return -1;
}

std::string CodePoint(int cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

}  // namespace

std::string ValidateTenant(std::string_view name, std::size_t max_bytes) {
  if (name.empty()) return "tenant name is empty";
  if (name.size() > max_bytes) {
    return "tenant name is " + std::to_string(name.size()) + " bytes, longer than " +
           std::to_string(max_bytes) + ": \"" + Printable(name, 32) + "\"";
  }
  if (name.find('\0') != std::string_view::npos) return "tenant name contains a NUL byte";
  if (!IsValidUtf8(name)) return "tenant name is not valid UTF-8: \"" + Printable(name) + "\"";
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto b = static_cast<unsigned char>(name[i]);
    if (b >= 0x20 && b < 0x7f) continue;   // printable ASCII: the common case
    if (const int cp = ControlAt(name, i); cp >= 0) {
      return "tenant name contains the control or bidirectional character " + CodePoint(cp) + ": \"" +
             Printable(name) + "\"";
    }
  }
  return {};
}

std::optional<std::int64_t> ParseInt64(std::string_view s) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b == e) return std::nullopt;
  // Fast path, same rules as std::from_chars: an optional '-' then 1..18
  // digits cannot overflow (10^18 - 1 < 2^63).
  {
    const bool neg = *b == '-';
    const char* d = b + (neg ? 1 : 0);
    if (d < e && e - d <= 18) {
      std::uint64_t u = 0;
      const char* q = d;
      if constexpr (std::endian::native == std::endian::little) {
        for (; e - q >= 8; q += 8) {
          std::uint64_t chunk;
          if (!EightDigits(q, &chunk)) return std::nullopt;
          u = u * 100000000 + chunk;
        }
      }
      for (; q < e; ++q) {
        const auto digit = static_cast<unsigned>(static_cast<unsigned char>(*q) - '0');
        if (digit > 9) return std::nullopt;
        u = u * 10 + digit;
      }
      const auto v = static_cast<std::int64_t>(u);
      return neg ? -v : v;
    }
  }
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(std::string_view s) {
  double v = 0;
  const char* b = s.data();
  const char* e = b + s.size();
  if (b == e) return std::nullopt;
  auto [p, ec] = std::from_chars(b, e, v, std::chars_format::general);
  if (ec != std::errc() || p != e || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string CheckReceiptBody(int version, std::string_view body, const ReceiptRow& r) {
  const receipt::Columns columns{r.receipt_id, r.tenant, r.op_id, r.region, r.policy_version, r.kid,
                                 r.created_at, r.content_hash};
  return receipt::CheckBody(version, body, columns).second;
}

Decoded<ReceiptRow> DecodeReceipt(const ReceiptColumns& c, const Limits& limits) {
  using D = Decoded<ReceiptRow>;
  std::string e;
  if (!(e = CheckId(c.receipt_id, "receipt_id")).empty()) return D::Error(e);
  if (!(e = CheckTenant(c.tenant_id, "tenant_id", limits)).empty()) return D::Error(e);
  if (!(e = CheckId(c.op_id, "op_id")).empty()) return D::Error(e);
  if (!(e = CheckText(c.region, "region", true)).empty()) return D::Error(e);
  if (!(e = CheckText(c.policy_version, "policy_version", true)).empty()) return D::Error(e);
  if (!(e = CheckText(c.kid, "kid", true)).empty()) return D::Error(e);
  if (!(e = CheckText(c.content_hash, "content_hash", false)).empty()) return D::Error(e);
  if (!(e = CheckText(c.body, "body", false)).empty()) return D::Error(e);
  if (c.version.null) return D::Error("version is NULL");
  auto version = ParseInt64(c.version.text);
  if (!version) return D::Error("version is not an integer: \"" + Printable(c.version.text) + "\"");
  if (*version != 1 && *version != 2) {
    return D::Error("unsupported receipt version " + std::to_string(*version));
  }
  ReceiptRow r;
  if (!(e = CheckMicros(c.created_us, "created_us", &r.created_at)).empty()) return D::Error(e);
  r.receipt_id.assign(c.receipt_id.text);
  r.tenant.assign(c.tenant_id.text);
  r.op_id.assign(c.op_id.text);
  r.region.assign(c.region.text);
  r.policy_version.assign(c.policy_version.text);
  r.kid.assign(c.kid.text);
  r.version = static_cast<int>(*version);
  r.content_hash.assign(c.content_hash.text);
  e = CheckReceiptBody(r.version, c.body.text, r);
  if (!e.empty()) return D::Error(e);
  return r;
}

Decoded<AnchoredRow> DecodeAnchored(const AnchoredColumns& c, const Limits& limits) {
  using D = Decoded<AnchoredRow>;
  std::string e;
  AnchoredRow r;
  if (!(e = CheckId(c.receipt_id, "receipt_id")).empty()) return D::Error(e);
  if (!(e = CheckTenant(c.tenant_id, "tenant_id", limits)).empty()) return D::Error(e);
  if (!(e = CheckMicros(c.created_us, "created_us", &r.created_at)).empty()) return D::Error(e);
  if (!(e = CheckMicros(c.anchored_us, "anchored_us", &r.anchored_at)).empty()) return D::Error(e);
  if (r.anchored_at < r.created_at) {
    return D::Error("anchored before created: anchored_us " + std::to_string(r.anchored_at) +
                    " < created_us " + std::to_string(r.created_at));
  }
  r.receipt_id.assign(c.receipt_id.text);
  r.tenant.assign(c.tenant_id.text);
  return r;
}

Decoded<SpanRow> DecodeSpan(const SpanColumns& c, const Limits& limits, Field name) {
  using D = Decoded<SpanRow>;
  std::string e;
  SpanRow r;
  if (!(e = CheckId(c.trace_id, "trace_id")).empty()) return D::Error(e);
  if (!(e = CheckId(c.span_id, "span_id")).empty()) return D::Error(e);
  if (!(e = CheckTenant(c.tenant_id, "tenant_id", limits)).empty()) return D::Error(e);
  if (!(e = CheckId(c.op_id, "op_id")).empty()) return D::Error(e);
  if (!(e = CheckMicros(c.start_us, "start_us", &r.start)).empty()) return D::Error(e);
  if (!(e = CheckText(c.attested_hash, "attested_hash", true)).empty()) return D::Error(e);
  if (!(e = CheckText(name, "name", true)).empty()) return D::Error(e);
  r.name.assign(name.text);
  r.trace_id.assign(c.trace_id.text);
  r.span_id.assign(c.span_id.text);
  r.tenant.assign(c.tenant_id.text);
  r.op_id.assign(c.op_id.text);
  r.attested_hash.assign(c.attested_hash.text);
  return r;
}

Decoded<FlagRow> DecodeFlag(const FlagColumns& c, const Limits& limits) {
  using D = Decoded<FlagRow>;
  std::string e;
  if (!(e = CheckTenant(c.tenant, "tenant", limits)).empty()) return D::Error(e);
  if (!(e = CheckId(c.feature, "feature")).empty()) return D::Error(e);
  if (c.feature.text.size() > limits.max_tenant_bytes) {
    return D::Error("feature name is " + std::to_string(c.feature.text.size()) +
                    " bytes, longer than " + std::to_string(limits.max_tenant_bytes));
  }
  if (c.pct.null) return D::Error("pct is NULL");
  auto pct = ParseDouble(c.pct.text);
  if (!pct) return D::Error("pct is not a number: \"" + Printable(c.pct.text) + "\"");
  if (*pct < 0 || *pct > 100) {
    return D::Error("pct " + Printable(c.pct.text) + " is outside [0, 100]");
  }
  FlagRow r;
  r.tenant.assign(c.tenant.text);
  r.feature.assign(c.feature.text);
  r.pct = *pct;
  return r;
}

}  // namespace provledger::decode
