// Evidence bundle format v1 (docs/evidence.md). Pure: data + key in, zip
// entries out (sorted by name, ready for WriteZip).
//
//   manifest.json        seed fields (tenant, generated_at, entries[] with
//                        op_id, anchor, hash, policy_version) + bundle_format,
//                        key_id, query, exporter_version, grace_us, masks and
//                        files[] {path, size, sha256} of every ops/ file
//   manifest.sig         raw 64-byte Ed25519 signature over manifest.json's bytes
//   manifest.sha256      hex SHA-256 of manifest.json (no newline)
//   manifest.dsse.json   DSSE envelope, payloadType application/vnd.in-toto+json,
//                        in-toto Statement v1 whose subjects are every other
//                        file with its sha256; keyid = hex SHA-256(raw public key)
//   ops/<name>.rehydrate.json   one per operation (OpFileName)
#pragma once

#include <string>
#include <vector>

#include "evidence/keys.hh"
#include "evidence/model.hh"
#include "evidence/zip.hh"

namespace provledger::evidence {

inline constexpr const char* kBundleFormat = "provledger.evidence/v1";
inline constexpr const char* kOpFormat = "provledger.evidence.op/v1";
inline constexpr const char* kInTotoStatement = "https://in-toto.io/Statement/v1";
inline constexpr const char* kInTotoPayloadType = "application/vnd.in-toto+json";
inline constexpr const char* kPredicateType = "https://provledger.dev/evidence-bundle/v1";

struct BundleInput {
  Query query;
  std::vector<OpEvidence> ops;
  std::int64_t generated_at = 0;     // Unix seconds (the only varying field)
  std::string exporter_version;
  Micros grace = 0;                  // the exporter's coverage.grace, for the outcome rule
  std::vector<std::string> mask;     // pointers masked for this tenant (global + tenant)
};

// File name of an operation's record: ops/<op_id>.rehydrate.json when op_id
// is [A-Za-z0-9.-] (not starting with '.'), else every other byte as _XX
// (hex); names over 160 bytes become _sha256_<hex of SHA-256(op_id)>.
// Injective: distinct op ids never share a file.
std::string OpFileName(const std::string& op_id);

// DSSE pre-authentication encoding: "DSSEv1 <len> <type> <len> <body>".
std::string Pae(const std::string& payload_type, const std::string& payload);

std::vector<ZipEntry> BuildBundle(const BundleInput& in, const SigningKey& key);

// Masks `pointers` in a JSON body; returns the masked text and the pointers
// that were present (the body is unchanged, text as stored, when none is).
std::string MaskBody(const std::string& body, const std::vector<std::string>& pointers,
                     std::vector<std::string>* masked);
inline constexpr const char* kMaskedValue = "[masked]";

}  // namespace provledger::evidence
