#include "decode/otlp.hh"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "decode/utf8.hh"

namespace provledger::decode {

namespace dom = simdjson::dom;

static_assert(kOtlpPadding >= simdjson::SIMDJSON_PADDING, "kOtlpPadding must cover simdjson's padding");

namespace {

// One mapped attribute as found in one attributes list (or the resource's).
struct Attr {
  bool present = false;
  bool duplicate = false;
  std::string_view text;          // stringValue
  const char* wrong_type = nullptr;   // the value's type when not a stringValue
};

struct Mapped {
  Attr tenant, op_id, attested;
};

// Thrown inside the parser for a malformed line (caught in Parse).
struct LineError {
  std::string msg;
};

[[noreturn]] void Bad(std::string msg) { throw LineError{std::move(msg)}; }

template <class T>
T Get(simdjson::simdjson_result<T> r, const char* what) {
  T v;
  if (auto e = std::move(r).get(v); e) Bad(std::string(what) + ": " + simdjson::error_message(e));
  return v;
}

const char* ValueTypeName(std::string_view key) {
  if (key == "intValue") return "an intValue";
  if (key == "boolValue") return "a boolValue";
  if (key == "doubleValue") return "a doubleValue";
  if (key == "arrayValue") return "an arrayValue";
  if (key == "kvlistValue") return "a kvlistValue";
  if (key == "bytesValue") return "a bytesValue";
  return nullptr;   // unknown field of AnyValue: ignored
}

// Reads an AnyValue object into `a` (only stringValue is a usable value).
void ReadAnyValue(dom::element v, Attr& a) {
  dom::object o = Get(v.get_object(), "attribute value is not an object");
  bool got = false;
  for (auto [k, fv] : o) {
    if (k == "stringValue") {
      a.text = Get(fv.get_string(), "stringValue is not a string");
      a.wrong_type = nullptr;
      got = true;
    } else if (const char* t = ValueTypeName(k)) {
      a.wrong_type = t;
      got = true;
    }
  }
  if (!got) a.wrong_type = "an empty value";
}

// Reads a KeyValue list, keeping the three mapped keys (fields in any order).
void ReadAttributes(dom::element v, const OtlpKeys& keys, Mapped& m) {
  dom::array arr = Get(v.get_array(), "attributes is not an array");
  for (dom::element el : arr) {
    dom::object kv = Get(el.get_object(), "attribute is not an object");
    std::string_view key;
    dom::element value;
    bool have_value = false;
    for (auto [k, fv] : kv) {
      if (k == "key") {
        key = Get(fv.get_string(), "attribute key is not a string");
      } else if (k == "value") {
        value = fv;
        have_value = true;
      }
    }
    Attr* target = key == keys.tenant ? &m.tenant
                   : key == keys.op_id ? &m.op_id
                   : key == keys.attested_hash ? &m.attested
                                               : nullptr;
    if (target == nullptr) continue;
    if (target->present) {
      target->duplicate = true;
      continue;
    }
    target->present = true;
    if (!have_value) {
      target->wrong_type = "an empty value";
      continue;
    }
    ReadAnyValue(value, *target);
  }
}

// uint64 nanoseconds from a decimal string or a JSON integer; false when
// it is neither.
bool ReadNanos(dom::element v, std::uint64_t& out) {
  if (v.is_uint64()) {
    out = v.get_uint64().value_unsafe();
    return true;
  }
  if (!v.is_string()) return false;
  std::string_view s = v.get_string().value_unsafe();
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lowercase copy of a hex id of `len` digits into `buf`; "" when bad.
std::string CheckHexId(std::string_view s, std::size_t len, char* buf, std::string_view what,
                       std::string_view* out) {
  if (s.size() != len) {
    return std::string(what) + " is " + std::to_string(s.size()) + " characters, expected " +
           std::to_string(len) + " hex digits: \"" + Printable(s, 40) + "\"";
  }
  for (std::size_t i = 0; i < len; ++i) {
    const int h = Hex(s[i]);
    if (h < 0) return std::string(what) + " is not hex: \"" + Printable(s, 40) + "\"";
    buf[i] = "0123456789abcdef"[h];
  }
  *out = std::string_view(buf, len);
  return {};
}

std::string AttrError(const Attr& a, std::string_view key) {
  if (a.duplicate) return "attribute \"" + Printable(key, 64) + "\" is given twice";
  if (a.wrong_type != nullptr) {
    return "attribute \"" + Printable(key, 64) + "\" is " + a.wrong_type + ", expected a stringValue";
  }
  return {};
}

}  // namespace

struct OtlpParser::Impl {
  OtlpKeys keys;
  Limits limits;
  dom::parser parser;
};

OtlpParser::OtlpParser(OtlpKeys keys, Limits limits) : impl_(std::make_unique<Impl>()) {
  impl_->keys = std::move(keys);
  impl_->limits = limits;
}

OtlpParser::~OtlpParser() = default;

OtlpLineResult OtlpParser::Parse(std::string_view line, std::vector<SpanRow>& out) {
  OtlpLineResult res;
  const std::size_t keep = out.size();
  const OtlpKeys& keys = impl_->keys;
  try {
    if (impl_->parser.capacity() < line.size()) {
      if (auto e = impl_->parser.allocate(line.size()); e) Bad(simdjson::error_message(e));
    }
    dom::element doc = Get(impl_->parser.parse(line.data(), line.size(), false), "not JSON");
    dom::object root = Get(doc.get_object(), "line is not a JSON object");
    for (auto [rk, rv] : root) {
      if (rk != "resourceSpans") continue;
      dom::array rss = Get(rv.get_array(), "resourceSpans is not an array");
      for (dom::element rs_el : rss) {
        dom::object rs = Get(rs_el.get_object(), "resourceSpans element is not an object");
        Mapped resource;
        dom::element res_v;
        if (!rs["resource"].get(res_v)) {
          dom::object ro = Get(res_v.get_object(), "resource is not an object");
          dom::element attrs;
          if (!ro["attributes"].get(attrs)) ReadAttributes(attrs, keys, resource);
        }
        dom::element ssv;
        if (rs["scopeSpans"].get(ssv)) continue;
        dom::array sss = Get(ssv.get_array(), "scopeSpans is not an array");
        for (dom::element ss_el : sss) {
          dom::object ss = Get(ss_el.get_object(), "scopeSpans element is not an object");
          dom::element spans_v;
          if (ss["spans"].get(spans_v)) continue;
          dom::array spans = Get(spans_v.get_array(), "spans is not an array");
          for (dom::element sp_el : spans) {
            dom::object sp = Get(sp_el.get_object(), "span is not an object");
            std::string_view trace_id, span_id, name;
            bool have_trace = false, have_span = false, have_name = false;
            bool start_ok = false, end_ok = false, start_given = false;
            std::uint64_t start_ns = 0, end_ns = 0;
            Mapped attrs;
            for (auto [k, fv] : sp) {
              if (k == "traceId") {
                trace_id = Get(fv.get_string(), "traceId is not a string");
                have_trace = true;
              } else if (k == "spanId") {
                span_id = Get(fv.get_string(), "spanId is not a string");
                have_span = true;
              } else if (k == "name") {
                name = Get(fv.get_string(), "name is not a string");
                have_name = true;
              } else if (k == "startTimeUnixNano") {
                start_given = true;
                start_ok = ReadNanos(fv, start_ns);
              } else if (k == "endTimeUnixNano") {
                end_ok = ReadNanos(fv, end_ns);
              } else if (k == "attributes") {
                ReadAttributes(fv, keys, attrs);
              }
            }
            if (end_ok) res.max_end_us = std::max(res.max_end_us, static_cast<Micros>(end_ns / 1000));
            if (!keys.span_names.empty() &&
                std::find(keys.span_names.begin(), keys.span_names.end(), have_name ? name : std::string_view()) ==
                    keys.span_names.end()) {
              continue;
            }
            const Attr& op = attrs.op_id.present ? attrs.op_id : resource.op_id;
            if (!op.present) continue;   // not an operation
            ++res.rows;
            const Attr& tenant = attrs.tenant.present ? attrs.tenant : resource.tenant;
            const Attr& hash = attrs.attested.present ? attrs.attested : resource.attested;
            std::string err;
            char tbuf[32], sbuf[16];
            std::string_view tid, sid;
            char us_buf[24];
            std::string_view us_text;
            if (!(err = AttrError(op, keys.op_id)).empty() || !(err = AttrError(tenant, keys.tenant)).empty() ||
                !(err = AttrError(hash, keys.attested_hash)).empty()) {
            } else if (!have_trace) {
              err = "traceId is missing";
            } else if (!(err = CheckHexId(trace_id, 32, tbuf, "traceId", &tid)).empty()) {
            } else if (!have_span) {
              err = "spanId is missing";
            } else if (!(err = CheckHexId(span_id, 16, sbuf, "spanId", &sid)).empty()) {
            } else if (!start_given) {
              err = "startTimeUnixNano is missing";
            } else if (!start_ok) {
              err = "startTimeUnixNano is not a decimal uint64";
            } else if (start_ns == 0) {
              err = "startTimeUnixNano is 0 (unset)";
            } else {
              auto [p, ec] = std::to_chars(us_buf, us_buf + sizeof us_buf, start_ns / 1000);
              (void)ec;
              us_text = std::string_view(us_buf, static_cast<std::size_t>(p - us_buf));
              SpanColumns c{Field{tid, false},
                            Field{sid, false},
                            tenant.present ? Field{tenant.text, false} : Field::Null(),
                            Field{op.text, false},
                            Field{us_text, false},
                            hash.present ? Field{hash.text, false} : Field::Null()};
              auto d = DecodeSpan(c, impl_->limits);
              if (d.ok()) {
                res.min_start_us = std::min(res.min_start_us, d.value().start);
                out.push_back(std::move(d.value()));
                continue;
              }
              err = d.error();
            }
            res.span_errors.push_back("span " + std::string(have_span ? Printable(span_id, 40) : "?") + ": " + err);
          }
        }
      }
    }
  } catch (const LineError& e) {
    out.resize(keep);
    res = OtlpLineResult{};
    res.line_error = "malformed OTLP JSON line: " + e.msg;
  }
  return res;
}

}  // namespace provledger::decode
