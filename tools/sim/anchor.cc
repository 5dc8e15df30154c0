#include "anchor.hh"

#include <algorithm>
#include <stdexcept>

#include "merkle/merkle.hh"

namespace provledger::sim {

std::string AnchorRootHex(std::vector<AnchorMember>& members) {
  std::sort(members.begin(), members.end(), [](const AnchorMember& a, const AnchorMember& b) {
    if (a.created != b.created) return a.created < b.created;
    return a.receipt_id < b.receipt_id;   // bytewise, like COLLATE "C"
  });
  std::vector<merkle::Hash> leaves;
  leaves.reserve(members.size());
  for (const auto& m : members) {
    const auto h = merkle::HashFromHex(m.content_hash);
    if (!h) throw std::runtime_error("content hash is not 64 hex digits: " + m.content_hash);
    leaves.push_back(merkle::LeafHash(*h));
  }
  return merkle::ToHex(merkle::RootFromLeafHashes(leaves));
}

}  // namespace provledger::sim
