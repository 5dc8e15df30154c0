#include "evidence/verify.hh"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "compute/outcome.hh"
#include "evidence/bundle.hh"
#include "merkle/merkle.hh"

namespace provledger::evidence {
namespace {

using json = nlohmann::json;

const std::set<std::string> kManifestFiles = {"manifest.json", "manifest.sig", "manifest.sha256",
                                              "manifest.dsse.json"};

class Checker {
 public:
  Checker(const std::vector<ZipEntry>& entries, const std::vector<PublicKey>& trusted, const BodyHasher& hasher)
      : trusted_(trusted), hasher_(hasher) {
    for (const auto& e : entries) files_[e.name] = &e.data;
  }

  VerifyReport Run() {
    for (const auto& name : kManifestFiles) {
      if (!files_.count(name)) Fail("bundle", "missing " + name);
    }
    if (failed_) return std::move(report_);
    CheckManifestDigest();
    if (!ParseManifest()) return std::move(report_);
    CheckSignature();
    CheckDsse();
    CheckFiles();
    if (failed_structure_) return std::move(report_);
    CheckOps();
    return std::move(report_);
  }

 private:
  void Add(Verdict v, std::string subject, std::string detail) {
    if (v == Verdict::kFail) failed_ = true;
    report_.findings.push_back({v, std::move(subject), std::move(detail)});
  }
  void Fail(std::string subject, std::string detail) { Add(Verdict::kFail, std::move(subject), std::move(detail)); }
  void Ok(std::string subject, std::string detail) { Add(Verdict::kOk, std::move(subject), std::move(detail)); }

  const std::string& File(const std::string& name) { return *files_.at(name); }

  void CheckManifestDigest() {
    const std::string want = merkle::ToHex(merkle::Sha256(File("manifest.json")));
    if (File("manifest.sha256") == want) {
      Ok("manifest.sha256", "matches SHA-256 of manifest.json (" + want + ")");
    } else {
      Fail("manifest.sha256", "does not match SHA-256 of manifest.json (" + want + ")");
    }
  }

  bool ParseManifest() {
    manifest_ = json::parse(File("manifest.json"), nullptr, false);
    if (manifest_.is_discarded() || !manifest_.is_object()) {
      Fail("manifest.json", "not a JSON object");
      return false;
    }
    if (!manifest_.contains("bundle_format") || manifest_["bundle_format"] != kBundleFormat) {
      Fail("manifest.json", std::string("bundle_format is not ") + kBundleFormat);
      return false;
    }
    for (const char* k : {"tenant", "entries", "files", "key_id", "grace_us"}) {
      if (!manifest_.contains(k)) {
        Fail("manifest.json", std::string("missing field ") + k);
        return false;
      }
    }
    if (!manifest_["entries"].is_array() || !manifest_["files"].is_array() || !manifest_["tenant"].is_string() ||
        !manifest_["key_id"].is_string() || !manifest_["grace_us"].is_number_integer()) {
      Fail("manifest.json", "fields have the wrong types");
      return false;
    }
    return true;
  }

  // Trusted keys, the one named by `keyid` first (a hint only).
  std::vector<const PublicKey*> Candidates(const std::string& keyid) const {
    std::vector<const PublicKey*> out;
    for (const auto& k : trusted_) {
      if (KeyId(k) == keyid) out.insert(out.begin(), &k);
      else out.push_back(&k);
    }
    return out;
  }

  void CheckSignature() {
    const std::string& sig = File("manifest.sig");
    const std::string keyid = manifest_["key_id"].get<std::string>();
    for (const PublicKey* k : Candidates(keyid)) {
      if (VerifySignature(*k, File("manifest.json"), sig)) {
        Ok("manifest.sig", "Ed25519 signature over manifest.json verifies with key " + KeyId(*k));
        signer_ = KeyId(*k);
        return;
      }
    }
    Fail("manifest.sig", "no trusted key verifies the signature over manifest.json (manifest names key " + keyid + ")");
    failed_structure_ = true;
  }

  void CheckDsse() {
    const json env = json::parse(File("manifest.dsse.json"), nullptr, false);
    if (env.is_discarded() || !env.is_object() || !env.contains("payload") || !env["payload"].is_string() ||
        !env.contains("payloadType") || !env["payloadType"].is_string() || !env.contains("signatures") ||
        !env["signatures"].is_array()) {
      Fail("manifest.dsse.json", "not a DSSE envelope");
      failed_structure_ = true;
      return;
    }
    std::string payload;
    if (!Base64Decode(env["payload"].get<std::string>(), &payload)) {
      Fail("manifest.dsse.json", "payload is not canonical base64");
      failed_structure_ = true;
      return;
    }
    const std::string type = env["payloadType"].get<std::string>();
    const std::string pae = Pae(type, payload);
    bool verified = false;
    for (const auto& s : env["signatures"]) {
      if (!s.is_object() || !s.contains("sig") || !s["sig"].is_string()) continue;
      std::string sig;
      if (!Base64Decode(s["sig"].get<std::string>(), &sig)) continue;
      const std::string keyid = s.contains("keyid") && s["keyid"].is_string() ? s["keyid"].get<std::string>() : "";
      for (const PublicKey* k : Candidates(keyid)) {
        if (VerifySignature(*k, pae, sig)) {
          verified = true;
          Ok("manifest.dsse.json", "DSSE signature verifies with key " + KeyId(*k));
          break;
        }
      }
      if (verified) break;
    }
    if (!verified) {
      Fail("manifest.dsse.json", "no trusted key verifies the DSSE signature");
      failed_structure_ = true;
      return;
    }
    // Only after the signature: the type and the statement.
    if (type != kInTotoPayloadType) {
      Fail("manifest.dsse.json", "payloadType is " + type + ", not " + kInTotoPayloadType);
      failed_structure_ = true;
      return;
    }
    const json st = json::parse(payload, nullptr, false);
    if (st.is_discarded() || !st.is_object() || st.value("_type", "") != kInTotoStatement ||
        !st.contains("subject") || !st["subject"].is_array()) {
      Fail("manifest.dsse.json", "payload is not an in-toto Statement v1");
      failed_structure_ = true;
      return;
    }
    std::map<std::string, std::string> subjects;
    for (const auto& s : st["subject"]) {
      if (!s.is_object() || !s.contains("name") || !s["name"].is_string() || !s.contains("digest") ||
          !s["digest"].is_object() || !s["digest"].contains("sha256") || !s["digest"]["sha256"].is_string()) {
        Fail("manifest.dsse.json", "malformed subject");
        failed_structure_ = true;
        return;
      }
      if (!subjects.emplace(s["name"].get<std::string>(), s["digest"]["sha256"].get<std::string>()).second) {
        Fail("manifest.dsse.json", "subject listed twice: " + s["name"].get<std::string>());
        failed_structure_ = true;
        return;
      }
    }
    bool all = true;
    for (const auto& [name, data] : files_) {
      if (name == "manifest.dsse.json") continue;
      const auto it = subjects.find(name);
      if (it == subjects.end()) {
        Fail("manifest.dsse.json", "file " + name + " is not a subject of the statement");
        all = false;
      } else if (it->second != merkle::ToHex(merkle::Sha256(*data))) {
        Fail("manifest.dsse.json", "subject " + name + ": sha256 differs from the file");
        all = false;
      }
    }
    for (const auto& [name, digest] : subjects) {
      if (!files_.count(name) || name == "manifest.dsse.json") {
        Fail("manifest.dsse.json", "subject " + name + " is not in the bundle");
        all = false;
      }
    }
    if (all) Ok("manifest.dsse.json", "in-toto statement covers all " + std::to_string(subjects.size()) + " files with matching sha256");
    else failed_structure_ = true;
  }

  void CheckFiles() {
    std::set<std::string> listed;
    for (const auto& f : manifest_["files"]) {
      if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("sha256") ||
          !f["sha256"].is_string() || !f.contains("size") || !f["size"].is_number_unsigned()) {
        Fail("manifest.json", "malformed files[] item");
        failed_structure_ = true;
        continue;
      }
      const std::string path = f["path"].get<std::string>();
      if (!listed.insert(path).second || kManifestFiles.count(path)) {
        Fail("file " + path, "listed twice or names a manifest file");
        failed_structure_ = true;
        continue;
      }
      const auto it = files_.find(path);
      if (it == files_.end()) {
        Fail("file " + path, "listed in manifest.json but not in the bundle");
        failed_structure_ = true;
        continue;
      }
      const std::string digest = merkle::ToHex(merkle::Sha256(*it->second));
      if (f["size"].get<std::uint64_t>() != it->second->size() || f["sha256"].get<std::string>() != digest) {
        Fail("file " + path, "size or sha256 differs from manifest.json");
        failed_structure_ = true;
        continue;
      }
      Ok("file " + path, "sha256 " + digest);
    }
    for (const auto& [name, data] : files_) {
      if (!listed.count(name) && !kManifestFiles.count(name)) {
        Fail("file " + name, "in the bundle but not listed in manifest.json");
        failed_structure_ = true;
      }
    }
  }

  static bool IsStr(const json& j, const char* k) { return j.contains(k) && j[k].is_string(); }

  void CheckOps() {
    const std::string tenant = manifest_["tenant"].get<std::string>();
    const Micros grace = manifest_["grace_us"].get<Micros>();
    std::set<std::string> seen;
    for (const auto& entry : manifest_["entries"]) {
      if (!entry.is_object() || !IsStr(entry, "op_id") || !IsStr(entry, "file")) {
        Fail("manifest.json", "malformed entries[] item");
        continue;
      }
      const std::string op_id = entry["op_id"].get<std::string>();
      const std::string file = entry["file"].get<std::string>();
      const std::string subject = "op " + op_id;
      if (file != OpFileName(op_id) || !files_.count(file) || !seen.insert(file).second) {
        Fail(subject, "its record " + file + " is missing, misnamed or shared");
        continue;
      }
      const json op = json::parse(File(file), nullptr, false);
      if (op.is_discarded() || !op.is_object() || op.value("format", "") != kOpFormat || !IsStr(op, "tenant") ||
          !IsStr(op, "op_id") || !op.contains("receipts") || !op["receipts"].is_array() || !op.contains("spans") ||
          !op["spans"].is_array() || !op.contains("outcome") || !op["outcome"].is_object()) {
        Fail(subject, "record " + file + " is not a " + kOpFormat + " record");
        continue;
      }
      if (op["tenant"] != tenant || op["op_id"] != op_id) {
        Fail(subject, "record names tenant/op " + op["tenant"].get<std::string>() + "/" +
                          op["op_id"].get<std::string>() + ", not the manifest's");
        continue;
      }
      if (entry.value("anchor", json()) != op.value("anchor_id", json()) ||
          entry.value("hash", json()) != op.value("anchor_hash", json()) ||
          entry.value("outcome", json()) != op["outcome"].value("result", json())) {
        Fail(subject, "manifest entry (anchor, hash, outcome) disagrees with the record");
      }
      try {
        CheckReceipts(op_id, op);
        CheckOutcome(op_id, op, grace);
      } catch (const json::exception& e) {
        Fail(subject, std::string("malformed record: ") + e.what());
      }
    }
    if (seen.size() != manifest_["files"].size()) {
      Fail("manifest.json", "files[] lists " + std::to_string(manifest_["files"].size()) + " files for " +
                                std::to_string(seen.size()) + " operation records");
    }
  }

  void CheckReceipts(const std::string& op_id, const json& op) {
    for (const auto& r : op["receipts"]) {
      const std::string rid = r.at("receipt_id").get<std::string>();
      const std::string subject = "op " + op_id + " receipt " + rid;
      const std::string content_hash = r.at("content_hash").get<std::string>();
      const int version = r.at("version").get<int>();
      // Body -> content hash.
      const auto& masked = r.at("masked");
      if (masked.is_array() && !masked.empty()) {
        Add(Verdict::kMasked, subject + ": body->hash", "masked " + masked.dump() + "; body cannot be re-hashed");
      } else {
        const std::optional<std::string> h = hasher_ ? hasher_(r.at("body").get<std::string>()) : std::nullopt;
        if (!hasher_) {
          Add(Verdict::kUnproven, subject + ": body->hash", "this build has no canonical form for bodies");
        } else if (h && *h == content_hash) {
          Ok(subject + ": body->hash", "SHA-256 of the canonical body equals content_hash");
        } else if (version == 1) {
          Add(Verdict::kUnproven, subject + ": body->hash",
              "body hash unproven (v1): the stored hash does not follow the canonical-form definition");
        } else {
          Fail(subject + ": body->hash", h ? "SHA-256 of the canonical body is " + *h + ", content_hash is " + content_hash
                                          : "body is not JSON");
        }
      }
      // Content hash -> anchor.
      const json& anchor = r.at("anchor");
      if (anchor.is_null()) {
        Add(Verdict::kUnproven, subject + ": hash->anchor", "not anchored at export time");
        continue;
      }
      if (anchor.at("root_rule") != "rfc6962") {
        Add(Verdict::kUnproven, subject + ": hash->anchor",
            "anchor " + anchor.at("anchor_id").get<std::string>() + " is opaque (ledger not following RFC 6962)");
        continue;
      }
      const json& proof = r.at("inclusion_proof");
      const auto leaf = merkle::HashFromHex(content_hash);
      const auto root = merkle::HashFromHex(anchor.at("anchor_hash").get<std::string>());
      if (proof.is_null() || !leaf || !root) {
        Fail(subject + ": hash->anchor", "no inclusion proof, or a hash that is not 64 hex digits");
        continue;
      }
      std::vector<merkle::Hash> path;
      bool ok = true;
      for (const auto& p : proof.at("path")) {
        const auto h = merkle::HashFromHex(p.get<std::string>());
        if (!h) ok = false;
        else path.push_back(*h);
      }
      const auto size = proof.at("tree_size").get<std::uint64_t>();
      const auto count = anchor.at("receipt_count").get<std::int64_t>();
      if (!ok) {
        Fail(subject + ": hash->anchor", "audit path holds a hash that is not 64 hex digits");
        continue;
      }
      if (count < 0 || size != static_cast<std::uint64_t>(count)) {
        Fail(subject + ": hash->anchor", "proof tree size " + std::to_string(size) + " is not the anchor's receipt count " +
                                             std::to_string(count));
        continue;
      }
      std::string why;
      if (merkle::VerifyInclusion(proof.at("leaf_index").get<std::uint64_t>(), size, merkle::LeafHash(*leaf), path, *root,
                                  &why)) {
        Ok(subject + ": hash->anchor", "inclusion proof to anchor " + anchor.at("anchor_id").get<std::string>() +
                                           " (leaf " + std::to_string(proof.at("leaf_index").get<std::uint64_t>()) +
                                           " of " + std::to_string(size) + ")");
      } else {
        Fail(subject + ": hash->anchor", why);
      }
    }
  }

  // Recomputes the outcome from the record with the exporter's rule.
  void CheckOutcome(const std::string& op_id, const json& op, Micros grace) {
    const json& out = op["outcome"];
    const std::string stated = out.at("result").get<std::string>();
    const std::string subject = "op " + op_id + ": outcome";
    if (out.at("grace_us").get<Micros>() != grace) {
      Fail(subject, "record's grace differs from the manifest's");
      return;
    }
    if (op["spans"].empty()) {
      if (stated != "untraced") Fail(subject, "stated " + stated + " without spans");
      else Ok(subject, "untraced (no span: the exporter's rules judge traced operations only)");
      return;
    }
    // Earliest start; first non-empty attested hash in (start, span_id) order.
    std::vector<std::tuple<Micros, std::string, std::string>> spans;
    for (const auto& s : op["spans"]) {
      spans.emplace_back(s.at("start").at("unix_us").get<Micros>(), s.at("span_id").get<std::string>(),
                         s.at("attested_hash").is_null() ? "" : s.at("attested_hash").get<std::string>());
    }
    std::sort(spans.begin(), spans.end());
    const Micros start = std::get<0>(spans.front());
    std::string attested;
    for (const auto& s : spans) {
      if (!std::get<2>(s).empty()) {
        attested = std::get<2>(s);
        break;
      }
    }
    compute::OutcomeRule rule(start, grace, !attested.empty());
    for (const auto& r : op["receipts"]) {
      rule.Consider(r.at("created_at").at("unix_us").get<Micros>(), r.at("content_hash").get<std::string>() == attested);
    }
    const std::string got = compute::OutcomeName(rule.result());
    if (got == stated) Ok(subject, got + " (recomputed from the record with the exporter's rule)");
    else Fail(subject, "stated " + stated + ", the record gives " + got);
  }

  const std::vector<PublicKey>& trusted_;
  const BodyHasher& hasher_;
  std::map<std::string, const std::string*> files_;
  json manifest_;
  std::string signer_;
  bool failed_ = false;
  bool failed_structure_ = false;
  VerifyReport report_;
};

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk: return "ok";
    case Verdict::kMasked: return "masked";
    case Verdict::kUnproven: return "unproven";
    case Verdict::kFail: return "FAIL";
  }
  return "FAIL";
}

int VerifyReport::count(Verdict v) const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.verdict == v; }));
}

int VerifyReport::exit_code() const {
  if (count(Verdict::kFail) > 0 || findings.empty()) return 1;
  if (count(Verdict::kUnproven) > 0) return 3;
  return 0;
}

VerifyReport VerifyBundle(const std::vector<ZipEntry>& entries, const std::vector<PublicKey>& trusted,
                          const BodyHasher& body_hash) {
  return Checker(entries, trusted, body_hash).Run();
}

}  // namespace provledger::evidence
