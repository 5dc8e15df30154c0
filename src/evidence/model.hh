// What an evidence bundle says about each operation (filled by collect.cc
// from the databases, written by bundle.cc, read back by verify.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/rows.hh"

namespace provledger::evidence {

struct NotaryProof {
  std::string notary;
  Micros proved_at = 0;
};

struct AnchorInfo {
  std::string anchor_id;
  std::string anchor_hash;
  std::int64_t receipt_count = 0;
  Micros anchored_at = 0;
  bool rfc6962 = true;   // ledger's anchor_root; false = opaque
  std::vector<NotaryProof> notary_proofs;
};

struct InclusionProof {
  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<std::string> path;   // hex, leaf to root
};

// A receipt that provledger_migrate moved from v1 to v2: the record's body,
// content_hash and version are the archived original (the receipt as
// written); this is the row as it is now (docs/evidence.md, "Migrated receipts").
struct MigrationInfo {
  std::string archive_table;
  Micros migrated_at = 0;
  int v2_version = 2;
  std::string v2_body;                  // stored text (or masked text)
  std::vector<std::string> v2_masked;   // pointers masked in v2_body
  std::string v2_content_hash;
  bool anchored_v2 = false;             // the anchor covers the v2 hash (anchored after the migration)
};

struct ReceiptInfo {
  std::string ledger;
  std::string region;
  std::string receipt_id;
  std::string policy_version;
  std::string kid;
  int version = 0;
  std::string body;          // stored text (or masked text)
  std::vector<std::string> masked;   // pointers masked in body
  std::string content_hash;
  Micros created_at = 0;
  bool counts = false;       // created by span start + grace (outcome rule)
  std::optional<AnchorInfo> anchor;
  std::optional<InclusionProof> proof;
  std::string proof_note;    // why there is no proof (unanchored, opaque, ...)
  std::optional<MigrationInfo> migration;
};

struct SpanInfo {
  std::string store;
  std::string trace_id;
  std::string span_id;
  std::string name;
  Micros start = 0;
  Micros end = 0;
  std::string attested_hash;
};

struct OpEvidence {
  std::string tenant;
  std::string op_id;
  std::vector<ReceiptInfo> receipts;
  std::vector<SpanInfo> spans;
  std::string outcome;       // attested | divergent | missing | untraced
  std::string reason;        // why, in words
  bool settled = false;      // start + grace passed by the time of export
  Micros span_start = 0;
  std::string attested_hash;
};

struct Query {
  std::string tenant;
  std::vector<std::string> op_ids;   // or a time range:
  std::optional<Micros> from;
  std::optional<Micros> to;
};

}  // namespace provledger::evidence
