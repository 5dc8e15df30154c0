// OTLP/JSON line mapping (decode/otlp.hh). Fixtures follow the OTLP JSON
// mapping of opentelemetry-proto (ExportTraceServiceRequest as the
// Collector's file exporter writes it with format: json).
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE otlp
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "decode/otlp.hh"

using namespace provledger;
using namespace provledger::decode;

namespace {

constexpr const char* kTrace = "5b8efff798038103d269b633813fc60c";
constexpr const char* kSpan = "eee19b7ec3c1b174";

std::string Attr(const std::string& key, const std::string& value_json) {
  return R"({"key":")" + key + R"(","value":)" + value_json + "}";
}
std::string Str(const std::string& key, const std::string& v) { return Attr(key, R"({"stringValue":")" + v + R"("})"); }

std::string Span(const std::string& attrs, const std::string& extra = "", const std::string& start = R"("1700000000123456789")",
                 const std::string& trace = kTrace, const std::string& span = kSpan) {
  return std::string(R"({"traceId":")") + trace + R"(","spanId":")" + span +
         R"(","parentSpanId":"","name":"POST /attest","kind":2,"startTimeUnixNano":)" + start +
         R"(,"endTimeUnixNano":"1700000000223456789","attributes":[)" + attrs +
         R"(],"status":{}, "droppedAttributesCount":0)" + extra + "}";
}

std::string Request(const std::string& spans, const std::string& resource_attrs = "") {
  return R"({"resourceSpans":[{"resource":{"attributes":[)" + resource_attrs +
         R"(]},"scopeSpans":[{"scope":{"name":"provledger-api","version":"1.2.3"},"spans":[)" + spans +
         R"(]}],"schemaUrl":"https://opentelemetry.io/schemas/1.21.0"}]})";
}

std::string Good(const std::string& extra_attrs = "") {
  return Str("provledger.tenant", "acme") + "," + Str("provledger.op_id", "op-1") + "," +
         Str("provledger.attested_hash", "sha256:ab") + extra_attrs;
}

struct Parsed {
  OtlpLineResult r;
  std::vector<SpanRow> rows;
};

Parsed Run(const std::string& line, OtlpKeys keys = {}) {
  OtlpParser p(std::move(keys), Limits{});
  std::string padded = line;
  padded.append(kOtlpPadding, '\0');
  Parsed out;
  out.r = p.Parse(std::string_view(padded.data(), line.size()), out.rows);
  return out;
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(one_span_mapped) {
  auto p = Run(Request(Span(Good())));
  BOOST_TEST(p.r.line_error == "");
  BOOST_TEST(p.r.span_errors.empty());
  BOOST_TEST(p.r.rows == 1u);
  BOOST_REQUIRE(p.rows.size() == 1u);
  BOOST_TEST(p.rows[0].trace_id == kTrace);
  BOOST_TEST(p.rows[0].span_id == kSpan);
  BOOST_TEST(p.rows[0].tenant == "acme");
  BOOST_TEST(p.rows[0].op_id == "op-1");
  BOOST_TEST(p.rows[0].attested_hash == "sha256:ab");
  BOOST_TEST(p.rows[0].start == 1700000000123456);
  BOOST_TEST(p.r.max_end_us == 1700000000223456);
  BOOST_TEST(p.r.min_start_us == 1700000000123456);
}

BOOST_AUTO_TEST_CASE(every_attribute_value_type) {
  // Unmapped attributes of every AnyValue type are skipped.
  const std::string others = "," + Attr("i", R"({"intValue":"42"})") + "," + Attr("i2", R"({"intValue":42})") + "," +
                             Attr("b", R"({"boolValue":true})") + "," + Attr("d", R"({"doubleValue":1.5})") + "," +
                             Attr("a", R"({"arrayValue":{"values":[{"stringValue":"x"},{"intValue":"1"}]}})") + "," +
                             Attr("k", R"({"kvlistValue":{"values":[{"key":"n","value":{"boolValue":false}}]}})") +
                             "," + Attr("y", R"({"bytesValue":"AQID"})") + "," + Attr("e", "{}");
  auto p = Run(Request(Span(Good(others))));
  BOOST_TEST(p.r.line_error == "");
  BOOST_TEST(p.rows.size() == 1u);
  // A mapped key with a non-string value is a span decode error naming the type.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"intValue":"7"})", "an intValue"},       {R"({"intValue":7})", "an intValue"},
      {R"({"boolValue":true})", "a boolValue"},     {R"({"doubleValue":2.5})", "a doubleValue"},
      {R"({"arrayValue":{"values":[]}})", "an arrayValue"}, {R"({"kvlistValue":{}})", "a kvlistValue"},
      {R"({"bytesValue":"AQID"})", "a bytesValue"}, {"{}", "an empty value"}};
  for (const auto& [value, name] : cases) {
    auto q = Run(Request(Span(Str("provledger.tenant", "acme") + "," + Attr("provledger.op_id", value))));
    BOOST_TEST(q.rows.empty(), value);
    BOOST_REQUIRE(q.r.span_errors.size() == 1u);
    BOOST_TEST(Contains(q.r.span_errors[0], "\"provledger.op_id\" is " + name), q.r.span_errors[0]);
    BOOST_TEST(q.r.rows == 1u);
  }
  // An attribute without a value is an empty value; key/value in either order.
  auto q = Run(Request(Span(R"({"value":{"stringValue":"t1"},"key":"provledger.tenant"},)" +
                            Str("provledger.op_id", "o"))));
  BOOST_REQUIRE(q.rows.size() == 1u);
  BOOST_TEST(q.rows[0].tenant == "t1");
  auto r = Run(Request(Span(Str("provledger.tenant", "acme") + R"(,{"key":"provledger.op_id"})")));
  BOOST_REQUIRE(r.r.span_errors.size() == 1u);
  BOOST_TEST(Contains(r.r.span_errors[0], "an empty value"));
}

BOOST_AUTO_TEST_CASE(string_escapes_are_decoded) {
  auto p = Run(Request(Span(Str("provledger.tenant", "ac\\u006de") + "," + Str("provledger.op_id", "a\\\"b"))));
  BOOST_REQUIRE(p.rows.size() == 1u);
  BOOST_TEST(p.rows[0].tenant == "acme");
  BOOST_TEST(p.rows[0].op_id == "a\"b");
}

BOOST_AUTO_TEST_CASE(missing_and_resource_attributes) {
  // No op_id anywhere: not an operation, not a row, not an error.
  auto p = Run(Request(Span(Str("provledger.tenant", "acme"))));
  BOOST_TEST(p.r.rows == 0u);
  BOOST_TEST(p.rows.empty());
  BOOST_TEST(p.r.span_errors.empty());
  BOOST_TEST(p.r.max_end_us == 1700000000223456, "a skipped span still moves the watermark");
  // op_id without tenant: a row that fails to decode.
  auto q = Run(Request(Span(Str("provledger.op_id", "o"))));
  BOOST_TEST(q.r.rows == 1u);
  BOOST_REQUIRE(q.r.span_errors.size() == 1u);
  BOOST_TEST(Contains(q.r.span_errors[0], "tenant_id is NULL"), q.r.span_errors[0]);
  // Tenant and hash from the resource; the span's own attribute wins.
  auto r = Run(Request(Span(Str("provledger.op_id", "o") + "," + Str("provledger.tenant", "span-t")),
                       Str("provledger.tenant", "res-t") + "," + Str("provledger.attested_hash", "h1")));
  BOOST_REQUIRE(r.rows.size() == 1u);
  BOOST_TEST(r.rows[0].tenant == "span-t");
  BOOST_TEST(r.rows[0].attested_hash == "h1");
  // No hash at all: empty.
  auto s = Run(Request(Span(Str("provledger.op_id", "o") + "," + Str("provledger.tenant", "t"))));
  BOOST_REQUIRE(s.rows.size() == 1u);
  BOOST_TEST(s.rows[0].attested_hash == "");
  // Resource after scopeSpans (JSON objects are unordered).
  auto t = Run(R"({"resourceSpans":[{"scopeSpans":[{"spans":[)" + Span(Str("provledger.op_id", "o")) +
               R"(]}],"resource":{"attributes":[)" + Str("provledger.tenant", "late") + "]}}]}");
  BOOST_REQUIRE(t.rows.size() == 1u);
  BOOST_TEST(t.rows[0].tenant == "late");
}

BOOST_AUTO_TEST_CASE(custom_keys_and_span_name_filter) {
  OtlpKeys keys;
  keys.tenant = "tenant.id";
  keys.op_id = "op";
  keys.attested_hash = "hash";
  keys.span_names = {"POST /attest"};
  auto p = Run(Request(Span(Str("tenant.id", "x") + "," + Str("op", "1") + "," + Str("hash", "h"))), keys);
  BOOST_REQUIRE(p.rows.size() == 1u);
  BOOST_TEST(p.rows[0].attested_hash == "h");
  keys.span_names = {"GET /other"};
  auto q = Run(Request(Span(Str("tenant.id", "x") + "," + Str("op", "1"))), keys);
  BOOST_TEST(q.rows.empty());
  BOOST_TEST(q.r.rows == 0u, "a filtered span is not a row");
}

BOOST_AUTO_TEST_CASE(duplicate_attributes) {
  auto p = Run(Request(Span(Good() + "," + Str("provledger.op_id", "op-2"))));
  BOOST_TEST(p.rows.empty());
  BOOST_REQUIRE(p.r.span_errors.size() == 1u);
  BOOST_TEST(Contains(p.r.span_errors[0], "\"provledger.op_id\" is given twice"));
  // Duplicates of unmapped keys do not matter.
  auto q = Run(Request(Span(Good("," + Str("x", "1") + "," + Str("x", "2")))));
  BOOST_TEST(q.rows.size() == 1u);
}

BOOST_AUTO_TEST_CASE(unknown_fields_ignored_everywhere) {
  const std::string line = R"({"future":{"a":[1,2,{"b":null}]},"resourceSpans":[{"x":1,"resource":{"y":[],"attributes":[]},)"
                           R"("scopeSpans":[{"z":"s","spans":[)" +
                           Span(Good(), R"(,"events":[{"timeUnixNano":"1","name":"e"}],"links":[],"newField":{"q":true})") +
                           R"(]}]}]})";
  auto p = Run(line);
  BOOST_TEST(p.r.line_error == "");
  BOOST_TEST(p.rows.size() == 1u);
  // An empty request and one without spans give nothing.
  BOOST_TEST(Run("{}").r.line_error == "");
  BOOST_TEST(Run(R"({"resourceSpans":[]})").rows.empty());
  BOOST_TEST(Run(R"({"resourceSpans":[{"scopeSpans":[{}]}]})").r.line_error == "");
}

BOOST_AUTO_TEST_CASE(bad_hex_ids) {
  const std::vector<std::pair<std::string, std::string>> traces = {
      {"5b8efff798038103d269b633813fc60", "31 characters"},
      {"5b8efff798038103d269b633813fc60c0", "33 characters"},
      {"5b8efff798038103d269b633813fc6zz", "not hex"},
      {"", "0 characters"}};
  for (const auto& [t, why] : traces) {
    auto p = Run(Request(Span(Good(), "", R"("1700000000123456789")", t)));
    BOOST_TEST(p.rows.empty(), t);
    BOOST_REQUIRE(p.r.span_errors.size() == 1u);
    BOOST_TEST(Contains(p.r.span_errors[0], "traceId"), p.r.span_errors[0]);
    BOOST_TEST(Contains(p.r.span_errors[0], why), p.r.span_errors[0]);
  }
  auto s = Run(Request(Span(Good(), "", R"("1700000000123456789")", kTrace, "eee19b7ec3c1b17g")));
  BOOST_REQUIRE(s.r.span_errors.size() == 1u);
  BOOST_TEST(Contains(s.r.span_errors[0], "spanId is not hex"));
  // Upper case is accepted and stored lower case.
  auto u = Run(Request(Span(Good(), "", R"("1700000000123456789")", "5B8EFFF798038103D269B633813FC60C",
                            "EEE19B7EC3C1B174")));
  BOOST_REQUIRE(u.rows.size() == 1u);
  BOOST_TEST(u.rows[0].trace_id == kTrace);
  BOOST_TEST(u.rows[0].span_id == kSpan);
}

BOOST_AUTO_TEST_CASE(nanosecond_edges) {
  auto start = [](const std::string& v) { return Run(Request(Span(Good(), "", v))); };
  BOOST_TEST(start(R"("1999")").rows.at(0).start == 1);
  BOOST_TEST(start(R"("999")").r.span_errors.empty());
  BOOST_TEST(start(R"("999")").rows.at(0).start == 0, "below 1 µs rounds down to 0");
  BOOST_TEST(start("1700000000123456789").rows.at(0).start == 1700000000123456, "a JSON integer is accepted");
  BOOST_TEST(start(R"("18446744073709551615")").rows.at(0).start == 18446744073709551);
  for (const std::string bad : {R"("18446744073709551616")", R"("-1")", R"("1.5")", R"("1e9")", R"(" 1")", R"("")",
                                R"("0x10")", "-5", "1.5", "true", "null"}) {
    auto p = start(bad);
    BOOST_TEST(p.rows.empty(), bad);
    BOOST_REQUIRE(p.r.span_errors.size() == 1u);
    BOOST_TEST(Contains(p.r.span_errors[0], "startTimeUnixNano is not a decimal uint64"), bad << ": " << p.r.span_errors[0]);
  }
  auto zero = start(R"("0")");
  BOOST_REQUIRE(zero.r.span_errors.size() == 1u);
  BOOST_TEST(Contains(zero.r.span_errors[0], "is 0"));
  // Missing start.
  auto m = Run(Request(R"({"traceId":")" + std::string(kTrace) + R"(","spanId":")" + kSpan +
                       R"(","attributes":[)" + Good() + "]}"));
  BOOST_REQUIRE(m.r.span_errors.size() == 1u);
  BOOST_TEST(Contains(m.r.span_errors[0], "startTimeUnixNano is missing"));
}

BOOST_AUTO_TEST_CASE(malformed_line_is_one_error_and_no_rows) {
  const std::string good = Span(Good());
  for (const std::string& bad :
       {std::string("not json"), std::string("[]"), std::string(R"({"resourceSpans":{}})"),
        Request(good + ",") + "", Request(good).substr(0, 120), Request(good) + " x",
        std::string(R"({"resourceSpans":[{"scopeSpans":[{"spans":[1]}]}]})"),
        std::string(R"({"resourceSpans":[{"scopeSpans":[{"spans":[)") + good + R"(,{"traceId":5}]}]}]})",
        std::string(R"({"resourceSpans":[{"scopeSpans":[{"spans":[)") + good + R"(,{"attributes":{}}]}]}]})"}) {
    auto p = Run(bad);
    BOOST_TEST(!p.r.line_error.empty(), bad);
    BOOST_TEST(p.rows.empty(), bad);
    BOOST_TEST(p.r.rows == 0u);
    BOOST_TEST(Contains(p.r.line_error, "malformed OTLP JSON line"));
  }
}

BOOST_AUTO_TEST_CASE(bad_span_does_not_spoil_its_line) {
  const std::string line = Request(Span(Good()) + "," + Span(Str("provledger.op_id", "o2")) + "," +
                                   Span(Good(), "", R"("1700000000999999999")"));
  auto p = Run(line);
  BOOST_TEST(p.r.rows == 3u);
  BOOST_TEST(p.rows.size() == 2u);
  BOOST_TEST(p.r.span_errors.size() == 1u);
  BOOST_TEST(p.r.min_start_us == 1700000000123456);
}

BOOST_AUTO_TEST_CASE(tenant_rules_are_the_decode_rules) {
  OtlpParser parser(OtlpKeys{}, Limits{4});
  std::string line = Request(Span(Str("provledger.tenant", "toolong") + "," + Str("provledger.op_id", "o")));
  line.append(kOtlpPadding, '\0');
  std::vector<SpanRow> rows;
  auto r = parser.Parse(std::string_view(line.data(), line.size() - kOtlpPadding), rows);
  BOOST_TEST(rows.empty());
  BOOST_REQUIRE(r.span_errors.size() == 1u);
  BOOST_TEST(Contains(r.span_errors[0], "longer than 4"), r.span_errors[0]);
}
