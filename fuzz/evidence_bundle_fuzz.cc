// libFuzzer target: the evidence verifier's reading of hostile bundles
// (evidence::ReadZipBytes, then evidence::VerifyBundle with the receipts v2
// body hasher), on any bytes. The first byte picks the mode:
//   even: the rest is a zip archive (libzip reader with its limits);
//   odd:  the rest is a list of entries "name\0data\0name\0data..." given
//         to VerifyBundle directly, so the fuzzer reaches the manifest,
//         DSSE and operation-record parsing without fighting zip CRCs.
// Contract checked: ReadZipBytes returns entries or throws ZipError with a
// message; returned entries have safe, unique names within the limits;
// VerifyBundle never throws, reports at least one finding, and its exit
// code (0, 1 or 3) agrees with its findings (1 iff some FAIL).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "evidence/verify.hh"
#include "evidence/zip.hh"
#include "receipt/receipt.hh"

namespace {

using namespace provledger;

// Public key of the seed corpus' signing key (Ed25519 seed 32 x 0x11).
constexpr std::uint8_t kSeedPublic[32] = {0xd0, 0x4a, 0xb2, 0x32, 0x74, 0x2b, 0xb4, 0xab, 0x3a, 0x13, 0x68,
                                          0xbd, 0x46, 0x15, 0xe4, 0xe6, 0xd0, 0x22, 0x4a, 0xb7, 0x1a, 0x01,
                                          0x6b, 0xaf, 0x85, 0x20, 0xa3, 0x32, 0xc9, 0x77, 0x87, 0x37};

std::optional<std::string> Hash(const std::string& body) {
  auto h = receipt::ContentHash(body);
  if (!h) return std::nullopt;
  return h.value();
}

void Check(const std::vector<evidence::ZipEntry>& entries) {
  evidence::PublicKey pub{};
  for (std::size_t i = 0; i < pub.size(); ++i) pub[i] = kSeedPublic[i];
  evidence::VerifyReport rep;
  try {
    rep = evidence::VerifyBundle(entries, {pub}, Hash);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (...) {
    __builtin_trap();   // the verifier must report, never throw
  }
  if (rep.findings.empty()) __builtin_trap();
  const int rc = rep.exit_code();
  const bool failed = rep.count(evidence::Verdict::kFail) > 0;
  if (rc != 0 && rc != 1 && rc != 3) __builtin_trap();
  if ((rc == 1) != failed) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    evidence::ZipLimits limits;
    limits.max_archive_bytes = 1 << 20;
    limits.max_entries = 64;
    limits.max_entry_bytes = 1 << 20;
    limits.max_total_bytes = 4 << 20;
    std::vector<evidence::ZipEntry> entries;
    try {
      entries = evidence::ReadZipBytes(rest, limits);
    } catch (const evidence::ZipError& e) {
      if (std::string_view(e.what()).empty()) __builtin_trap();
      return 0;
    }
    std::set<std::string> names;
    for (const auto& e : entries) {
      if (!evidence::UnsafeNameReason(e.name).empty()) __builtin_trap();
      if (!names.insert(e.name).second) __builtin_trap();
      if (e.data.size() > limits.max_entry_bytes) __builtin_trap();
    }
    if (entries.size() > limits.max_entries) __builtin_trap();
    Check(entries);
    return 0;
  }
  std::vector<evidence::ZipEntry> entries;
  std::size_t pos = 0;
  while (pos < rest.size() && entries.size() < 64) {
    std::size_t nul = rest.find('\0', pos);
    evidence::ZipEntry e;
    e.name = rest.substr(pos, nul == std::string::npos ? std::string::npos : nul - pos);
    if (nul == std::string::npos) {
      entries.push_back(std::move(e));
      break;
    }
    pos = nul + 1;
    nul = rest.find('\0', pos);
    e.data = rest.substr(pos, nul == std::string::npos ? std::string::npos : nul - pos);
    entries.push_back(std::move(e));
    if (nul == std::string::npos) break;
    pos = nul + 1;
  }
  Check(entries);
  return 0;
}
