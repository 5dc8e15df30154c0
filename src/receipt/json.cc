#include "receipt/json.hh"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/utf8.hh"

namespace provledger::receipt {

// The parser: an in-place scan (the former decode body scanner) that appends
// one node per value. Iterative: the container stack is Json::stack_.
class JsonParser {
 public:
  explicit JsonParser(Json& d) : d_(d) {}

  std::string Run(std::string_view text) {
    d_.nodes_.clear();
    d_.depth_ = 0;
    d_.stack_.clear();
    d_.unescaped_.clear();
    // Unescaped content is never longer than its source: views into this
    // buffer stay valid while it fills.
    if (d_.unescaped_.capacity() < text.size()) d_.unescaped_.reserve(text.size());
    begin_ = p_ = reinterpret_cast<const Byte*>(text.data());
    end_ = p_ + text.size();
    if (text.size() > UINT32_MAX / 2) {
      Fail(p_, "input larger than 2 GiB");
      return error_;
    }
    if (!Value()) return error_;
    return {};
  }

 private:
  using Byte = unsigned char;
  using Kind = Json::Kind;

  bool Fail(const Byte* at, const char* what) {
    const std::size_t left = static_cast<std::size_t>(end_ - at);
    error_ = "byte " + std::to_string(at - begin_) + ": " + what;
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

  std::uint32_t Push(Kind kind, std::string_view text) {
    const auto i = static_cast<std::uint32_t>(d_.nodes_.size());
    d_.nodes_.push_back(Json::Node{kind, 0, i + 1, text});
    return i;
  }

  bool Open(Kind kind) {
    if (d_.stack_.size() >= static_cast<std::size_t>(kMaxDepth)) {
      return Fail(p_, "nesting deeper than 128 levels");
    }
    d_.stack_.push_back(Push(kind, {}));
    if (static_cast<int>(d_.stack_.size()) > d_.depth_) d_.depth_ = static_cast<int>(d_.stack_.size());
    ++p_;
    return true;
  }

  // Closes the container on top of the stack; p_ at its closing bracket.
  bool Close() {
    const std::uint32_t i = d_.stack_.back();
    Json::Node& n = d_.nodes_[i];
    n.end = static_cast<std::uint32_t>(d_.nodes_.size());
    if (n.kind == Kind::kObject && n.count > 1 && !Unique(i)) return false;
    d_.stack_.pop_back();
    ++p_;
    return true;
  }

  // No key twice in the object at node i (p_ at its closing brace).
  bool Unique(std::uint32_t i) {
    auto& keys = d_.keys_;
    keys.clear();
    const auto& nodes = d_.nodes_;
    for (std::uint32_t k = i + 1; k < nodes[i].end; k = nodes[k + 1].end) keys.push_back(nodes[k].text);
    const std::string_view* dup = nullptr;
    if (keys.size() <= 16) {
      // Pairwise, on a word of length and leading bytes first.
      std::uint32_t fp[16];
      for (std::size_t a = 0; a < keys.size(); ++a) {
        const std::string_view k = keys[a];
        fp[a] = k.empty() ? 0
                          : (static_cast<std::uint32_t>(k.size()) << 16) ^
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(k.front())) << 8) ^
                                static_cast<unsigned char>(k.back());
      }
      for (std::size_t a = 1; a < keys.size() && !dup; ++a) {
        for (std::size_t b = 0; b < a; ++b) {
          if (fp[a] == fp[b] && keys[a] == keys[b]) {
            dup = &keys[a];
            break;
          }
        }
      }
    } else {
      std::sort(keys.begin(), keys.end());
      auto it = std::adjacent_find(keys.begin(), keys.end());
      if (it != keys.end()) dup = &*it;
    }
    if (dup == nullptr) return true;
    dup_msg_ = "duplicate key \"" + Printable(*dup) + "\" in the object that ends here";
    return Fail(p_, dup_msg_.c_str());
  }

  bool Value() {
  value:
    SkipWs();
    if (p_ == end_) return Fail(p_, "unexpected end of input; expected a value");
    switch (*p_) {
      case '{':
        if (!Open(Kind::kObject)) return false;
        SkipWs();
        if (p_ < end_ && *p_ == '}') {
          if (!Close()) return false;
          goto value_done;
        }
        goto key;
      case '[':
        if (!Open(Kind::kArray)) return false;
        SkipWs();
        if (p_ < end_ && *p_ == ']') {
          if (!Close()) return false;
          goto value_done;
        }
        goto value;
      case '"': {
        std::string_view s;
        if (!String(&s)) return false;
        Push(Kind::kString, s);
        break;
      }
      default:
        if (!Scalar()) return false;
    }

  value_done:
    SkipWs();
    if (d_.stack_.empty()) {
      if (p_ != end_) return Fail(p_, "expected end of input after the value");
      return true;
    }
    {
      Json::Node& top = d_.nodes_[d_.stack_.back()];
      ++top.count;
      if (p_ == end_) {
        return Fail(p_, top.kind == Kind::kArray ? "unexpected end of input; expected ',' or ']'"
                                                 : "unexpected end of input; expected ',' or '}'");
      }
      if (top.kind == Kind::kArray) {
        if (*p_ == ',') {
          ++p_;
          goto value;
        }
        if (*p_ == ']') {
          if (!Close()) return false;
          goto value_done;
        }
        return Fail(p_, "expected ',' or ']'");
      }
      if (*p_ == ',') {
        ++p_;
        SkipWs();
        goto key;
      }
      if (*p_ == '}') {
        if (!Close()) return false;
        goto value_done;
      }
      return Fail(p_, "expected ',' or '}'");
    }

  key:
    if (p_ == end_ || *p_ != '"') return Fail(p_, "expected a string (object key)");
    {
      std::string_view k;
      if (!String(&k)) return false;
      Push(Kind::kString, k);
    }
    SkipWs();
    if (p_ == end_ || *p_ != ':') return Fail(p_, "expected ':' after an object key");
    ++p_;
    goto value;
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
  // *out = its content with escapes resolved.
  bool String(std::string_view* out) {
    const Byte* const s0 = p_ + 1;
    const Byte* p = s0;
    bool escaped = false;
    for (;;) {
      p = SkipPlain(p);
      if (p == end_) return Fail(p, "unterminated string");
      const Byte c = *p;
      if (c == '"') {
        p_ = p + 1;
        break;
      }
      if (c == '\\') {
        escaped = true;
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
    const std::string_view raw(reinterpret_cast<const char*>(s0), static_cast<std::size_t>(p_ - 1 - s0));
    *out = escaped ? Unescape(raw) : raw;
    return true;
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
      case 't': return Literal("true", Kind::kTrue);
      case 'f': return Literal("false", Kind::kFalse);
      case 'n': return Literal("null", Kind::kNull);
      case '-': case '0': case '1': case '2': case '3': case '4':
      case '5': case '6': case '7': case '8': case '9':
        return Number();
      case 0xEF:
        if (p_ == begin_) return Fail(p_, "a byte order mark is not allowed");
        return Fail(p_, "unexpected character; expected a value");
      default:
        return Fail(p_, "unexpected character; expected a value");
    }
  }

  bool Literal(std::string_view word, Kind kind) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return Fail(p_, "invalid literal");
    }
    Push(kind, {});
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
    const std::string_view text(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
    Push(Kind::kNumber, text);
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
      const auto r = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::general);
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

  // The content of a string String() accepted, with its escapes resolved,
  // appended to the document's storage (never reallocates: reserved).
  std::string_view Unescape(std::string_view raw) {
    std::string& out = d_.unescaped_;
    const std::size_t from = out.size();
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      const char e = raw[++i];
      switch (e) {
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = HexAt(raw, i + 1);
          i += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            const std::uint32_t lo = HexAt(raw, i + 3);   // after "\u"
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: out.push_back(e); break;   // '"', '\\', '/'
      }
    }
    return std::string_view(out).substr(from);
  }

  Json& d_;
  const Byte* begin_ = nullptr;
  const Byte* p_ = nullptr;
  const Byte* end_ = nullptr;
  std::string error_;
  std::string dup_msg_;
};

std::string Json::Parse(std::string_view text) {
  JsonParser parser(*this);
  std::string e = parser.Run(text);
  if (!e.empty()) nodes_.clear();
  return e;
}

std::int64_t Json::Find(std::size_t object, std::string_view key) const {
  const Node& o = nodes_[object];
  if (o.kind != Kind::kObject) return -1;
  for (std::size_t k = object + 1; k < o.end; k = nodes_[k + 1].end) {
    if (nodes_[k].text == key) return static_cast<std::int64_t>(k + 1);
  }
  return -1;
}

double Json::NumberValue(const Node& n) {
  double v = 0;
  const char* b = n.text.data();
  const char* e = b + n.text.size();
  const auto r = std::from_chars(b, e, v, std::chars_format::general);
  if (r.ec == std::errc::result_out_of_range) {
    // Parse() refused overflow, so this is an underflow: +-0 (which
    // FormatNumber writes as 0).
    return 0.0;
  }
  if (v == 0) return 0.0;   // -0 reads as 0
  return v;
}

void Json::Shrink(std::size_t max_bytes) {
  if (nodes_.capacity() * sizeof(Node) > max_bytes) std::vector<Node>().swap(nodes_);
  if (unescaped_.capacity() > max_bytes) std::string().swap(unescaped_);
  if (keys_.capacity() * sizeof(std::string_view) > max_bytes) std::vector<std::string_view>().swap(keys_);
}

}  // namespace provledger::receipt
