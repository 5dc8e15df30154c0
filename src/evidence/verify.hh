// Offline verification of an evidence bundle (pure: zip entries + trusted
// public keys in, findings out). Checks, failing closed:
//   1. the four manifest files are present; manifest.sha256 matches;
//   2. manifest.sig: Ed25519 over manifest.json's exact bytes, with a trusted
//      key (manifest key_id narrows the choice; it is never trusted by itself);
//   3. manifest.dsse.json: DSSE over PAE with a trusted key, payloadType
//      in-toto, Statement v1 whose subjects are exactly the other files with
//      their sha256;
//   4. files[]: the zip holds exactly the listed files (+ the four manifest
//      files), each with the listed size and sha256;
//   5. per operation: the record matches its manifest entry; per receipt:
//      body -> content hash (ok / masked / unproven v1 / FAIL), content hash
//      -> anchor root by the inclusion proof (tree size = receipt count), or
//      unproven for opaque anchors and unanchored receipts; for a migrated
//      receipt (docs/evidence.md) the v2 form's canonical hash and its link to
//      the archived original (migrated_from hash, payload = original body);
//      the outcome is recomputed with the exporter's rule (compute/outcome.hh).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "evidence/keys.hh"
#include "evidence/zip.hh"

namespace provledger::evidence {

enum class Verdict { kOk, kMasked, kUnproven, kFail };
const char* VerdictName(Verdict v);   // "ok", "masked", "unproven", "FAIL"

struct Finding {
  Verdict verdict;
  std::string subject;   // "signature", "file ops/x.json", "receipt R of op O: body->hash", ...
  std::string detail;
};

struct VerifyReport {
  std::vector<Finding> findings;
  int count(Verdict v) const;
  // 0: everything verified (masked bodies allowed); 1: a failure;
  // 3: nothing failed but some step is unproven.
  int exit_code() const;
};

// The receipt's body -> content hash definition (RFC 8785 JCS + SHA-256,
// src/receipt). nullopt: the body cannot be canonicalized (not JSON).
using BodyHasher = std::function<std::optional<std::string>(const std::string& body)>;

VerifyReport VerifyBundle(const std::vector<ZipEntry>& entries, const std::vector<PublicKey>& trusted,
                          const BodyHasher& body_hash);

}  // namespace provledger::evidence
