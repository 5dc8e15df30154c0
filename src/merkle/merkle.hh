// RFC 6962 / RFC 9162 Merkle trees: the anchor-root definition of the
// reference schema (config/schema/ledger.sql, docs/evidence.md) and inclusion
// proofs. Pure functions over SHA-256 (OpenSSL libcrypto); no I/O.
//
//   leaf hash  = SHA-256(0x00 || leaf bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   empty tree = SHA-256("")
//   MTH(D[n]), n > 1: k = largest power of two < n,
//                     MTH = node(MTH(D[0:k]), MTH(D[k:n]))   (no duplicated last node)
//
// An anchor's root is MTH over the anchor's receipts' content hashes (the raw
// 32 bytes of the 64-hex content_hash) in (created_at, receipt_id) order.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace provledger::merkle {

using Hash = std::array<std::uint8_t, 32>;

// Plain SHA-256 of bytes (libcrypto).
Hash Sha256(std::string_view bytes);
Hash Sha256(std::span<const std::uint8_t> bytes);

Hash LeafHash(std::string_view leaf_bytes);
Hash LeafHash(const Hash& leaf_bytes);   // a 32-byte leaf (a content hash)
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();

// Root over already-hashed leaves (LeafHash of each leaf), in order.
Hash RootFromLeafHashes(const std::vector<Hash>& leaf_hashes);

// Audit path (leaf to root) of leaf `index` in the tree over `leaf_hashes`
// (RFC 6962 2.1.1 PATH). index must be < size.
std::vector<Hash> InclusionProof(const std::vector<Hash>& leaf_hashes, std::uint64_t index);

// All audit paths of a tree at once (O(n log n)); same result as calling
// InclusionProof for each index.
std::vector<std::vector<Hash>> AllInclusionProofs(const std::vector<Hash>& leaf_hashes);

// RFC 9162 2.1.3.2: the root a proof leads to, or nullopt (with *why) when
// the proof cannot be for (index, size): index >= size, or a path length
// other than the exact one the tree shape requires.
std::optional<Hash> RootFromInclusionProof(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                                           const std::vector<Hash>& proof, std::string* why);
// True when the proof leads to `root`; *why says what failed otherwise.
bool VerifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                     const std::vector<Hash>& proof, const Hash& root, std::string* why);

// Lower-case hex, and its strict inverse (exactly 64 hex digits, either case).
std::string ToHex(std::span<const std::uint8_t> bytes);
std::string ToHex(const Hash& h);
std::optional<Hash> HashFromHex(std::string_view hex);
// Any even-length hex string to bytes; nullopt on a bad digit or odd length.
std::optional<std::vector<std::uint8_t>> BytesFromHex(std::string_view hex);

}  // namespace provledger::merkle
