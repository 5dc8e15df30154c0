// The receipt library (src/receipt): RFC 8785 canonical form against the
// spec's examples and number table (fixture files shared with the Python and
// TypeScript adapters), the strict JSON reader's rules, SHA-256, the v2
// contract, v1 -> v2 conversion and timestamps.
#define BOOST_TEST_MODULE receipt
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "receipt/receipt.hh"

using namespace provledger::receipt;
namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const fs::path kFixtures = RECEIPT_FIXTURES;

double FromHex(const std::string& hex) {
  std::uint64_t bits = std::stoull(hex, nullptr, 16);
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

std::string Parse(std::string_view s) {
  Json j;
  return j.Parse(s);
}

const Columns kCols = {"r-1", "acme", "op-1", "eu-west", "p-2026.12", "kid-eu-west-3",
                       1764884158123456, "aa"};
// 1764884158123456 us = 2025-12-04T21:35:58.123456Z

const std::string kV2 =
    R"({"schema":"provledger.receipt/v2","receipt_id":"r-1","tenant_id":"acme","op_id":"op-1",)"
    R"("policy_version":"p-2026.12","kid":"kid-eu-west-3","region":"eu-west",)"
    R"("created_at":"2025-12-04T21:35:58.123456Z","action":"approve","payload":{"b":1,"a":[2]}})";

}  // namespace

namespace provledger::receipt {
std::ostream& operator<<(std::ostream& o, Error e) { return o << ErrorName(e); }
}  // namespace provledger::receipt

BOOST_AUTO_TEST_SUITE(canonical)

BOOST_AUTO_TEST_CASE(rfc8785_number_table) {
  std::istringstream lines(ReadFile(kFixtures / "numbers.txt"));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.find(' ');
    const std::string hex = line.substr(0, sp), want = line.substr(sp + 1);
    BOOST_TEST(FormatNumber(FromHex(hex)) == want, hex);
    // Reading the serialization back gives the same canonical text.
    auto c = Canonicalize(want);
    BOOST_TEST(c.ok());
    BOOST_TEST(c.value() == want, hex);
    ++n;
  }
  BOOST_TEST(n >= 24);
}

BOOST_AUTO_TEST_CASE(jcs_fixture_files) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(kFixtures / "jcs")) {
    const std::string name = e.path().filename().string();
    if (name.size() < 8 || name.substr(name.size() - 8) != ".in.json") continue;
    const std::string stem = name.substr(0, name.size() - 8);
    const std::string in = ReadFile(e.path());
    const std::string want = ReadFile(kFixtures / "jcs" / (stem + ".out.json"));
    auto got = Canonicalize(in);
    BOOST_TEST_REQUIRE(got.ok(), stem << ": " << got.error());
    BOOST_TEST(got.value() == want, stem);
    // Idempotent, and the hash is the hash of the canonical bytes.
    BOOST_TEST(Canonicalize(want).value() == want, stem);
    BOOST_TEST(ContentHash(in).value() == Sha256Hex(want), stem);
    ++n;
  }
  BOOST_TEST(n >= 8);
}

BOOST_AUTO_TEST_CASE(whitespace_and_order_do_not_matter) {
  // What a jsonb round trip does: reorder keys, drop whitespace.
  const auto a = ContentHash(R"({"b": [1, 2.0, {"y": null, "x": "\u00e9"}], "a": true})");
  const auto b = ContentHash(R"({"a":true,"b":[1,2,{"x":"é","y":null}]})");
  BOOST_TEST(a.ok());
  BOOST_TEST(a.value() == b.value());
  BOOST_TEST(a.value().size() == 64u);
  // Array order matters.
  BOOST_TEST(ContentHash(R"({"b":[2,1]})").value() != ContentHash(R"({"b":[1,2]})").value());
}

BOOST_AUTO_TEST_CASE(sha256_known_answers) {
  BOOST_TEST(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(ContentHash("{}").value() == Sha256Hex("{}"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reader)

BOOST_AUTO_TEST_CASE(accepted) {
  for (const char* s : {"{}", " [] ", "0", "-0", "\"x\"", "null", "true", "false", "1e-400",
                        R"({"a":"\ud83d\ude00","b":"\uffff","c":"\/"})", "1.7976931348623157e308",
                        "[[[[]]]]", R"({"a":{"a":{"a":1}}})", R"({"a":1,"b":{"a":2}})"}) {
    BOOST_TEST(Parse(s).empty(), s << ": " << Parse(s));
  }
}

BOOST_AUTO_TEST_CASE(refused) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "end of input"},
      {"\xEF\xBB\xBF{}", "byte order mark"},
      {R"({"a":1,"a":2})", "duplicate key \"a\""},
      {R"({"a":1,"\u0061":2})", "duplicate key \"a\""},
      {R"({"x":{"k":1,"j":2,"k":3}})", "duplicate key \"k\""},
      {R"({"a":"\ud800"})", "surrogate"},
      {R"({"a":"\udc00\ud800"})", "surrogate"},
      {R"({"a":"\ud800\u0041"})", "surrogate"},
      {"{\"a\":\"\xC3\"}", "UTF-8"},
      {"{\"a\":\"\xED\xA0\x80\"}", "UTF-8"},
      {"{\"a\":\"\xC0\xAF\"}", "UTF-8"},
      {"{\"a\":\"\x01\"}", "control character"},
      {R"({"a":1e400})", "overflow"},
      {R"({"a":-1e309})", "overflow"},
      {R"({"a":1.8e308})", "overflow"},
      {R"({"a":NaN})", "unexpected character"},
      {R"({"a":01})", "expected ',' or '}'"},
      {R"({"a":1.})", "digit after '.'"},
      {R"({"a":+1})", "unexpected character"},
      {"{} x", "end of input after the value"},
      {std::string("{}\0", 3), "end of input after the value"},
      {R"({"a":1,})", "object key"},
      {"[1,]", "unexpected character"},
      {R"({'a':1})", "object key"},
      {R"({"a":"\x"})", "invalid string escape"},
  };
  for (const auto& [body, what] : bad) {
    const std::string e = Parse(body);
    BOOST_TEST(e.find(what) != std::string::npos, body << " -> \"" << e << "\", want " << what);
  }
}

BOOST_AUTO_TEST_CASE(depth_limit) {
  std::string ok(kMaxDepth, '[');
  ok.append(kMaxDepth, ']');
  BOOST_TEST(Parse(ok).empty());
  std::string deep(kMaxDepth + 1, '[');
  deep.append(kMaxDepth + 1, ']');
  BOOST_TEST(Parse(deep).find("nesting deeper than 128") != std::string::npos);
  std::string objs;
  for (int i = 0; i <= kMaxDepth; ++i) objs += "{\"a\":";
  objs += "1";
  objs.append(kMaxDepth + 1, '}');
  BOOST_TEST(Parse(objs).find("nesting deeper") != std::string::npos);
  // Very deep input fails fast without recursion.
  std::string huge(1000000, '[');
  BOOST_TEST(!Parse(huge).empty());
}

BOOST_AUTO_TEST_CASE(many_keys_duplicate_check) {
  std::string s = "{";
  for (int i = 0; i < 1000; ++i) {
    if (i) s += ',';
    s += "\"k";
    s += std::to_string(i);
    s += "\":1";
  }
  BOOST_TEST(Parse(s + "}").empty());
  BOOST_TEST(Parse(s + ",\"k517\":2}").find("duplicate key \"k517\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(nodes_and_find) {
  Json j;
  BOOST_TEST_REQUIRE(j.Parse(R"({"a":[1,{"b":"x\ny"}],"c":"d"})").empty());
  const auto& n = j.nodes();
  BOOST_TEST(n.size() == 9u);   // obj, "a", arr, 1, obj, "b", "x\ny", "c", "d"
  BOOST_TEST(j.root().count == 2u);
  const auto c = j.Find(0, "c");
  BOOST_TEST_REQUIRE(c >= 0);
  BOOST_TEST(n[static_cast<std::size_t>(c)].text == "d");
  BOOST_TEST(n[6].text == "x\ny");
  BOOST_TEST(j.Find(0, "z") == -1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(model)

BOOST_AUTO_TEST_CASE(timestamps) {
  BOOST_TEST(FormatTimestamp(0) == "1970-01-01T00:00:00.000000Z");
  BOOST_TEST(FormatTimestamp(1764884158123456) == "2025-12-04T21:35:58.123456Z");
  BOOST_TEST(FormatTimestamp(-1) == "1969-12-31T23:59:59.999999Z");
  BOOST_TEST(*ParseTimestamp("2025-12-04T21:35:58.123456Z") == 1764884158123456);
  BOOST_TEST(*ParseTimestamp("2025-12-04T21:35:58Z") == 1764884158000000);
  BOOST_TEST(*ParseTimestamp("2025-12-04T21:35:58.1Z") == 1764884158100000);
  BOOST_TEST(*ParseTimestamp("2024-02-29T00:00:00Z") == 1709164800000000);
  for (const char* bad : {"2025-12-04 21:35:58Z", "2025-12-04T21:35:58+00:00", "2025-12-04T21:35:58.Z",
                          "2025-12-04T21:35:58.1234567Z", "2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z",
                          "2025-12-04T24:00:00Z", "2025-12-04T21:35:60Z", "2025-12-04t21:35:58z", "",
                          "0000-01-01T00:00:00Z"}) {
    BOOST_TEST(!ParseTimestamp(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(read_v2) {
  auto r = ReadV2(kV2);
  BOOST_TEST_REQUIRE(r.ok(), r.error());
  BOOST_TEST(r.value().tenant_id == "acme");
  BOOST_TEST(*r.value().created_us == kCols.created_us);
  BOOST_TEST(*r.value().action == "approve");
  BOOST_TEST(!r.value().actor.has_value());
  BOOST_TEST(*r.value().payload == R"({"a":[2],"b":1})");
  // Writing the model back gives the canonical form of the body.
  BOOST_TEST(WriteV2(r.value()) == Canonicalize(kV2).value());
}

BOOST_AUTO_TEST_CASE(v2_contract_errors) {
  auto replace = [](std::string s, std::string_view from, std::string_view to) {
    const auto at = s.find(from);
    BOOST_REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  const std::vector<std::tuple<std::string, Error, std::string>> cases = {
      {replace(kV2, R"("kid":"kid-eu-west-3",)", ""), Error::kV2, "lacks field \"kid\""},
      {replace(kV2, R"("schema":"provledger.receipt/v2")", R"("schema":"provledger.receipt/v3")"), Error::kV2,
       "expected \"provledger.receipt/v2\""},
      {replace(kV2, R"("op_id":"op-1")", R"("op_id":7)"), Error::kV2, "\"op_id\" is not a string"},
      {replace(kV2, R"("region":"eu-west")", R"("region":"")"), Error::kV2, "\"region\" is empty"},
      {replace(kV2, R"(.123456Z")", R"(.123456+00:00")"), Error::kV2, "RFC 3339"},
      {replace(kV2, R"("action":"approve")", R"("action":null)"), Error::kV2, "\"action\" is not a string"},
      {replace(kV2, R"("payload":{"b":1,"a":[2]})", R"("payload":[1])"), Error::kV2, "not an object"},
      {"[]", Error::kNotObject, "array"},
      {R"({"schema":"provledger.receipt/v2","schema":"x"})", Error::kJson, "duplicate key"},
  };
  for (const auto& [body, code, what] : cases) {
    auto r = ReadV2(body);
    BOOST_TEST(r.code() == code, body << ": " << ErrorName(r.code()) << " " << r.error());
    BOOST_TEST(r.error().find(what) != std::string::npos, body << ": " << r.error());
    BOOST_TEST(CheckBody(2, body, kCols).first == code, body);
  }
  // Unknown fields are allowed.
  BOOST_TEST(ReadV2(replace(kV2, "{", R"({"future_field":{"x":1},)")).ok());
}

BOOST_AUTO_TEST_CASE(check_body_columns) {
  BOOST_TEST(CheckBody(2, kV2, kCols).first == Error::kNone);
  Columns c = kCols;
  c.tenant_id = "other";
  auto e = CheckBody(2, kV2, c);
  BOOST_TEST((e.first == Error::kColumns));
  BOOST_TEST(e.second == R"(v2 body field "tenant_id" is "acme", expected "other")");
  c = kCols;
  c.created_us += 1;
  e = CheckBody(2, kV2, c);
  BOOST_TEST((e.first == Error::kColumns));
  BOOST_TEST(e.second.find("2025-12-04T21:35:58.123457Z") != std::string::npos, e.second);
  BOOST_TEST(CheckBody(3, "{}", kCols).first == Error::kVersion);
  BOOST_TEST(CheckBody(1, R"({"anything":[1,2]})", kCols).first == Error::kNone);
  BOOST_TEST(CheckBody(1, R"([1])", kCols).first == Error::kNotObject);
  BOOST_TEST(CheckBody(1, R"({"a":1,"a":1})", kCols).first == Error::kJson);
}

BOOST_AUTO_TEST_CASE(convert_v1) {
  const std::string v1 = R"({"tenant":"acme","op":"op-1","action":"approve","amount":12.50,"policy":"p-2026.12"})";
  auto v2 = ConvertV1(v1, kCols);
  BOOST_TEST_REQUIRE(v2.ok(), v2.error());
  BOOST_TEST(v2.value() ==
             R"({"created_at":"2025-12-04T21:35:58.123456Z","kid":"kid-eu-west-3",)"
             R"("migrated_from":{"content_hash":"aa","version":1},"op_id":"op-1",)"
             R"("payload":{"action":"approve","amount":12.5,"op":"op-1","policy":"p-2026.12","tenant":"acme"},)"
             R"("policy_version":"p-2026.12","receipt_id":"r-1","region":"eu-west",)"
             R"("schema":"provledger.receipt/v2","tenant_id":"acme"})");
  // The result is canonical, valid v2 and matches its row.
  BOOST_TEST(Canonicalize(v2.value()).value() == v2.value());
  BOOST_TEST(ReadV2(v2.value()).ok());
  BOOST_TEST(CheckBody(2, v2.value(), kCols).first == Error::kNone);
  BOOST_TEST(*ReadV2(v2.value()).value().migrated_from_hash == "aa");

  // Columns empty: the body fills them.
  Columns c = kCols;
  c.kid = "";
  c.region = "";
  c.policy_version = "";
  auto r = ReadV1(R"({"kid":"k9","region":"us","policy":"p1"})", c);
  BOOST_TEST_REQUIRE(r.ok(), r.error());
  BOOST_TEST(r.value().kid == "k9");
  BOOST_TEST(r.value().region == "us");
  BOOST_TEST(r.value().policy_version == "p1");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"tenant":"evil"})", "v1 body field \"tenant\" is \"evil\", column tenant_id is \"acme\""},
      {R"({"op":5})", "v1 body field \"op\" is not a string"},
      {R"({"policy":"p-2020.01"})", "v1 body field \"policy\" is \"p-2020.01\""},
  };
  for (const auto& [body, what] : bad) {
    auto x = ConvertV1(body, kCols);
    BOOST_TEST((x.code() == Error::kConvert), body);
    BOOST_TEST(x.error().find(what) != std::string::npos, x.error());
  }
  auto nokid = ConvertV1("{}", c);
  BOOST_TEST((nokid.code() == Error::kConvert));
  BOOST_TEST(nokid.error().find("no policy_version") != std::string::npos, nokid.error());
  BOOST_TEST((ConvertV1("[]", kCols).code() == Error::kNotObject));
  BOOST_TEST((ConvertV1("{", kCols).code() == Error::kJson));
}

BOOST_AUTO_TEST_SUITE_END()
