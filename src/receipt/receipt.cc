#include "receipt/receipt.hh"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/utf8.hh"

namespace provledger::receipt {
namespace {

using Kind = Json::Kind;

// ---- canonical serialization ----

void AppendString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t run = 0;   // start of the pending unescaped run
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.substr(run, i - run));
    run = i + 1;
    out->push_back('\\');
    switch (c) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '\b': out->push_back('b'); break;
      case '\f': out->push_back('f'); break;
      case '\n': out->push_back('n'); break;
      case '\r': out->push_back('r'); break;
      case '\t': out->push_back('t'); break;
      default:
        out->append("u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
  }
  out->append(s.substr(run));
  out->push_back('"');
}

// The next code point of well-formed UTF-8 at s[*i]; advances *i.
std::uint32_t NextCodePoint(std::string_view s, std::size_t* i) {
  const auto c = static_cast<unsigned char>(s[*i]);
  if (c < 0x80) {
    ++*i;
    return c;
  }
  int n = c >= 0xF0 ? 3 : (c >= 0xE0 ? 2 : 1);
  std::uint32_t cp = c & (0x3F >> n);
  for (int k = 1; k <= n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[*i + static_cast<std::size_t>(k)]) & 0x3F);
  *i += static_cast<std::size_t>(n) + 1;
  return cp;
}

// The first UTF-16 code unit of a code point, with the second as a tie
// breaker: comparing these pairs compares UTF-16 code unit sequences.
std::uint32_t Utf16Key(std::uint32_t cp) {
  if (cp < 0x10000) return cp << 10;
  const std::uint32_t v = cp - 0x10000;
  return ((0xD800 + (v >> 10)) << 10) | (v & 0x3FF);
}

// a < b in UTF-16 code unit order (RFC 8785 3.2.3).
bool Utf16Less(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  if (i == a.size() || i == b.size()) return a.size() < b.size();
  // Back up to the start of the code point holding the first difference.
  while (i > 0 && (static_cast<unsigned char>(a[i]) & 0xC0) == 0x80) --i;
  std::size_t ia = i, ib = i;
  return Utf16Key(NextCodePoint(a, &ia)) < Utf16Key(NextCodePoint(b, &ib));
}

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// ---- the v2 contract ----

enum Field : std::size_t {
  kSchema, kReceiptId, kTenantId, kOpId, kPolicyVersion, kKid, kRegion,   // required, identity
  kCreatedAt, kAction, kActor, kResource, kDecision, kPayload, kMigratedFrom,
  kFieldCount
};
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "schema", "receipt_id", "tenant_id", "op_id", "policy_version", "kid", "region",
    "created_at", "action", "actor", "resource", "decision", "payload", "migrated_from"};

// Index of a field name in kFieldNames, or -1; by length first (one
// comparison for most keys).
int FieldOf(std::string_view k) {
  auto is = [&](Field f) { return k == kFieldNames[f] ? static_cast<int>(f) : -1; };
  switch (k.size()) {
    case 3: return is(kKid);
    case 5: return k[0] == 'o' ? is(kOpId) : is(kActor);
    case 6:
      switch (k[0]) {
        case 's': return is(kSchema);
        case 'r': return is(kRegion);
        case 'a': return is(kAction);
        default: return -1;
      }
    case 7: return is(kPayload);
    case 8: return k[0] == 'r' ? is(kResource) : is(kDecision);
    case 9: return is(kTenantId);
    case 10: return k[0] == 'r' ? is(kReceiptId) : is(kCreatedAt);
    case 13: return is(kMigratedFrom);
    case 14: return is(kPolicyVersion);
    default: return -1;
  }
}

// A v2 body's fields as views into the parsed document.
struct V2View {
  std::array<std::int64_t, kFieldCount> node;   // value node per field, -1 absent
  std::array<std::string_view, kFieldCount> str{};
  std::optional<std::int64_t> created_us;
};

using Check = std::pair<Error, std::string>;

Check V2Error(std::string msg) { return {Error::kV2, std::move(msg)}; }

std::string FieldMsg(std::size_t f, const char* what) {
  return "v2 body field \"" + std::string(kFieldNames[f]) + "\" " + what;
}

// The contract of docs/receipts.md on a parsed body.
Check ValidateV2(const Json& doc, V2View* v) {
  const auto& nodes = doc.nodes();
  v->node.fill(-1);
  for (std::size_t k = 1; k < nodes[0].end; k = nodes[k + 1].end) {
    const int f = FieldOf(nodes[k].text);
    if (f >= 0) v->node[static_cast<std::size_t>(f)] = static_cast<std::int64_t>(k + 1);
  }
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    const std::int64_t i = v->node[f];
    const bool required = f <= kRegion;
    if (i < 0) {
      if (required) return V2Error("v2 body lacks field \"" + std::string(kFieldNames[f]) + "\"");
      continue;
    }
    const Json::Node& n = nodes[static_cast<std::size_t>(i)];
    if (f == kPayload) {
      if (n.kind != Kind::kObject) return V2Error(FieldMsg(f, "is not an object"));
      continue;
    }
    if (f == kMigratedFrom) {
      if (n.kind != Kind::kObject) return V2Error(FieldMsg(f, "is not an object"));
      const std::int64_t ver = doc.Find(static_cast<std::size_t>(i), "version");
      if (ver < 0 || nodes[static_cast<std::size_t>(ver)].kind != Kind::kNumber ||
          Json::NumberValue(nodes[static_cast<std::size_t>(ver)]) != 1.0) {
        return V2Error(FieldMsg(f, "needs \"version\": 1"));
      }
      const std::int64_t h = doc.Find(static_cast<std::size_t>(i), "content_hash");
      if (h < 0 || nodes[static_cast<std::size_t>(h)].kind != Kind::kString) {
        return V2Error(FieldMsg(f, "needs a string \"content_hash\""));
      }
      v->str[f] = nodes[static_cast<std::size_t>(h)].text;
      continue;
    }
    if (n.kind != Kind::kString) return V2Error(FieldMsg(f, "is not a string"));
    v->str[f] = n.text;
    if (f == kSchema) {
      if (n.text != kSchemaV2) {
        return V2Error("v2 body field \"schema\" is \"" + Printable(n.text) + "\", expected \"" +
                       std::string(kSchemaV2) + "\"");
      }
    } else if (required && n.text.empty()) {
      return V2Error(FieldMsg(f, "is empty"));
    } else if (f == kCreatedAt) {
      v->created_us = ParseTimestamp(n.text);
      if (!v->created_us) {
        return V2Error("v2 body field \"created_at\" is not an RFC 3339 UTC timestamp "
                       "(YYYY-MM-DDTHH:MM:SS[.ffffff]Z): \"" + Printable(n.text) + "\"");
      }
    }
  }
  return {Error::kNone, {}};
}

Check CheckColumns(const V2View& v, const Columns& c) {
  const std::array<std::string_view, 6> want = {c.receipt_id, c.tenant_id, c.op_id,
                                                c.policy_version, c.kid, c.region};
  for (std::size_t f = kReceiptId; f <= kRegion; ++f) {
    const std::string_view w = want[f - kReceiptId];
    if (v.str[f] != w) {
      return {Error::kColumns, "v2 body field \"" + std::string(kFieldNames[f]) + "\" is \"" +
                                   Printable(v.str[f]) + "\", expected \"" + Printable(w) + "\""};
    }
  }
  if (v.created_us && *v.created_us != c.created_us) {
    return {Error::kColumns, "v2 body field \"created_at\" is \"" + Printable(v.str[kCreatedAt]) +
                                 "\", expected \"" + FormatTimestamp(c.created_us) + "\""};
  }
  return {Error::kNone, {}};
}

std::string Canonical(const Json& doc, std::size_t i) {
  std::string s;
  AppendCanonical(doc, i, &s);
  return s;
}

Check NotObject(const Json& doc) {
  const Kind k = doc.root().kind;
  const char* what = k == Kind::kArray ? "array" : (k == Kind::kString ? "string" : "scalar (number, boolean or null)");
  return {Error::kNotObject, std::string("body is a JSON ") + what + ", not an object"};
}

Check ParseObject(Json& doc, std::string_view body) {
  std::string e = doc.Parse(body);
  if (!e.empty()) return {Error::kJson, "body is not valid JSON (" + e + ")"};
  if (doc.root().kind != Kind::kObject) return NotObject(doc);
  return {Error::kNone, {}};
}

}  // namespace

void AppendJsonString(std::string_view utf8, std::string* out) { AppendString(utf8, out); }

const char* ErrorName(Error e) {
  switch (e) {
    case Error::kNone: return "none";
    case Error::kJson: return "json";
    case Error::kNotObject: return "not_object";
    case Error::kVersion: return "version";
    case Error::kV2: return "v2";
    case Error::kColumns: return "columns";
    case Error::kConvert: return "convert";
  }
  return "unknown";
}

std::string FormatNumber(double v) {
  if (v == 0) return "0";
  std::string out;
  if (v < 0) {
    out.push_back('-');
    v = -v;
  }
  // Shortest round-trip digits in scientific form: d[.ddd]e[+-]xx.
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
  const std::size_t e_at = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_at)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = 0;
  const std::string_view es = sci.substr(e_at + 1);
  std::from_chars(es.data() + (es[0] == '+' ? 1 : 0), es.data() + es.size(), exp10);
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;   // value = 0.digits * 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(n), std::string::npos);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

void AppendCanonical(const Json& doc, std::size_t i, std::string* out) {
  const auto& nodes = doc.nodes();
  const Json::Node& n = nodes[i];
  switch (n.kind) {
    case Kind::kNull: out->append("null"); return;
    case Kind::kFalse: out->append("false"); return;
    case Kind::kTrue: out->append("true"); return;
    case Kind::kNumber: out->append(FormatNumber(Json::NumberValue(n))); return;
    case Kind::kString: AppendString(n.text, out); return;
    case Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (std::size_t k = i + 1; k < n.end; k = nodes[k].end) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonical(doc, k, out);
      }
      out->push_back(']');
      return;
    }
    case Kind::kObject: {
      std::vector<std::size_t> keys;
      keys.reserve(n.count);
      for (std::size_t k = i + 1; k < n.end; k = nodes[k + 1].end) keys.push_back(k);
      std::sort(keys.begin(), keys.end(),
                [&](std::size_t a, std::size_t b) { return Utf16Less(nodes[a].text, nodes[b].text); });
      out->push_back('{');
      bool first = true;
      for (std::size_t k : keys) {
        if (!first) out->push_back(',');
        first = false;
        AppendString(nodes[k].text, out);
        out->push_back(':');
        AppendCanonical(doc, k + 1, out);
      }
      out->push_back('}');
      return;
    }
  }
}

Result<std::string> Canonicalize(std::string_view json_text) {
  Json doc;
  std::string e = doc.Parse(json_text);
  if (!e.empty()) return Result<std::string>::Fail(Error::kJson, "not valid JSON (" + e + ")");
  return Canonical(doc, 0);
}

std::string Sha256Hex(std::string_view bytes) {
  // Fetched once: EVP_sha256() makes libcrypto 3 fetch the algorithm on every call.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (sha256 == nullptr || EVP_Digest(bytes.data(), bytes.size(), md, &len, sha256, nullptr) != 1 || len != 32) {
    std::abort();   // libcrypto without SHA-256: not a recoverable state
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (unsigned i = 0; i < 32; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 0xF];
  }
  return out;
}

Result<std::string> ContentHash(std::string_view body) {
  auto c = Canonicalize(body);
  if (!c) return c;
  return Sha256Hex(c.value());
}

std::string FormatTimestamp(std::int64_t us) {
  std::int64_t days = us / 86400000000LL;
  std::int64_t rem = us % 86400000000LL;
  if (rem < 0) {
    rem += 86400000000LL;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  const std::int64_t secs = rem / 1000000, frac = rem % 1000000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60), static_cast<long long>(frac));
  return buf;
}

std::optional<std::int64_t> ParseTimestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z
  if (s.size() < 20 || s.size() > 27 || s.back() != 'Z') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t len, int* out) {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!num(0, 4, &y) || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' || !num(8, 2, &d) || s[10] != 'T' ||
      !num(11, 2, &h) || s[13] != ':' || !num(14, 2, &mi) || s[16] != ':' || !num(17, 2, &sec)) {
    return std::nullopt;
  }
  int frac = 0;
  if (s.size() > 20) {
    const std::size_t digits = s.size() - 21;
    if (s[19] != '.' || digits < 1 || !num(20, digits, &frac)) return std::nullopt;
    for (std::size_t i = digits; i < 6; ++i) frac *= 10;
  } else if (s[19] != 'Z') {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  if (d > kDays[mo - 1] + (mo == 2 && IsLeap(y) ? 1 : 0)) return std::nullopt;
  const std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 86400 + h * 3600 + mi * 60 + sec) * 1000000LL) + frac;
}

Result<Receipt> ReadV2(std::string_view body) {
  Json doc;
  Check c = ParseObject(doc, body);
  V2View v;
  if (c.first == Error::kNone) c = ValidateV2(doc, &v);
  if (c.first != Error::kNone) return Result<Receipt>::Fail(c.first, std::move(c.second));
  Receipt r;
  r.version = 2;
  r.receipt_id.assign(v.str[kReceiptId]);
  r.tenant_id.assign(v.str[kTenantId]);
  r.op_id.assign(v.str[kOpId]);
  r.policy_version.assign(v.str[kPolicyVersion]);
  r.kid.assign(v.str[kKid]);
  r.region.assign(v.str[kRegion]);
  r.created_us = v.created_us;
  std::optional<std::string>* opt[] = {&r.action, &r.actor, &r.resource, &r.decision};
  for (std::size_t f = kAction; f <= kDecision; ++f) {
    if (v.node[f] >= 0) *opt[f - kAction] = std::string(v.str[f]);
  }
  if (v.node[kPayload] >= 0) r.payload = Canonical(doc, static_cast<std::size_t>(v.node[kPayload]));
  if (v.node[kMigratedFrom] >= 0) r.migrated_from_hash = std::string(v.str[kMigratedFrom]);
  return r;
}

Result<Receipt> ReadV1(std::string_view body, const Columns& c) {
  using R = Result<Receipt>;
  Json doc;
  Check chk = ParseObject(doc, body);
  if (chk.first != Error::kNone) return R::Fail(chk.first, std::move(chk.second));
  if (doc.depth() >= kMaxDepth) {
    return R::Fail(Error::kConvert, "v1 body is nested " + std::to_string(doc.depth()) +
                                        " deep; as the v2 payload it would exceed " + std::to_string(kMaxDepth));
  }
  const auto& nodes = doc.nodes();
  // The body's string field `name`, nullopt when absent, "\x01" marker when
  // present but not a string.
  auto body_field = [&](std::string_view name) -> std::optional<std::string_view> {
    const std::int64_t i = doc.Find(0, name);
    if (i < 0) return std::nullopt;
    const Json::Node& n = nodes[static_cast<std::size_t>(i)];
    if (n.kind != Kind::kString) return std::string_view("\x01", 1);
    return n.text;
  };
  auto not_convertible = [](std::string msg) { return R::Fail(Error::kConvert, std::move(msg)); };
  Receipt r;
  r.version = 1;
  // Identity from the columns; the v1 body's own copy must agree.
  struct Id { std::string_view column_name, body_name, column; std::string* out; };
  const Id ids[] = {{"receipt_id", "", c.receipt_id, &r.receipt_id},
                    {"tenant_id", "tenant", c.tenant_id, &r.tenant_id},
                    {"op_id", "op", c.op_id, &r.op_id}};
  for (const Id& id : ids) {
    if (id.column.empty()) return not_convertible("column " + std::string(id.column_name) + " is empty");
    if (!id.body_name.empty()) {
      const auto b = body_field(id.body_name);
      if (b && *b != id.column) {
        return not_convertible("v1 body field \"" + std::string(id.body_name) + "\" is " +
                               (*b == std::string_view("\x01", 1) ? std::string("not a string")
                                                                    : "\"" + Printable(*b) + "\"") +
                               ", column " + std::string(id.column_name) + " is \"" + Printable(id.column) + "\"");
      }
    }
    id.out->assign(id.column);
  }
  // Attributes: the column, else the v1 body's field; a body field that
  // disagrees with a non-empty column is refused.
  const Id attrs[] = {{"policy_version", "policy", c.policy_version, &r.policy_version},
                      {"kid", "kid", c.kid, &r.kid},
                      {"region", "region", c.region, &r.region}};
  for (const Id& a : attrs) {
    const auto b = body_field(a.body_name);
    const bool b_str = b && *b != std::string_view("\x01", 1);
    if (!a.column.empty()) {
      if (b && (!b_str || *b != a.column)) {
        return not_convertible("v1 body field \"" + std::string(a.body_name) + "\" is " +
                               (b_str ? "\"" + Printable(*b) + "\"" : std::string("not a string")) +
                               ", column " + std::string(a.column_name) + " is \"" + Printable(a.column) + "\"");
      }
      a.out->assign(a.column);
    } else if (b_str && !b->empty()) {
      a.out->assign(*b);
    } else {
      return not_convertible("no " + std::string(a.column_name) + ": column " + std::string(a.column_name) +
                             " is NULL or empty and the v1 body has no non-empty string \"" +
                             std::string(a.body_name) + "\"");
    }
  }
  r.created_us = c.created_us;
  r.payload = Canonical(doc, 0);
  return r;
}

std::string WriteV2(const Receipt& r) {
  std::string s = "{";
  auto field = [&](std::string_view name, std::string_view value) {
    if (s.size() > 1) s.push_back(',');
    AppendString(name, &s);
    s.push_back(':');
    AppendString(value, &s);
  };
  // Members in canonical (sorted) order; every key is ASCII.
  if (r.action) field("action", *r.action);
  if (r.actor) field("actor", *r.actor);
  if (r.created_us) field("created_at", FormatTimestamp(*r.created_us));
  if (r.decision) field("decision", *r.decision);
  field("kid", r.kid);
  if (r.migrated_from_hash) {
    s.append(",\"migrated_from\":{\"content_hash\":");
    AppendString(*r.migrated_from_hash, &s);
    s.append(",\"version\":1}");
  }
  field("op_id", r.op_id);
  if (r.payload) {
    s.append(",\"payload\":");
    s.append(*r.payload);   // canonical already
  }
  field("policy_version", r.policy_version);
  field("receipt_id", r.receipt_id);
  field("region", r.region);
  if (r.resource) field("resource", *r.resource);
  field("schema", kSchemaV2);
  field("tenant_id", r.tenant_id);
  s.push_back('}');
  return s;
}

Result<std::string> ConvertV1(std::string_view v1_body, const Columns& columns) {
  auto r = ReadV1(v1_body, columns);
  if (!r) return Result<std::string>::Fail(r.code(), r.error());
  r.value().migrated_from_hash = std::string(columns.content_hash);
  return WriteV2(r.value());
}

std::pair<Error, std::string> CheckBody(int version, std::string_view body, const Columns& columns) {
  if (version != 1 && version != 2) {
    return {Error::kVersion, "unsupported receipt version " + std::to_string(version)};
  }
  thread_local Json doc;
  Check c = ParseObject(doc, body);
  if (c.first == Error::kNone && version == 2) {
    V2View v;
    c = ValidateV2(doc, &v);
    if (c.first == Error::kNone) c = CheckColumns(v, columns);
  }
  doc.Shrink(1 << 20);
  return c;
}

}  // namespace provledger::receipt
