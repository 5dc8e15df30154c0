// Anchor roots as the reference schema defines them (config/schema/ledger.sql,
// docs/evidence.md): the RFC 6962 tree head (src/merkle) over the anchor's
// receipts' content hashes (raw 32 bytes) in (created_at, receipt_id) order,
// receipt_id compared bytewise.
#pragma once

#include <string>
#include <vector>

#include "util.hh"

namespace provledger::sim {

struct AnchorMember {
  Micros created = 0;
  std::string receipt_id;
  std::string content_hash;   // 64 hex
};

// 64-hex root; sorts `members` into leaf order first.
std::string AnchorRootHex(std::vector<AnchorMember>& members);

}  // namespace provledger::sim
