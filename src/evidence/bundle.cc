#include "evidence/bundle.hh"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "merkle/merkle.hh"

namespace provledger::evidence {
namespace {

using json = nlohmann::json;

bool SafeByte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

std::string Iso(Micros us) {
  // RFC 3339 UTC with microseconds.
  const std::int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
  const std::int64_t frac = us - secs * 1000000;
  const time_t t = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

json Time(Micros us) {
  json t = json::object();
  t["unix_us"] = us;
  t["utc"] = Iso(us);
  return t;
}

// Members are assigned one by one (no initializer lists: they deep-copy every
// nested value); the output is the same, keys sorted by nlohmann's map.
json ReceiptJson(const ReceiptInfo& r) {
  json jr = json::object();
  jr["ledger"] = r.ledger;
  jr["region"] = r.region;
  jr["receipt_id"] = r.receipt_id;
  jr["version"] = r.version;
  jr["policy_version"] = r.policy_version;
  jr["kid"] = r.kid;
  jr["created_at"] = Time(r.created_at);
  jr["content_hash"] = r.content_hash;
  jr["body"] = r.body;
  jr["masked"] = r.masked;
  jr["counts_for_outcome"] = r.counts;
  if (r.anchor) {
    json proofs = json::array();
    for (const auto& p : r.anchor->notary_proofs) {
      json np = json::object();
      np["notary"] = p.notary;
      np["proved_at"] = Time(p.proved_at);
      proofs.push_back(std::move(np));
    }
    json a = json::object();
    a["anchor_id"] = r.anchor->anchor_id;
    a["anchor_hash"] = r.anchor->anchor_hash;
    a["receipt_count"] = r.anchor->receipt_count;
    a["anchored_at"] = Time(r.anchor->anchored_at);
    a["root_rule"] = r.anchor->rfc6962 ? "rfc6962" : "opaque";
    a["notary_proofs"] = std::move(proofs);
    jr["anchor"] = std::move(a);
  } else {
    jr["anchor"] = nullptr;
  }
  if (r.proof) {
    json p = json::object();
    p["leaf_index"] = r.proof->leaf_index;
    p["tree_size"] = r.proof->tree_size;
    p["path"] = r.proof->path;
    jr["inclusion_proof"] = std::move(p);
  } else {
    jr["inclusion_proof"] = nullptr;
    jr["no_proof_reason"] = r.proof_note;
  }
  if (r.migration) {
    const MigrationInfo& m = *r.migration;
    json v2 = json::object();
    v2["version"] = m.v2_version;
    v2["body"] = m.v2_body;
    v2["content_hash"] = m.v2_content_hash;
    v2["masked"] = m.v2_masked;
    json mj = json::object();
    mj["archive_table"] = m.archive_table;
    mj["migrated_at"] = Time(m.migrated_at);
    mj["anchored_form"] = m.anchored_v2 ? "v2" : "original";
    mj["v2"] = std::move(v2);
    jr["migration"] = std::move(mj);
  }
  return jr;
}

json OpJson(const OpEvidence& op, Micros grace) {
  json receipts = json::array();
  for (const auto& r : op.receipts) receipts.push_back(ReceiptJson(r));
  json spans = json::array();
  for (const auto& s : op.spans) {
    spans.push_back({{"store", s.store},
                     {"trace_id", s.trace_id},
                     {"span_id", s.span_id},
                     {"name", s.name},
                     {"start", Time(s.start)},
                     {"end", Time(s.end)},
                     {"attested_hash", s.attested_hash.empty() ? json(nullptr) : json(s.attested_hash)}});
  }
  // Seed fields (the ledger's /audit/rehydrate answer): anchor_id, anchor_hash,
  // policy_version of the first anchored receipt.
  json anchor_id = nullptr, anchor_hash = nullptr, policy = nullptr;
  for (const auto& r : op.receipts) {
    if (policy.is_null()) policy = r.policy_version;
    if (r.anchor) {
      anchor_id = r.anchor->anchor_id;
      anchor_hash = r.anchor->anchor_hash;
      policy = r.policy_version;
      break;
    }
  }
  json outcome{{"result", op.outcome},
               {"reason", op.reason},
               {"settled", op.settled},
               {"grace_us", grace},
               {"rule",
                "receipts created by span start + grace count; attested: one whose content_hash equals the span's "
                "attested hash (or any, when no hash was recorded); divergent: receipts, none matching; missing: none"}};
  if (!op.spans.empty()) {
    outcome["span_start"] = Time(op.span_start);
    outcome["deadline"] = Time(op.span_start + grace);
    outcome["attested_hash"] = op.attested_hash.empty() ? json(nullptr) : json(op.attested_hash);
  }
  return json{{"format", kOpFormat}, {"tenant", op.tenant},     {"op_id", op.op_id},
              {"anchor_id", anchor_id}, {"anchor_hash", anchor_hash}, {"policy_version", policy},
              {"receipts", receipts}, {"spans", spans},         {"outcome", outcome}};
}

}  // namespace

std::string OpFileName(const std::string& op_id) {
  std::string enc;
  for (std::size_t i = 0; i < op_id.size(); ++i) {
    const auto c = static_cast<unsigned char>(op_id[i]);
    if (SafeByte(c) && !(i == 0 && c == '.')) {
      enc.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      enc.push_back('_');
      enc.push_back(kHex[c >> 4]);
      enc.push_back(kHex[c & 15]);
    }
  }
  if (enc.empty()) enc = "_";   // empty op id (never from a valid row; still a distinct name)
  if (enc.size() > 160) enc = "_sha256_" + merkle::ToHex(merkle::Sha256(op_id));
  return "ops/" + enc + ".rehydrate.json";
}

std::string Pae(const std::string& payload_type, const std::string& payload) {
  return "DSSEv1 " + std::to_string(payload_type.size()) + " " + payload_type + " " + std::to_string(payload.size()) +
         " " + payload;
}

std::string MaskBody(const std::string& body, const std::vector<std::string>& pointers,
                     std::vector<std::string>* masked) {
  masked->clear();
  if (pointers.empty()) return body;
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return body;   // not JSON: nothing to mask (the verifier says unproven)
  for (const auto& p : pointers) {
    try {
      const json::json_pointer ptr(p);
      if (doc.contains(ptr)) {
        doc[ptr] = kMaskedValue;
        masked->push_back(p);
      }
    } catch (const json::exception&) {
      // A pointer through a non-container (e.g. "/a/b" where a is a string): not present.
    }
  }
  if (masked->empty()) return body;
  return doc.dump();
}

std::vector<ZipEntry> BuildBundle(const BundleInput& in, const SigningKey& key) {
  std::vector<ZipEntry> files;
  json entries = json::array();
  for (const auto& op : in.ops) {
    const json j = OpJson(op, in.grace);
    entries.push_back({{"op_id", op.op_id},
                       {"anchor", j["anchor_id"]},
                       {"hash", j["anchor_hash"]},
                       {"policy_version", j["policy_version"]},
                       {"outcome", op.outcome},
                       {"file", OpFileName(op.op_id)}});
    files.push_back({OpFileName(op.op_id), j.dump(2) + "\n"});
  }
  std::sort(files.begin(), files.end(), [](const ZipEntry& a, const ZipEntry& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < files.size(); ++i) {
    if (files[i].name == files[i - 1].name) throw std::runtime_error("operation listed twice: " + files[i].name);
  }
  // Each file's digest once: files[] and the DSSE subjects both list it.
  std::map<std::string, std::string> digests;
  json listed = json::array();
  for (const auto& f : files) {
    const std::string& d = digests[f.name] = merkle::ToHex(merkle::Sha256(f.data));
    listed.push_back({{"path", f.name}, {"size", f.data.size()}, {"sha256", d}});
  }
  json query{{"tenant", in.query.tenant}};
  if (!in.query.op_ids.empty()) query["op_ids"] = in.query.op_ids;
  if (in.query.from) query["from"] = Time(*in.query.from);
  if (in.query.to) query["to"] = Time(*in.query.to);
  const json manifest{{"bundle_format", kBundleFormat},
                      {"tenant", in.query.tenant},
                      {"generated_at", in.generated_at},
                      {"entries", entries},
                      {"files", listed},
                      {"key_id", key.key_id()},
                      {"query", query},
                      {"exporter_version", in.exporter_version},
                      {"grace_us", in.grace},
                      {"masked_pointers", in.mask}};
  const std::string mbytes = manifest.dump();
  const Signature sig = key.Sign(mbytes);
  const std::string sig_bytes(reinterpret_cast<const char*>(sig.data()), sig.size());
  files.push_back({"manifest.json", mbytes});
  files.push_back({"manifest.sig", sig_bytes});
  files.push_back({"manifest.sha256", merkle::ToHex(merkle::Sha256(mbytes))});
  std::sort(files.begin(), files.end(), [](const ZipEntry& a, const ZipEntry& b) { return a.name < b.name; });

  json subjects = json::array();
  for (const auto& f : files) {
    auto d = digests.find(f.name);
    if (d == digests.end()) d = digests.emplace(f.name, merkle::ToHex(merkle::Sha256(f.data))).first;
    subjects.push_back({{"name", f.name}, {"digest", {{"sha256", d->second}}}});
  }
  const json statement{{"_type", kInTotoStatement},
                       {"subject", subjects},
                       {"predicateType", kPredicateType},
                       {"predicate",
                        {{"bundle_format", kBundleFormat},
                         {"tenant", in.query.tenant},
                         {"generated_at", in.generated_at},
                         {"operations", in.ops.size()}}}};
  const std::string payload = statement.dump();
  const Signature dsig = key.Sign(Pae(kInTotoPayloadType, payload));
  const json envelope{
      {"payload", Base64(payload)},
      {"payloadType", kInTotoPayloadType},
      {"signatures",
       json::array({{{"keyid", key.key_id()},
                     {"sig", Base64(std::string(reinterpret_cast<const char*>(dsig.data()), dsig.size()))}}})}};
  files.push_back({"manifest.dsse.json", envelope.dump(2) + "\n"});
  std::sort(files.begin(), files.end(), [](const ZipEntry& a, const ZipEntry& b) { return a.name < b.name; });
  return files;
}

}  // namespace provledger::evidence
