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

// Validates a receipt body in place and keeps views of the top-level string
// fields a v2 receipt must carry; only such a field whose JSON string holds
// escapes is copied (unescaped). No tokens are built, nothing is allocated for
// a body nested at most 15 deep with no escaped watched field.
//
// It accepts exactly what nlohmann::json::sax_parse (strict, no comments) with
// the previous SAX handler accepted, and reports the same outcomes:
// - JSON per RFC 8259: whitespace is space, tab, CR, LF; strings without raw
//   control characters (< 0x20), escapes \" \\ \/ \b \f \n \r \t \uXXXX with
//   surrogates paired (high then low), well-formed UTF-8 content; numbers
//   -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; literals true false null;
//   nothing but whitespace after the value, up to the end or up to a NUL
//   byte (nlohmann's end-of-input token: "{}\0junk" is accepted; a body that
//   went through DecodeReceipt has no NUL bytes);
// - a UTF-8 byte order mark at the very start is skipped;
// - a number whose double value is infinite (e.g. 1e400) is an error (nlohmann
//   converts every non-int64/uint64 number with strtod and refuses infinity);
// - nesting depth is unbounded (nlohmann's parser is iterative too); the
//   container stack costs one byte per level;
// - the kind of the top-level value is judged on its first token, as the SAX
//   handler did: "[..." is "an array" even when what follows is not JSON;
// - one of kFields given twice as a top-level key stops the scan at that key
//   ("appears twice"), whatever follows, for v1 bodies as well.
class BodyScanner {
 public:
  static constexpr std::array<std::string_view, 7> kFields = {
      "schema", "receipt_id", "tenant_id", "op_id", "policy_version", "kid", "region"};

  // Runs the scan; "" when the body is a JSON object without a duplicated
  // watched field.
  std::string Scan(std::string_view body) {
    begin_ = p_ = reinterpret_cast<const Byte*>(body.data());
    end_ = p_ + body.size();
    if (p_ < end_ && *p_ == 0xEF) {
      if (end_ - p_ < 3 || p_[1] != 0xBB || p_[2] != 0xBF) {
        Fail(p_, "invalid BOM; must be 0xEF 0xBB 0xBF if given");
        return error_;
      }
      p_ += 3;
    }
    SkipWs();
    if (p_ == end_) {
      Fail(p_, "unexpected end of input; expected '[', '{', or a literal");
      return error_;
    }
    switch (*p_) {
      case '{':
        break;
      case '[':
        return NotObject("array");
      case '"': {
        bool escaped = false;
        if (!String(&escaped)) return error_;
        return NotObject("string");
      }
      default:
        if (!Scalar()) return error_;
        return NotObject("scalar (number, boolean or null)");
    }
    return Object();
  }

  // "" when field i is a string equal to `want`.
  std::string Expect(std::size_t i, std::string_view want) const {
    if (state_[i] == kString && values_[i] == want) return {};
    const std::string name(kFields[i]);
    if (state_[i] == kAbsent) return "v2 body lacks field \"" + name + "\"";
    if (state_[i] != kString) return "v2 body field \"" + name + "\" is not a string";
    return "v2 body field \"" + name + "\" is \"" + Printable(values_[i]) +
           "\", expected \"" + Printable(want) + "\"";
  }

 private:
  using Byte = unsigned char;
  enum State : unsigned char { kAbsent, kOther, kString };

  static constexpr int Index(std::string_view name) {
    for (std::size_t i = 0; i < kFields.size(); ++i) {
      if (kFields[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
  // Index of a watched top-level key, or -1.
  static int FieldIndex(std::string_view k) {
    switch (k.size()) {
      case 3: return k == "kid" ? Index("kid") : -1;
      case 5: return k == "op_id" ? Index("op_id") : -1;
      case 6:
        if (k == "schema") return Index("schema");
        return k == "region" ? Index("region") : -1;
      case 9: return k == "tenant_id" ? Index("tenant_id") : -1;
      case 10: return k == "receipt_id" ? Index("receipt_id") : -1;
      case 14: return k == "policy_version" ? Index("policy_version") : -1;
      default: return -1;
    }
  }

  static std::string NotObject(const char* kind) {
    return "body is a JSON " + std::string(kind) + ", not an object";
  }

  // Records why the body is not JSON; always returns false.
  bool Fail(const Byte* at, const char* what) {
    const std::size_t left = static_cast<std::size_t>(end_ - at);
    error_ = "body is not valid JSON (byte " + std::to_string(at - begin_) + "): " + what;
    if (left == 0) {
      error_ += " at end of input";
    } else {
      error_ += " near \"";
      error_ += Printable(std::string_view(reinterpret_cast<const char*>(at), left < 16 ? left : 16));
      error_ += '"';
    }
    return false;
  }

  void SkipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  static bool IsDigit(Byte c) { return c >= '0' && c <= '9'; }

  // The body of the top-level object; p_ is at its '{'.
  std::string Object() {
    ++p_;
    stack_.assign(1, '{');
    int pending = -1;   // watched field whose value comes next, at depth 1

  object_start:
    SkipWs();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      stack_.pop_back();
      goto value_done;
    }

  key:
    if (p_ == end_ || *p_ != '"') {
      Fail(p_, "expected a string (object key)");
      return error_;
    }
    {
      const Byte* k0 = p_ + 1;
      bool escaped = false;
      if (!String(&escaped)) return error_;
      if (stack_.size() == 1) {
        std::string_view k(reinterpret_cast<const char*>(k0), static_cast<std::size_t>(p_ - 1 - k0));
        if (escaped) {
          Unescape(k, &key_scratch_);
          k = key_scratch_;
        }
        const int i = FieldIndex(k);
        if (i >= 0) {
          const auto u = static_cast<std::size_t>(i);
          if (state_[u] != kAbsent) return "body field \"" + std::string(kFields[u]) + "\" appears twice";
          state_[u] = kOther;
          pending = i;
        }
      }
    }
    SkipWs();
    if (p_ == end_ || *p_ != ':') {
      Fail(p_, "expected ':' after an object key");
      return error_;
    }
    ++p_;

  value:
    SkipWs();
    if (p_ == end_) {
      Fail(p_, "unexpected end of input; expected a value");
      return error_;
    }
    switch (*p_) {
      case '{':
        ++p_;
        stack_.push_back('{');
        pending = -1;
        goto object_start;
      case '[':
        ++p_;
        stack_.push_back('[');
        pending = -1;
        SkipWs();
        if (p_ < end_ && *p_ == ']') {
          ++p_;
          stack_.pop_back();
          goto value_done;
        }
        goto value;
      case '"': {
        const Byte* s0 = p_ + 1;
        bool escaped = false;
        if (!String(&escaped)) return error_;
        if (pending >= 0) {   // a watched field's value at depth 1
          const auto u = static_cast<std::size_t>(pending);
          std::string_view v(reinterpret_cast<const char*>(s0), static_cast<std::size_t>(p_ - 1 - s0));
          if (escaped) {
            Unescape(v, &owned_[u]);
            v = owned_[u];
          }
          values_[u] = v;
          state_[u] = kString;
        }
        break;
      }
      default:
        if (!Scalar()) return error_;
    }

  value_done:
    pending = -1;
    SkipWs();
    if (stack_.empty()) {
      // nlohmann's lexer takes a NUL byte between tokens for the end of the
      // input: whatever follows one after the object is ignored.
      if (p_ != end_ && *p_ != '\0') {
        Fail(p_, "expected end of input after the object");
        return error_;
      }
      return {};
    }
    if (p_ == end_) {
      Fail(p_, stack_.back() == '[' ? "unexpected end of input; expected ',' or ']'"
                                    : "unexpected end of input; expected ',' or '}'");
      return error_;
    }
    if (stack_.back() == '[') {
      if (*p_ == ',') {
        ++p_;
        goto value;
      }
      if (*p_ == ']') {
        ++p_;
        stack_.pop_back();
        goto value_done;
      }
      Fail(p_, "expected ',' or ']'");
      return error_;
    }
    if (*p_ == ',') {
      ++p_;
      SkipWs();
      goto key;
    }
    if (*p_ == '}') {
      ++p_;
      stack_.pop_back();
      goto value_done;
    }
    Fail(p_, "expected ',' or '}'");
    return error_;
  }

  // Bytes of `w` (8 input bytes, little-endian load) that end the plain run
  // of a string: '"', '\\', < 0x20 or >= 0x80. The lowest flagged byte is
  // exact; flags above it may be spurious (borrows), which only costs a
  // byte-wise look.
  static std::uint64_t SpecialBytes(std::uint64_t w) {
    constexpr std::uint64_t k01 = 0x0101010101010101ULL;
    constexpr std::uint64_t k80 = 0x8080808080808080ULL;
    const std::uint64_t q = w ^ (k01 * '"');
    const std::uint64_t b = w ^ (k01 * '\\');
    return (((q - k01) & ~q) | ((b - k01) & ~b) | ((w - k01 * 0x20) & ~w) | w) & k80;
  }

  // Skips plain string bytes from p: returns the first byte that is '"',
  // '\\', < 0x20 or >= 0x80, or a point fewer than 8 bytes before the end.
  const Byte* SkipPlain(const Byte* p) const {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end_ - p >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      // Signed: bytes >= 0x80 are negative, so "< 0x20" also flags them.
      const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                       _mm_cmplt_epi8(v, space));
      const int mask = _mm_movemask_epi8(hit);
      if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
      p += 16;
    }
#endif
    if constexpr (std::endian::native == std::endian::little) {
      while (end_ - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        const std::uint64_t special = SpecialBytes(w);
        if (special != 0) return p + (__builtin_ctzll(special) >> 3);
        p += 8;
      }
    }
    return p;
  }

  // A JSON string; p_ at its opening quote, left after the closing quote.
  // *escaped is set when it holds a backslash escape.
  bool String(bool* escaped) {
    const Byte* p = p_ + 1;
    for (;;) {
      p = SkipPlain(p);
      if (p == end_) return Fail(p, "unterminated string");
      const Byte c = *p;
      if (c == '"') {
        p_ = p + 1;
        return true;
      }
      if (c == '\\') {
        *escaped = true;
        p_ = p + 1;
        if (!Escape()) return false;
        p = p_;
      } else if (c < 0x20) {
        return Fail(p, "control character in a string must be escaped");
      } else if (c >= 0x80) {
        p_ = p;
        if (!Utf8()) return false;
        p = p_;
      } else {
        ++p;
      }
    }
  }

  // Four hex digits at p_ -> *cp.
  bool Hex4(std::uint32_t* cp) {
    if (end_ - p_ < 4) return Fail(p_, "'\\u' must be followed by 4 hex digits");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const Byte c = p_[i];
      std::uint32_t d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return Fail(p_, "'\\u' must be followed by 4 hex digits");
      v = (v << 4) | d;
    }
    p_ += 4;
    *cp = v;
    return true;
  }

  // An escape; p_ at the byte after the backslash.
  bool Escape() {
    if (p_ == end_) return Fail(p_, "unterminated string");
    switch (*p_) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        ++p_;
        return true;
      case 'u': {
        ++p_;
        std::uint32_t cp = 0;
        if (!Hex4(&cp)) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
            return Fail(p_, "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
          }
          p_ += 2;
          std::uint32_t lo = 0;
          if (!Hex4(&lo)) return false;
          if (lo < 0xDC00 || lo > 0xDFFF) {
            return Fail(p_ - 6, "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return Fail(p_ - 6, "surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
        }
        return true;
      }
      default:
        return Fail(p_ - 1, "invalid string escape");
    }
  }

  // One UTF-8 sequence (RFC 3629) at p_, whose lead byte is >= 0x80.
  bool Utf8() {
    const Byte c = *p_;
    int n;
    Byte lo = 0x80, hi = 0xBF;   // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;        // no overlong
      else if (c == 0xED) hi = 0x9F;   // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;        // no overlong
      else if (c == 0xF4) hi = 0x8F;   // nothing above U+10FFFF
    } else {
      return Fail(p_, "invalid UTF-8 byte in a string");
    }
    if (end_ - p_ <= n) return Fail(p_, "truncated UTF-8 sequence in a string");
    if (p_[1] < lo || p_[1] > hi) return Fail(p_, "invalid UTF-8 sequence in a string");
    for (int i = 2; i <= n; ++i) {
      if ((p_[i] & 0xC0) != 0x80) return Fail(p_, "invalid UTF-8 sequence in a string");
    }
    p_ += n + 1;
    return true;
  }

  // A number, true, false or null at p_ (which is not at the end).
  bool Scalar() {
    switch (*p_) {
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      case '-': case '0': case '1': case '2': case '3': case '4':
      case '5': case '6': case '7': case '8': case '9':
        return Number();
      default:
        return Fail(p_, "unexpected character; expected a value");
    }
  }

  bool Literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return Fail(p_, "invalid literal");
    }
    p_ += word.size();
    return true;
  }

  bool Number() {
    const Byte* const start = p_;
    const Byte* p = p_;
    if (*p == '-') ++p;
    if (p == end_ || !IsDigit(*p)) return Fail(p, "invalid number; expected a digit after '-'");
    bool int_zero = false;
    std::int64_t int_digits = 0;
    if (*p == '0') {
      int_zero = true;
      ++p;
    } else {
      const Byte* d0 = p;
      while (p < end_ && IsDigit(*p)) ++p;
      int_digits = p - d0;
    }
    std::int64_t frac_zeros = -1;   // zeros before the first non-zero fraction digit
    bool exact = true;              // no fraction, no exponent
    if (p < end_ && *p == '.') {
      exact = false;
      ++p;
      const Byte* d0 = p;
      while (p < end_ && IsDigit(*p)) ++p;
      if (p == d0) return Fail(p, "invalid number; expected a digit after '.'");
      if (int_zero) {
        const Byte* q = d0;
        while (q < p && *q == '0') ++q;
        if (q < p) frac_zeros = q - d0;
      }
    }
    std::int64_t exp = 0;
    if (p < end_ && (*p == 'e' || *p == 'E')) {
      exact = false;
      ++p;
      bool neg = false;
      if (p < end_ && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        ++p;
      }
      const Byte* d0 = p;
      while (p < end_ && IsDigit(*p)) {
        if (exp < 1000000000000000LL) exp = exp * 10 + (*p - '0');   // saturates
        ++p;
      }
      if (p == d0) return Fail(p, "invalid number; expected a digit in the exponent");
      if (neg) exp = -exp;
    }
    p_ = p;
    // Finite unless the value is at least 1e308: decimal exponent of the
    // leading significant digit.
    if (exact && int_digits <= 308) return true;
    std::int64_t mag;
    if (!int_zero) {
      mag = int_digits - 1 + exp;
    } else if (frac_zeros >= 0) {
      mag = exp - frac_zeros - 1;
    } else {
      return true;   // zero
    }
    if (mag < 308) return true;
    if (mag == 308) {
      double v = 0;
      const auto r = std::from_chars(reinterpret_cast<const char*>(start),
                                     reinterpret_cast<const char*>(p), v, std::chars_format::general);
      if (r.ec == std::errc() && std::isfinite(v)) return true;
    }
    return Fail(start, "number overflow (not a finite double)");
  }

  static std::uint32_t HexAt(std::string_view s, std::size_t i) {
    std::uint32_t v = 0;
    for (std::size_t j = i; j < i + 4; ++j) {
      const char c = s[j];
      const std::uint32_t d = c <= '9' ? static_cast<std::uint32_t>(c - '0')
                                       : static_cast<std::uint32_t>((c | 0x20) - 'a' + 10);
      v = (v << 4) | d;
    }
    return v;
  }

  // The content of a string String() accepted, with its escapes resolved.
  static void Unescape(std::string_view raw, std::string* out) {
    out->clear();
    out->reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      const char e = raw[++i];
      switch (e) {
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = HexAt(raw, i + 1);
          i += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            const std::uint32_t lo = HexAt(raw, i + 3);   // after "\u"
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else if (cp < 0x10000) {
            out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: out->push_back(e); break;   // '"', '\\', '/'
      }
    }
  }

  const Byte* begin_ = nullptr;
  const Byte* p_ = nullptr;
  const Byte* end_ = nullptr;
  std::string error_;
  std::string stack_;          // '{' or '[' per open container
  std::string key_scratch_;    // an escaped top-level key, unescaped
  std::array<State, kFields.size()> state_{};
  std::array<std::string_view, kFields.size()> values_{};
  std::array<std::string, kFields.size()> owned_;   // unescaped values
};

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
  if (version != 1 && version != 2) return "unsupported receipt version " + std::to_string(version);
  BodyScanner scan;
  std::string e = scan.Scan(body);
  if (!e.empty() || version == 1) return e;
  const std::array<std::string_view, BodyScanner::kFields.size()> want = {
      kReceiptSchemaV2, r.receipt_id, r.tenant, r.op_id, r.policy_version, r.kid, r.region};
  for (std::size_t i = 0; i < want.size(); ++i) {
    e = scan.Expect(i, want[i]);
    if (!e.empty()) return e;
  }
  return {};
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
