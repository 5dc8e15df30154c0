// Runs the receipt fixture corpus (tests/fixtures/receipts/cases.json)
// through the C++ library (src/receipt) and the exporter's decoder
// (decode::DecodeReceipt) and prints one JSON line per case and
// implementation; check_corpus.py compares them with the Python and
// TypeScript adapters and the expectations.
//   corpus_cpp <fixtures dir>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "decode/decode.hh"
#include "receipt/receipt.hh"

using nlohmann::json;
namespace rc = provledger::receipt;
namespace dc = provledger::decode;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json HashOrNull(const rc::Result<std::string>& h) { return h.ok() ? json(h.value()) : json(nullptr); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: corpus_cpp <fixtures dir>\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    const json doc = json::parse(ReadFile(dir + "/cases.json"));
    for (const json& c : doc.at("cases")) {
      json cols = doc.at("columns");
      if (c.contains("columns")) cols.update(c.at("columns"));
      const std::string body = ReadFile(dir + "/" + c.at("body").get<std::string>());
      const int version = c.at("version").get<int>();
      const std::string receipt_id = cols.at("receipt_id"), tenant_id = cols.at("tenant_id"),
                        op_id = cols.at("op_id"), region = cols.at("region"),
                        policy_version = cols.at("policy_version"), kid = cols.at("kid"),
                        content_hash = cols.at("content_hash");
      const auto created = rc::ParseTimestamp(cols.at("created_at").get<std::string>());
      if (!created) throw std::runtime_error("bad created_at in " + c.at("name").get<std::string>());
      const rc::Columns columns{receipt_id, tenant_id, op_id, region, policy_version, kid, *created, content_hash};

      json out;
      out["name"] = c.at("name");
      out["impl"] = "cpp";
      const auto [code, msg] = rc::CheckBody(version, body, columns);
      out["verdict"] = code == rc::Error::kNone ? "valid" : "invalid";
      out["error"] = code == rc::Error::kNone ? json(nullptr) : json(rc::ErrorName(code));
      out["message"] = msg;
      out["canonical_hash"] = HashOrNull(rc::ContentHash(body));
      if (version == 1) {
        const auto v2 = rc::ConvertV1(body, columns);
        out["convert"] = v2.ok() ? "ok" : rc::ErrorName(v2.code());
        out["v2_hash"] = v2.ok() ? json(rc::Sha256Hex(v2.value())) : json(nullptr);
        if (v2.ok()) {
          // A converted body is valid v2 for its row and already canonical.
          // The migration also fills NULL region/policy_version/kid columns
          // with what the conversion took from the body.
          const auto model = rc::ReadV2(v2.value());
          rc::Columns after = columns;
          if (model.ok()) {
            after.region = model.value().region;
            after.policy_version = model.value().policy_version;
            after.kid = model.value().kid;
          }
          const auto back = rc::CheckBody(2, v2.value(), after);
          const auto canon = rc::Canonicalize(v2.value());
          out["v2_valid"] = back.first == rc::Error::kNone && canon.ok() && canon.value() == v2.value();
        }
      }
      std::cout << out.dump() << '\n';

      // The exporter's decoder on the same row.
      const std::string version_text = std::to_string(version), created_text = std::to_string(*created);
      dc::ReceiptColumns rcols;
      rcols.receipt_id = {receipt_id};
      rcols.tenant_id = {tenant_id};
      rcols.op_id = {op_id};
      rcols.region = region.empty() ? dc::Field::Null() : dc::Field{region};
      rcols.policy_version = policy_version.empty() ? dc::Field::Null() : dc::Field{policy_version};
      rcols.kid = kid.empty() ? dc::Field::Null() : dc::Field{kid};
      rcols.version = {version_text};
      rcols.body = {body};
      rcols.content_hash = {content_hash};
      rcols.created_us = {created_text};
      const auto d = dc::DecodeReceipt(rcols, dc::Limits{});
      json dec;
      dec["name"] = c.at("name");
      dec["impl"] = "decoder";
      dec["verdict"] = d.ok() ? "valid" : "invalid";
      dec["message"] = d.error();
      std::cout << dec.dump() << '\n';
    }
  } catch (const std::exception& e) {
    std::cerr << "corpus_cpp: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
