// Pins the receipt body check of the decoder (decode::CheckReceiptBody, which
// is receipt::CheckBody of src/receipt): a table of valid and invalid JSON
// bodies, the v2 field rules with escapes, the nesting limit, and a
// differential test against a reference built on nlohmann::json (its parser
// with a callback for duplicate keys and depth, then the v2 contract on the
// DOM) on a deterministic corpus of mutated bodies.
#define BOOST_TEST_MODULE decode_body
#include <boost/test/unit_test.hpp>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "decode/decode.hh"
#include "decode/utf8.hh"
#include "receipt/receipt.hh"

using namespace provledger;
using namespace provledger::decode;
using namespace std::string_literals;

namespace {

using json = nlohmann::json;

struct RefError {
  std::string msg;
};

// The contract's strict JSON (docs/receipts.md) with nlohmann's parser: its
// RFC 8259 checks, plus what I-JSON adds and nlohmann lets through.
json RefParse(std::string_view body) {
  if (body.size() >= 3 && body.substr(0, 3) == "\xef\xbb\xbf") throw RefError{"BOM"};
  // nlohmann takes a NUL byte between tokens for the end of the input; a
  // raw NUL is never valid anywhere in strict JSON.
  if (body.find('\0') != std::string_view::npos) throw RefError{"NUL"};
  std::vector<std::set<std::string>> keys;
  int depth = 0;
  auto cb = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        [[fallthrough]];
      case json::parse_event_t::array_start:
        if (++depth > receipt::kMaxDepth) throw RefError{"depth"};
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        [[fallthrough]];
      case json::parse_event_t::array_end:
        --depth;
        break;
      case json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second) throw RefError{"duplicate"};
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(body.begin(), body.end(), cb);
  } catch (const json::exception& e) {
    throw RefError{e.what()};
  }
}

// The v2 contract and column check of docs/receipts.md on nlohmann's DOM,
// with the library's messages.
std::string RefCheckReceiptBody(int version, std::string_view body, const ReceiptRow& r) {
  if (version != 1 && version != 2) return "unsupported receipt version " + std::to_string(version);
  json v;
  try {
    v = RefParse(body);
  } catch (const RefError&) {
    return "body is not valid JSON";
  }
  if (!v.is_object()) {
    return std::string("body is a JSON ") +
           (v.is_array() ? "array" : v.is_string() ? "string" : "scalar (number, boolean or null)") +
           ", not an object";
  }
  if (version == 1) return {};
  const std::vector<std::string> fields = {"schema", "receipt_id", "tenant_id", "op_id", "policy_version",
                                           "kid", "region", "created_at", "action", "actor", "resource",
                                           "decision", "payload", "migrated_from"};
  std::optional<std::int64_t> created;
  for (std::size_t f = 0; f < fields.size(); ++f) {
    const std::string& name = fields[f];
    const bool required = f <= 6;
    if (!v.contains(name)) {
      if (required) return "v2 body lacks field \"" + name + "\"";
      continue;
    }
    const json& x = v[name];
    if (name == "payload" || name == "migrated_from") {
      if (!x.is_object()) return "v2 body field \"" + name + "\" is not an object";
      if (name == "migrated_from") {
        if (!x.contains("version") || !x["version"].is_number() || x["version"].get<double>() != 1.0) {
          return "v2 body field \"migrated_from\" needs \"version\": 1";
        }
        if (!x.contains("content_hash") || !x["content_hash"].is_string()) {
          return "v2 body field \"migrated_from\" needs a string \"content_hash\"";
        }
      }
      continue;
    }
    if (!x.is_string()) return "v2 body field \"" + name + "\" is not a string";
    const std::string s = x.get<std::string>();
    if (name == "schema") {
      if (s != kReceiptSchemaV2) {
        return "v2 body field \"schema\" is \"" + Printable(s) + "\", expected \"" + std::string(kReceiptSchemaV2) + "\"";
      }
    } else if (required && s.empty()) {
      return "v2 body field \"" + name + "\" is empty";
    } else if (name == "created_at") {
      created = receipt::ParseTimestamp(s);
      if (!created) {
        return "v2 body field \"created_at\" is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z): \"" +
               Printable(s) + "\"";
      }
    }
  }
  const std::array<std::pair<const char*, std::string>, 6> want = {{{"receipt_id", r.receipt_id},
                                                                   {"tenant_id", r.tenant},
                                                                   {"op_id", r.op_id},
                                                                   {"policy_version", r.policy_version},
                                                                   {"kid", r.kid},
                                                                   {"region", r.region}}};
  for (const auto& [name, w] : want) {
    const std::string got = v[name].get<std::string>();
    if (got != w) {
      return "v2 body field \"" + std::string(name) + "\" is \"" + Printable(got) + "\", expected \"" +
             Printable(w) + "\"";
    }
  }
  if (created && *created != r.created_at) {
    return "v2 body field \"created_at\" is \"" + Printable(v["created_at"].get<std::string>()) +
           "\", expected \"" + receipt::FormatTimestamp(r.created_at) + "\"";
  }
  return {};
}

ReceiptRow Row() {
  ReceiptRow r;
  r.receipt_id = "r-1";
  r.tenant = "acme";
  r.op_id = "op-1";
  r.region = "eu-west";
  r.policy_version = "p7";
  r.kid = "k1";
  r.version = 2;
  return r;
}

const std::string kV2 =
    R"({"schema":"provledger.receipt/v2","receipt_id":"r-1","tenant_id":"acme",)"
    R"("op_id":"op-1","policy_version":"p7","kid":"k1","region":"eu-west"})";

bool StartsWith(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }
bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

const char kInvalid[] = "body is not valid JSON";

// JSON-object validity as the v1 check sees it ("" = accepted).
std::string V1(std::string_view body) { return CheckReceiptBody(1, body, Row()); }

}  // namespace

BOOST_AUTO_TEST_SUITE(table)

// Each entry: a body that must be accepted as a v1 receipt body; nlohmann's
// accept() must agree.
BOOST_AUTO_TEST_CASE(valid_bodies) {
  const std::vector<std::string> valid = {
      "{}", " {} ", "\t\r\n{\t\r\n}\t\r\n", "{ \"a\" : 1 , \"b\" : [ 1 , 2 ] }",
      R"({"a":"\"\\\/\b\f\n\r\t"})", R"({"a":"\u0041\u00e9\u20AC\uFFFF"})",
      R"({"a":"\ud83d\ude00"})", R"({"a":"\uD83D\uDE00x"})", R"({"a":"\u0000"})",
      R"({"a":-0})", R"({"a":-0.0e0})", R"({"a":1e5})", R"({"a":1E+5})", R"({"a":1e-5})",
      R"({"a":0.5})", R"({"a":12.25e007})", R"({"a":-9223372036854775808})",
      R"({"a":18446744073709551615})", R"({"a":123456789012345678901234567890})",
      R"({"a":1.7976931348623157e308})", R"({"a":-1.7976931348623157e308})",
      R"({"a":17976931348623157e292})", R"({"a":0.00000000001e318})", R"({"a":1e-400})",
      R"({"a":0e999999999999999999999})", R"({"a":[]})", R"({"a":[ ]})", R"({"a":{}})",
      R"({"a":{ }})", R"({"a":[1,[2,[3]],{"b":null}]})", R"({"a":true,"b":false,"c":null})",
      "{\"\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xed\x9f\xbf\"}",
      "{\"a\":\"\x7f\"}", R"({"":""})",
      R"({"kid":1,"x":{"kid":2},"y":[{"kid":3}]})",   // the same key in different objects
      R"({"k\u0069":1,"kid2":2,"KID":3})",
      std::string(R"({"a":")") + std::string(1000, 'x') + "\"}",
  };
  for (const std::string& b : valid) {
    BOOST_TEST(V1(b).empty(), Printable(b) << ": " << V1(b));
    BOOST_TEST(nlohmann::json::accept(b), Printable(b));
    BOOST_TEST(RefCheckReceiptBody(1, b, Row()).empty(), Printable(b));
  }
  BOOST_TEST(valid.size() >= 36u);
}

// What nlohmann (the previous check) accepted and the receipt contract's
// strict reader refuses (docs/receipts.md, JSON rules).
BOOST_AUTO_TEST_CASE(refused_since_receipts_v2) {
  const std::vector<std::string> refused = {
      "\xef\xbb\xbf{}", "\xef\xbb\xbf {\"a\":1}",                        // byte order mark
      R"({"a":1,"a":2})", R"({"x":{"kid":1,"kid":2}})", R"({"a":1,"\u0061":2})",  // duplicate keys
      "{}\0"s, "{} \0junk"s, "{\"a\":1}\0{"s,                                // NUL after the value
      "{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}",          // deeper than 128
  };
  for (const std::string& b : refused) {
    BOOST_TEST(StartsWith(V1(b), kInvalid), Printable(b) << ": " << V1(b));
    BOOST_TEST(StartsWith(RefCheckReceiptBody(1, b, Row()), kInvalid), Printable(b));
    BOOST_TEST(nlohmann::json::accept(b), Printable(b));
  }
  BOOST_TEST(Contains(V1(R"({"a":1,"a":2})"), "duplicate key \"a\""), V1(R"({"a":1,"a":2})"));
  BOOST_TEST(Contains(V1("\xef\xbb\xbf{}"), "byte order mark"));
}

// Each entry: a body that is not valid JSON; the error says so, and
// nlohmann's accept() agrees.
BOOST_AUTO_TEST_CASE(invalid_bodies) {
  const std::vector<std::string> invalid = {
      "", " ", "\n", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}",
      "{\"a\":1,,\"b\":2}", "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":[1 2]}", "{\"a\":[}", "{\"a\":{]}",
      "{\"a\":[1}", "{\"a\":01}", "{\"a\":-01}", "{\"a\":00}", "{\"a\":+1}", "{\"a\":.5}",
      "{\"a\":1.}", "{\"a\":1.e5}", "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":1E-}", "{\"a\":-}",
      "{\"a\":--1}", "{\"a\":- 1}", "{\"a\":0x10}", "{\"a\":1.5.3}", "{\"a\":1e5e3}", "{\"a\":NaN}",
      "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":1e400}", "{\"a\":-1e400}",
      "{\"a\":1.7976931348623159e308}", "{\"a\":1e309}", "{\"a\":0.001e400}",
      "{\"a\":" + std::string(400, '9') + "}", "{\"a\":1e99999999999999999999999}",
      "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":nulll}", "{\"a\":falsey}",
      "{'a':1}", "{a:1}", "{\"a\":'x'}", "{\"a\":\"\\x\"}", "{\"a\":\"\\U0041\"}", "{\"a\":\"\\u12\"}",
      "{\"a\":\"\\u12G4\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\ud800x\"}", "{\"a\":\"\\ud800\\u0041\"}",
      "{\"a\":\"\\ud800\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\udfff\\ud800\"}",
      "{\"a\":\"\\udfff\"}", "{\"a\":\"\\udc00x\"}", "{\"a\":\"\\u00/0\"}", "{\"a\":\"\\u00:0\"}",
      "{\"a\":\"\\u00@0\"}", "{\"a\":\"\\u00G0\"}", "{\"a\":\"\\u00`0\"}", "{\"a\":\"\\u00g0\"}",
      "{\"a\":\"\\ud800\\n\"}", "{\"a\":\"\\", "{\"a\":\"abc", "{\"a\":\"x\ny\"}",
      "{\"a\":\"\x01\"}", "{\"a\":\"\x1f\"}", "{\"a\":\"\t\"}", "{\"a\":\"a\0b\"}"s,
      "{\"a\":\"\xff\"}", "{\"a\":\"\x80\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xc1\xbf\"}",
      "{\"a\":\"\xe0\x80\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf0\x80\x80\xaf\"}",
      "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"\xe2\x82\"}",
      "{\"a\":\"\xe2\x28\xa1\"}", "{\"a\":\"\xc3", "{\"\xff\":1}", "{\"a\":1}\xc3\xa9",
      "{} {}", "{}x", "{},", "{}\x01", "{\"a\":1}/", "{/*c*/}", "{\"a\":1}//",
      "\xef\xbb{}", "\xef{}", " \xef\xbb\xbf{}", "{}\xef\xbb\xbf", "\xef\xbb\xbf",
      "{\"a\":1\x0b}", "{\"a\":1\f}", "\x0b{}", "{\"a\"\x00:1}"s, "\0{}"s, "{\0}"s, "{\"a\":1\0}"s, "{\"a\":[1\0]}"s,
  };
  for (const std::string& b : invalid) {
    const std::string e = V1(b);
    BOOST_TEST(StartsWith(e, kInvalid), Printable(b) << ": " << e);
    BOOST_TEST(!nlohmann::json::accept(b), Printable(b));
    BOOST_TEST(StartsWith(RefCheckReceiptBody(1, b, Row()), kInvalid), Printable(b));
    BOOST_TEST(!Contains(e, "\n"), "log-safe: " << e);
  }
  BOOST_TEST(invalid.size() >= 90u);
}

// Every proper prefix of a valid body is truncated JSON.
BOOST_AUTO_TEST_CASE(truncated_bodies) {
  const std::string b = std::string(R"({ "s":"a\"\u00e9\ud83d\ude00", "n":[-1.5e+3, 0, true, false, null],)") +
                        R"( "o":{"k":{}} ,"kid":"k1"})";
  BOOST_TEST_REQUIRE(V1(b).empty(), V1(b));
  for (std::size_t n = 0; n < b.size(); ++n) {
    const std::string e = V1(b.substr(0, n));
    BOOST_TEST(StartsWith(e, kInvalid), n << ": " << e);
  }
}

BOOST_AUTO_TEST_CASE(nesting_is_limited_to_128_levels) {
  auto arrays = [](std::size_t depth) {   // the body object is level 1
    return "{\"a\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  BOOST_TEST(V1(arrays(128)).empty());
  BOOST_TEST(Contains(V1(arrays(129)), "nesting deeper than 128 levels"), V1(arrays(129)));
  std::string objects = "{";
  for (std::size_t i = 1; i < 128; ++i) objects += "\"k\":{";
  objects += std::string(128, '}');
  BOOST_TEST(V1(objects).empty(), V1(objects));
  BOOST_TEST(StartsWith(V1("{\"k\":" + objects + "}"), kInvalid));
  // Huge depth fails fast, without recursion.
  BOOST_TEST(StartsWith(V1("{\"a\":" + std::string(1000000, '[')), kInvalid));
  BOOST_TEST(StartsWith(V1(arrays(100).substr(0, arrays(100).size() - 2) + "}"), kInvalid));   // one ']' short
}

BOOST_AUTO_TEST_CASE(top_level_kind) {
  BOOST_TEST(V1("[]") == "body is a JSON array, not an object");
  BOOST_TEST(V1(" [1, {\"a\":2}] ") == "body is a JSON array, not an object");
  BOOST_TEST(V1("\"s\"") == "body is a JSON string, not an object");
  const std::string scalar = "body is a JSON scalar (number, boolean or null), not an object";
  for (const char* b : {"0", "-0", "1e5", "true", "false", "null"}) {
    BOOST_TEST(V1(b) == scalar, b);
  }
  // The whole text must be JSON before its kind counts.
  for (const char* b : {"[", "[1,", " [}", "\"s\" junk", "01", "1.5.3", "nullx", "42 {}", "\"s", "\"\\q\"", "-",
                        "1.", "1e400", "tru", "}", "]", ",", ":", "x", "+1"}) {
    BOOST_TEST(StartsWith(V1(b), kInvalid), b << ": " << V1(b));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fields)

BOOST_AUTO_TEST_CASE(duplicates_are_refused_for_v1_and_v2) {
  for (int v : {1, 2}) {
    for (const char* b : {R"({"kid":1,"kid":2})", R"({"kid":1,"k\u0069d":2})", R"({"schema":{},"schema":[]})",
                          R"({"a":{"x":1,"y":2,"x":3}})", R"({"a":[{"b":1},{"b":1,"b":1}]})"}) {
      const std::string e = CheckReceiptBody(v, b, Row());
      BOOST_TEST(StartsWith(e, kInvalid), b << ": " << e);
      BOOST_TEST(Contains(e, "duplicate key"), b << ": " << e);
    }
  }
}

BOOST_AUTO_TEST_CASE(v2_values_with_escapes_are_compared_unescaped) {
  ReceiptRow r = Row();
  auto body = [](std::string tenant_json, std::string kid_json) {
    return R"({"schema":"provledger.receipt\/v2","receipt_id":"r-1","tenant_id":)" + tenant_json +
           R"(,"op_id":"op-1","policy_version":"p7","kid":)" + kid_json + R"(,"region":"eu-west"})";
  };
  BOOST_TEST(CheckReceiptBody(2, body(R"("ac\u006De")", R"("k1")"), r).empty());
  r.tenant = "t\xc3\xa9";
  r.kid = "\xf0\x9f\x98\x80\"\\/\b\f\n\r\t";
  BOOST_TEST(CheckReceiptBody(2, body(R"("t\u00e9")", R"("\uD83D\ude00\"\\\/\b\f\n\r\t")"), r).empty(),
             CheckReceiptBody(2, body(R"("t\u00e9")", R"("\uD83D\ude00\"\\\/\b\f\n\r\t")"), r));
  BOOST_TEST(CheckReceiptBody(2, body("\"t\xc3\xa9\"", "\"\xf0\x9f\x98\x80\\\"\\\\/\\b\\f\\n\\r\\t\""), r).empty());
  // A mismatch shows the unescaped value, made log-safe.
  const std::string e = CheckReceiptBody(2, body(R"("t\u00e8\n")", R"("x")"), r);
  BOOST_TEST(e == "v2 body field \"tenant_id\" is \"t\\xc3\\xa8\\x0a\", expected \"t\\xc3\\xa9\"", e);
  // \u0000 is a value, not an end.
  r = Row();
  BOOST_TEST(Contains(CheckReceiptBody(2, body(R"("acme\u0000")", R"("k1")"), r), "\"tenant_id\" is \"acme\\x00\""));
}

BOOST_AUTO_TEST_CASE(v2_first_failing_field_in_order) {
  const ReceiptRow r = Row();
  BOOST_TEST(CheckReceiptBody(2, "{}", r) == "v2 body lacks field \"schema\"");
  BOOST_TEST(CheckReceiptBody(2, R"({"schema":1,"kid":"x"})", r) == "v2 body field \"schema\" is not a string");
  BOOST_TEST(CheckReceiptBody(2, R"({"schema":"provledger.receipt/v2","kid":"x"})", r) ==
             "v2 body lacks field \"receipt_id\"");
  BOOST_TEST(CheckReceiptBody(2, kV2, r).empty());
  BOOST_TEST(CheckReceiptBody(3, kV2, r) == "unsupported receipt version 3");
  // Whitespace everywhere.
  std::string spaced;
  for (char c : kV2) {
    spaced += " \t\r\n";
    spaced += c;
  }
  // (inside strings the whitespace would change values: only between tokens)
  std::string between;
  bool in_string = false;
  for (char c : kV2) {
    if (!in_string) between += " \n\t\r ";
    between += c;
    if (c == '"') in_string = !in_string;
  }
  between += "\r\n";
  BOOST_TEST(CheckReceiptBody(2, between, r).empty(), CheckReceiptBody(2, between, r));
  BOOST_TEST(!CheckReceiptBody(2, spaced, r).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(differential)

// Deterministic mutations of seed bodies; the check must give exactly the
// reference's outcome (identical message, except that "not valid JSON"
// messages need only agree on being one), and accept() must agree whenever
// the scan reached a JSON verdict for the whole body.
BOOST_AUTO_TEST_CASE(matches_reference_on_mutated_corpus) {
  const std::vector<std::string> seeds = {
      kV2,
      R"({"kid": "k1", "op_id": "op-1", "region": "eu-west", "schema": "provledger.receipt/v2", )"
      R"("payload": {"currency": "EUR", "amount_cents": 1234}, "tenant_id": "acme", "receipt_id": "r-1", )"
      R"("policy_version": "p7"})",
      R"({"schema":"provledger.receipt\/v2","receipt_id":"r\u002d1","tenant_id":"ac\u006de","op_id":"op-1",)"
      R"("policy_version":"p7","kid":"k1","region":"eu-west","x":[1,-0.5e-3,true,false,null,{"y":"\ud83d\ude00"}]})",
      "\xef\xbb\xbf{\"tenant\":\"acme\",\"amount\":12,\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"n\":1e308}",
      R"({"a":[[[{"b":[]}]]],"c":{"d":{"e":"\t"}},"kid":"k1","kid2":"k1"})",
  };
  // Fragments worth splicing in.
  const std::vector<std::string> tokens = {
      "\\u", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\u00e9", "\\", "\"", "1e400", "-0", "01",
      "1.", ".5", "1e+5", "-", "true", "fals", "null", "\"kid\":\"k1\",", "\"kid\":", "\"schema\"",
      ",", ":", "[", "]", "{", "}", "[]", "{}", " ", "\n", "\t", "\x01", "\x7f", "\xc3\xa9", "\xc3",
      "\xed\xa0\x80", "\xf0\x9f\x98\x80", "\xff", "\xef\xbb\xbf", std::string(1, '\0'),
      "1.7976931348623157e308", "1.7976931348623159e308", "99999999999999999999"};
  const std::string alphabet = std::string("{}[]:,\"\\ \t\n\r0123456789eE+-.tfnrulsabcdx/") +
                               "\x00\x01\x1f\x7f\x80\xbf\xc2\xc3\xe2\xed\xef\xf0\xf4\xff"s;
  std::uint64_t state = 0x5eed5eed12345678ULL;
  auto next = [&state]() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  auto below = [&next](std::size_t n) { return static_cast<std::size_t>(next() % n); };

  const ReceiptRow row = Row();
  std::size_t cases = 0, accepted = 0, invalid = 0, other = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string b = seeds[below(seeds.size())];
    const int mutations = 1 + static_cast<int>(below(3));
    for (int m = 0; m < mutations && !b.empty(); ++m) {
      const std::size_t pos = below(b.size() + 1);
      switch (below(7)) {
        case 0: if (pos < b.size()) b.erase(pos, 1); break;
        case 1: b.insert(pos, 1, alphabet[below(alphabet.size())]); break;
        case 2: if (pos < b.size()) b[pos] = alphabet[below(alphabet.size())]; break;
        case 3: b.insert(pos, tokens[below(tokens.size())]); break;
        case 4: b.resize(pos); break;
        case 5: {   // duplicate a slice
          const std::size_t len = below(12);
          b.insert(pos, b.substr(pos < b.size() ? pos : 0, len));
          break;
        }
        default: b.insert(pos, std::string(1 + below(3), " \t\n\r"[below(4)])); break;
      }
    }
    for (int version : {1, 2}) {
      ++cases;
      const std::string got = CheckReceiptBody(version, b, row);
      const std::string want = RefCheckReceiptBody(version, b, row);
      if (StartsWith(want, kInvalid)) {
        BOOST_TEST(StartsWith(got, kInvalid), "v" << version << " " << Printable(b, 400) << ": got " << got
                                                  << ", reference " << want);
      } else {
        BOOST_TEST(got == want, "v" << version << " " << Printable(b, 400));
      }
      if (version == 1) {
        // The strict reader accepts a subset of what nlohmann accepts.
        if (got.empty()) {
          ++accepted;
          BOOST_TEST(nlohmann::json::accept(b), Printable(b, 400));
        } else if (StartsWith(got, kInvalid)) {
          ++invalid;
        } else {
          ++other;
        }
        if (!nlohmann::json::accept(b)) BOOST_TEST(StartsWith(got, kInvalid), Printable(b, 400));
      }
    }
  }
  BOOST_TEST_MESSAGE("differential: " << cases << " cases; v1: " << accepted << " accepted, " << invalid
                                      << " invalid JSON, " << other << " other outcomes");
  // The corpus must exercise both sides.
  BOOST_TEST(accepted >= 500u);
  BOOST_TEST(invalid >= 1500u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(numbers)

BOOST_AUTO_TEST_CASE(parse_int64_matches_from_chars_rules) {
  const std::vector<std::string> good = {"0", "-0", "7", "-7", "007", "123456789012345678",
                                         "-123456789012345678", "9223372036854775807",
                                         "-9223372036854775808", "0000000000000000000001"};
  for (const std::string& s : good) {
    std::int64_t want = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), want);
    BOOST_TEST_REQUIRE((ec == std::errc() && p == s.data() + s.size()), s);
    const auto got = ParseInt64(s);
    BOOST_TEST_REQUIRE(got.has_value(), s);
    BOOST_TEST(*got == want, s);
  }
  for (const char* s : {"", "-", "+1", " 1", "1 ", "1x", "x1", "--1", "1-", "1.0", "9223372036854775808",
                        "-9223372036854775809", "99999999999999999999", "1e3", "0x10", "\xd9\xa1"}) {
    BOOST_TEST(!ParseInt64(s).has_value(), s);
  }
  // A non-digit at any position of a 1..20-digit run is refused; runs of
  // digits parse like from_chars (both signs, every length).
  std::uint64_t x = 0x0123456789abcdefULL;
  for (std::size_t len = 1; len <= 20; ++len) {
    for (int rep = 0; rep < 50; ++rep) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      std::string digits;
      for (std::size_t i = 0; i < len; ++i) digits.push_back(static_cast<char>('0' + (x >> (i % 60)) % 10));
      for (const std::string& s : {digits, "-" + digits}) {
        std::int64_t want = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), want);
        const bool ok = ec == std::errc() && p == s.data() + s.size();
        const auto got = ParseInt64(s);
        BOOST_TEST(got.has_value() == ok, s);
        if (ok && got) BOOST_TEST(*got == want, s);
      }
    }
    for (std::size_t at = 0; at < len; ++at) {
      for (char bad : {'/', ':', ' ', '\xb0', '\x00', 'a', '+', '-', '.'}) {
        std::string s(len, '7');
        s[at] = bad;
        if (bad == '-' && at == 0) continue;   // a sign
        BOOST_TEST(!ParseInt64(s).has_value(), Printable(s));
      }
    }
  }
  BOOST_TEST(ParseInt64("1700000000123456").value() == 1700000000123456);
  BOOST_TEST(ParseInt64("-1700000000123456").value() == -1700000000123456);
}

BOOST_AUTO_TEST_CASE(utf8_fast_path_boundaries) {
  // A bad byte at every offset of a long ASCII run is found.
  for (std::size_t at = 0; at < 40; ++at) {
    std::string s(40, 'a');
    s[at] = '\xff';
    BOOST_TEST(!IsValidUtf8(s), at);
    s[at] = '\xc3';
    if (at + 1 < s.size()) {
      s[at + 1] = '\xa9';
      BOOST_TEST(IsValidUtf8(s), at);
    } else {
      BOOST_TEST(!IsValidUtf8(s), at);   // truncated at the end
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
