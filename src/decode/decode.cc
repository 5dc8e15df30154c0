#include "decode/decode.hh"

#include <array>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

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

// Streams the body through nlohmann's SAX parser: no DOM is built, and only
// the top-level string fields a v2 receipt must carry are kept.
class BodyScanner {
 public:
  static constexpr std::array<std::string_view, 7> kFields = {
      "schema", "receipt_id", "tenant_id", "op_id", "policy_version", "kid", "region"};

  using json = nlohmann::json;

  bool null() { return Scalar(); }
  bool boolean(bool) { return Scalar(); }
  bool number_integer(json::number_integer_t) { return Scalar(); }
  bool number_unsigned(json::number_unsigned_t) { return Scalar(); }
  bool number_float(json::number_float_t, const std::string&) { return Scalar(); }
  bool binary(json::binary_t&) { return Scalar(); }
  bool string(std::string& val) {
    if (!First("string")) return false;
    if (depth_ == 1 && pending_ >= 0) {
      values_[static_cast<std::size_t>(pending_)] = std::move(val);
      state_[static_cast<std::size_t>(pending_)] = kString;
    }
    pending_ = -1;
    return true;
  }
  bool start_object(std::size_t) {
    if (!First("object")) return false;
    Container();
    ++depth_;
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    if (!First("array")) return false;
    Container();
    ++depth_;
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool key(std::string& k) {
    pending_ = -1;
    if (depth_ != 1) return true;
    for (std::size_t i = 0; i < kFields.size(); ++i) {
      if (k == kFields[i]) {
        if (state_[i] != kAbsent) {
          duplicate_ = static_cast<int>(i);
          return false;
        }
        state_[i] = kOther;
        pending_ = static_cast<int>(i);
        break;
      }
    }
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    error_ = "body is not valid JSON (byte " + std::to_string(position) + "): " +
             Printable(ex.what(), 160);
    return false;
  }

  // Runs the scan; "" when the body is a JSON object.
  std::string Scan(std::string_view body) {
    const bool ok = json::sax_parse(body.begin(), body.end(), this);
    if (not_object_) return "body is a JSON " + std::string(first_kind_) + ", not an object";
    if (duplicate_ >= 0) return "body field \"" + std::string(kFields[static_cast<std::size_t>(duplicate_)]) + "\" appears twice";
    if (!ok) return error_.empty() ? std::string("body is not valid JSON") : error_;
    return {};
  }

  // "" when field i is a string equal to `want`.
  std::string Expect(std::size_t i, std::string_view want) const {
    const std::string name(kFields[i]);
    if (state_[i] == kAbsent) return "v2 body lacks field \"" + name + "\"";
    if (state_[i] != kString) return "v2 body field \"" + name + "\" is not a string";
    if (values_[i] != want) {
      return "v2 body field \"" + name + "\" is \"" + Printable(values_[i]) +
             "\", expected \"" + Printable(want) + "\"";
    }
    return {};
  }

 private:
  enum State { kAbsent, kOther, kString };

  // Records the kind of the top-level value; refuses anything but an object.
  bool First(const char* kind) {
    if (seen_first_) return true;
    seen_first_ = true;
    first_kind_ = kind;
    if (std::string_view(kind) != "object") {
      not_object_ = true;
      return false;
    }
    return true;
  }
  bool Scalar() {
    if (!seen_first_) return First("scalar (number, boolean or null)");
    pending_ = -1;   // a non-string value of a watched field leaves it kOther
    return true;
  }
  void Container() {
    if (!seen_first_) return;
    pending_ = -1;
  }

  int depth_ = 0;
  int pending_ = -1;
  int duplicate_ = -1;
  bool seen_first_ = false;
  bool not_object_ = false;
  const char* first_kind_ = "";
  std::array<State, kFields.size()> state_{};
  std::array<std::string, kFields.size()> values_;
  std::string error_;
};

}  // namespace

std::string ValidateTenant(std::string_view name, std::size_t max_bytes) {
  if (name.empty()) return "tenant name is empty";
  if (name.size() > max_bytes) {
    return "tenant name is " + std::to_string(name.size()) + " bytes, longer than " +
           std::to_string(max_bytes) + ": \"" + Printable(name, 32) + "\"";
  }
  if (name.find('\0') != std::string_view::npos) return "tenant name contains a NUL byte";
  if (!IsValidUtf8(name)) return "tenant name is not valid UTF-8: \"" + Printable(name) + "\"";
  return {};
}

std::optional<std::int64_t> ParseInt64(std::string_view s) {
  std::int64_t v = 0;
  const char* b = s.data();
  const char* e = b + s.size();
  if (b == e) return std::nullopt;
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

Decoded<SpanRow> DecodeSpan(const SpanColumns& c, const Limits& limits) {
  using D = Decoded<SpanRow>;
  std::string e;
  SpanRow r;
  if (!(e = CheckId(c.trace_id, "trace_id")).empty()) return D::Error(e);
  if (!(e = CheckId(c.span_id, "span_id")).empty()) return D::Error(e);
  if (!(e = CheckTenant(c.tenant_id, "tenant_id", limits)).empty()) return D::Error(e);
  if (!(e = CheckId(c.op_id, "op_id")).empty()) return D::Error(e);
  if (!(e = CheckMicros(c.start_us, "start_us", &r.start)).empty()) return D::Error(e);
  if (!(e = CheckText(c.attested_hash, "attested_hash", true)).empty()) return D::Error(e);
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
