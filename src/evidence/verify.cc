#include "evidence/verify.hh"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <simdjson.h>
#include <stdexcept>
#include <string_view>
#include <tuple>

#include "compute/outcome.hh"
#include "evidence/bundle.hh"
#include "merkle/merkle.hh"
#include "receipt/receipt.hh"

namespace provledger::evidence {
namespace {

using json = nlohmann::json;
namespace dom = simdjson::dom;

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

  // Hex SHA-256 of a file, computed once (the DSSE subjects and files[] both need it).
  const std::string& Digest(const std::string& name) {
    auto it = digests_.find(name);
    if (it == digests_.end()) it = digests_.emplace(name, merkle::ToHex(merkle::Sha256(File(name)))).first;
    return it->second;
  }

  void CheckManifestDigest() {
    const std::string& want = Digest("manifest.json");
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
      } else if (it->second != Digest(name)) {
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
      const std::string& digest = Digest(path);
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

  // ---- operation records (parsed with simdjson: most of a bundle's bytes) ----

  struct Malformed : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  // The field `key` of `obj`: nullopt when absent; Malformed when it occurs
  // twice (a record must read the same in every JSON reader).
  static std::optional<dom::element> Opt(dom::object obj, std::string_view key) {
    std::optional<dom::element> found;
    for (const auto field : obj) {
      if (field.key != key) continue;
      if (found) throw Malformed("field \"" + std::string(key) + "\" occurs twice");
      found = field.value;
    }
    return found;
  }
  static dom::element At(dom::object obj, std::string_view key) {
    auto e = Opt(obj, key);
    if (!e) throw Malformed("missing field \"" + std::string(key) + "\"");
    return *e;
  }
  static dom::object Obj(dom::element e, std::string_view what) {
    dom::object o;
    if (e.get_object().get(o)) throw Malformed(std::string(what) + " is not an object");
    return o;
  }
  static dom::array Arr(dom::element e, std::string_view what) {
    dom::array a;
    if (e.get_array().get(a)) throw Malformed(std::string(what) + " is not an array");
    return a;
  }
  static std::string_view Str(dom::element e, std::string_view what) {
    std::string_view v;
    if (e.get_string().get(v)) throw Malformed(std::string(what) + " is not a string");
    return v;
  }
  static std::int64_t I64(dom::element e, std::string_view what) {
    std::int64_t v = 0;
    if (e.get_int64().get(v)) throw Malformed(std::string(what) + " is not an integer");
    return v;
  }
  static std::uint64_t U64(dom::element e, std::string_view what) {
    std::uint64_t v = 0;
    if (e.get_uint64().get(v)) throw Malformed(std::string(what) + " is not an unsigned integer");
    return v;
  }
  static std::string Str(dom::object o, std::string_view key) { return std::string(Str(At(o, key), key)); }
  // A string-or-null field as the manifest entry holds it (absent = null).
  static json Nullable(dom::object o, std::string_view key) {
    const auto e = Opt(o, key);
    if (!e || e->is_null()) return json(nullptr);
    std::string_view v;
    if (e->get_string().get(v)) return json("<not a string>");
    return json(std::string(v));
  }
  static std::string Dump(dom::element e) { return simdjson::minify(e); }

  void CheckOps() {
    const std::string tenant = manifest_["tenant"].get<std::string>();
    const Micros grace = manifest_["grace_us"].get<Micros>();
    std::set<std::string> seen;
    for (const auto& entry : manifest_["entries"]) {
      if (!entry.is_object() || !entry.contains("op_id") || !entry["op_id"].is_string() || !entry.contains("file") ||
          !entry["file"].is_string()) {
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
      const std::string& text = File(file);
      dom::element doc;
      dom::object op;
      bool shaped = !parser_.parse(text.data(), text.size(), true).get(doc) && !doc.get_object().get(op);
      std::string rec_tenant, rec_op;
      try {
        if (shaped) {
          const auto fmt = Opt(op, "format");
          std::string_view f;
          const auto t = Opt(op, "tenant");
          const auto o = Opt(op, "op_id");
          const auto rc = Opt(op, "receipts");
          const auto sp = Opt(op, "spans");
          const auto oc = Opt(op, "outcome");
          shaped = fmt && !fmt->get_string().get(f) && f == kOpFormat && t && t->is_string() && o && o->is_string() &&
                   rc && rc->is_array() && sp && sp->is_array() && oc && oc->is_object();
          if (shaped) {
            rec_tenant = std::string(Str(*t, "tenant"));
            rec_op = std::string(Str(*o, "op_id"));
          }
        }
      } catch (const Malformed&) {
        shaped = false;
      }
      if (!shaped) {
        Fail(subject, "record " + file + " is not a " + kOpFormat + " record");
        continue;
      }
      if (rec_tenant != tenant || rec_op != op_id) {
        Fail(subject, "record names tenant/op " + rec_tenant + "/" + rec_op + ", not the manifest's");
        continue;
      }
      try {
        const json result = Nullable(Obj(At(op, "outcome"), "outcome"), "result");
        if (entry.value("anchor", json()) != Nullable(op, "anchor_id") ||
            entry.value("hash", json()) != Nullable(op, "anchor_hash") || entry.value("outcome", json()) != result) {
          Fail(subject, "manifest entry (anchor, hash, outcome) disagrees with the record");
        }
        CheckReceipts(op_id, op);
        CheckOutcome(op_id, op, grace);
      } catch (const Malformed& e) {
        Fail(subject, std::string("malformed record: ") + e.what());
      }
    }
    if (seen.size() != manifest_["files"].size()) {
      Fail("manifest.json", "files[] lists " + std::to_string(manifest_["files"].size()) + " files for " +
                                std::to_string(seen.size()) + " operation records");
    }
  }

  // Body -> content hash of one form of a receipt (`what`: "body->hash" for
  // the receipt as written, "v2 form" for a migrated receipt's current row).
  void CheckBodyHash(const std::string& subject, const std::string& what, dom::object form,
                     const std::string& content_hash, std::int64_t version) {
    const dom::array masked = Arr(At(form, "masked"), "masked");
    if (masked.size() > 0) {
      Add(Verdict::kMasked, subject + ": " + what,
          "masked " + Dump(At(form, "masked")) + "; body cannot be re-hashed");
      return;
    }
    const std::string body(Str(At(form, "body"), "body"));
    const std::optional<std::string> h = hasher_ ? hasher_(body) : std::nullopt;
    if (!hasher_) {
      Add(Verdict::kUnproven, subject + ": " + what, "this build has no canonical form for bodies");
    } else if (h && *h == content_hash) {
      Ok(subject + ": " + what, "SHA-256 of the canonical body equals content_hash");
    } else if (version == 1) {
      Add(Verdict::kUnproven, subject + ": " + what,
          "body hash unproven (v1): the stored hash does not follow the canonical-form definition");
    } else {
      Fail(subject + ": " + what,
           h ? "SHA-256 of the canonical body is " + *h + ", content_hash is " + content_hash : "body is not JSON");
    }
  }

  // A migrated receipt (docs/evidence.md, "Migrated receipts"): the record's
  // body/content_hash are the archived original (the receipt as written),
  // migration.v2 the row now. Checks the v2 form's own hash, and that it is
  // the original's conversion: it names the original's hash (migrated_from)
  // and its payload is the original body in canonical form. Returns the
  // hash the anchor covers (migration.anchored_form).
  std::string CheckMigration(const std::string& subject, dom::object r, dom::object m,
                             const std::string& original_hash) {
    const dom::object v2 = Obj(At(m, "v2"), "migration.v2");
    const std::string v2_hash = Str(v2, "content_hash");
    const std::int64_t v2_version = I64(At(v2, "version"), "migration.v2.version");
    const std::string form = Str(m, "anchored_form");
    if (form != "original" && form != "v2") throw Malformed("migration.anchored_form is neither original nor v2");
    if (v2_version != 2) {
      Fail(subject + ": v2 form", "version is " + std::to_string(v2_version) + ", not 2");
    } else {
      CheckBodyHash(subject, "v2 form", v2, v2_hash, v2_version);
    }
    const std::string link = subject + ": v2 form->original";
    const std::string v2_body(Str(At(v2, "body"), "migration.v2.body"));
    const std::string original_body(Str(At(r, "body"), "body"));
    const bool v2_masked = Arr(At(v2, "masked"), "migration.v2.masked").size() > 0;
    const bool original_masked = Arr(At(r, "masked"), "masked").size() > 0;
    const auto model = receipt::ReadV2(v2_body);
    if (!model.ok() || !model.value().migrated_from_hash) {
      if (v2_masked) {
        Add(Verdict::kMasked, link, "the masked v2 body cannot be read: its link to the original is not checked");
      } else {
        Fail(link, model.ok() ? "the v2 body does not name its original (migrated_from.content_hash)"
                              : "the v2 body breaks the contract: " + model.error());
      }
      return form == "v2" ? v2_hash : original_hash;
    }
    const std::string& named = *model.value().migrated_from_hash;
    if (named != original_hash) {
      Fail(link, "migrated_from.content_hash is " + named + ", the archived original's hash is " + original_hash);
    } else if (v2_masked || original_masked) {
      Add(Verdict::kMasked, link,
          "migrated_from names the archived original " + original_hash + "; payload not compared (masked)");
    } else {
      const auto canon = receipt::Canonicalize(original_body);
      if (!canon.ok() || !model.value().payload || *model.value().payload != canon.value()) {
        Fail(link, "the v2 payload is not the archived original body (canonical form)");
      } else {
        Ok(link, "migrated_from names the archived original " + original_hash +
                     " and the payload is its body (canonical form)");
      }
    }
    return form == "v2" ? v2_hash : original_hash;
  }

  void CheckReceipts(const std::string& op_id, dom::object op) {
    for (const auto re : Arr(At(op, "receipts"), "receipts")) {
      const dom::object r = Obj(re, "receipt");
      const std::string rid = Str(r, "receipt_id");
      const std::string subject = "op " + op_id + " receipt " + rid;
      const std::string content_hash = Str(r, "content_hash");
      const std::int64_t version = I64(At(r, "version"), "version");
      // Body -> content hash.
      CheckBodyHash(subject, "body->hash", r, content_hash, version);
      std::string anchored_hash = content_hash;
      if (const auto m = Opt(r, "migration"); m && !m->is_null()) {
        anchored_hash = CheckMigration(subject, r, Obj(*m, "migration"), content_hash);
      }
      // Content hash -> anchor.
      const dom::element anchor_e = At(r, "anchor");
      if (anchor_e.is_null()) {
        Add(Verdict::kUnproven, subject + ": hash->anchor", "not anchored at export time");
        continue;
      }
      const dom::object anchor = Obj(anchor_e, "anchor");
      std::string_view rule;
      if (At(anchor, "root_rule").get_string().get(rule) || rule != "rfc6962") {
        Add(Verdict::kUnproven, subject + ": hash->anchor",
            "anchor " + Str(anchor, "anchor_id") + " is opaque (ledger not following RFC 6962)");
        continue;
      }
      const dom::element proof_e = At(r, "inclusion_proof");
      const auto leaf = merkle::HashFromHex(anchored_hash);
      const auto root = merkle::HashFromHex(Str(anchor, "anchor_hash"));
      if (proof_e.is_null() || !leaf || !root) {
        Fail(subject + ": hash->anchor", "no inclusion proof, or a hash that is not 64 hex digits");
        continue;
      }
      const dom::object proof = Obj(proof_e, "inclusion_proof");
      std::vector<merkle::Hash> path;
      bool ok = true;
      for (const auto p : Arr(At(proof, "path"), "path")) {
        const auto h = merkle::HashFromHex(Str(p, "path item"));
        if (!h) ok = false;
        else path.push_back(*h);
      }
      const std::uint64_t size = U64(At(proof, "tree_size"), "tree_size");
      const std::int64_t count = I64(At(anchor, "receipt_count"), "receipt_count");
      const std::uint64_t index = U64(At(proof, "leaf_index"), "leaf_index");
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
      if (merkle::VerifyInclusion(index, size, merkle::LeafHash(*leaf), path, *root, &why)) {
        Ok(subject + ": hash->anchor", "inclusion proof to anchor " + Str(anchor, "anchor_id") + " (leaf " +
                                           std::to_string(index) + " of " + std::to_string(size) + ")");
      } else {
        Fail(subject + ": hash->anchor", why);
      }
    }
  }

  // Recomputes the outcome from the record with the exporter's rule.
  void CheckOutcome(const std::string& op_id, dom::object op, Micros grace) {
    const dom::object out = Obj(At(op, "outcome"), "outcome");
    const std::string stated = Str(out, "result");
    const std::string subject = "op " + op_id + ": outcome";
    if (I64(At(out, "grace_us"), "grace_us") != grace) {
      Fail(subject, "record's grace differs from the manifest's");
      return;
    }
    const dom::array span_list = Arr(At(op, "spans"), "spans");
    if (span_list.size() == 0) {
      if (stated != "untraced") Fail(subject, "stated " + stated + " without spans");
      else Ok(subject, "untraced (no span: the exporter's rules judge traced operations only)");
      return;
    }
    // Earliest start; first non-empty attested hash in (start, span_id) order.
    std::vector<std::tuple<Micros, std::string, std::string>> spans;
    for (const auto se : span_list) {
      const dom::object s = Obj(se, "span");
      const dom::element ah = At(s, "attested_hash");
      spans.emplace_back(I64(At(Obj(At(s, "start"), "start"), "unix_us"), "start.unix_us"), Str(s, "span_id"),
                         ah.is_null() ? std::string() : std::string(Str(ah, "attested_hash")));
    }
    std::sort(spans.begin(), spans.end());
    const Micros start = std::get<0>(spans.front());
    std::string attested;
    for (const auto& sp : spans) {
      if (!std::get<2>(sp).empty()) {
        attested = std::get<2>(sp);
        break;
      }
    }
    compute::OutcomeRule rule(start, grace, !attested.empty());
    for (const auto re : Arr(At(op, "receipts"), "receipts")) {
      const dom::object r = Obj(re, "receipt");
      rule.Consider(I64(At(Obj(At(r, "created_at"), "created_at"), "unix_us"), "created_at.unix_us"),
                    Str(At(r, "content_hash"), "content_hash") == attested);
    }
    const std::string got = compute::OutcomeName(rule.result());
    if (got == stated) Ok(subject, got + " (recomputed from the record with the exporter's rule)");
    else Fail(subject, "stated " + stated + ", the record gives " + got);
  }

  const std::vector<PublicKey>& trusted_;
  const BodyHasher& hasher_;
  std::map<std::string, const std::string*> files_;
  std::map<std::string, std::string> digests_;
  dom::parser parser_;        // operation records
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
