// Bundle zips through libzip. Writing is deterministic: entries in the order
// given (the caller sorts them), fixed timestamps (1980-01-01 00:00 local DOS
// epoch), regular-file mode 0644, deflate. Reading is for hostile input: the
// archive is read from memory, never extracted; names, types, counts, sizes
// and compression ratios are checked before any entry is inflated.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace provledger::evidence {

struct ZipError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ZipEntry {
  std::string name;
  std::string data;
};

// Writes `entries` to `path` (through path + ".tmp", renamed when complete).
void WriteZip(const std::string& path, const std::vector<ZipEntry>& entries);

struct ZipLimits {
  std::uint64_t max_archive_bytes = 2ULL << 30;   // the zip file itself
  std::uint64_t max_entries = 200000;
  std::uint64_t max_entry_bytes = 256ULL << 20;   // one file, inflated
  std::uint64_t max_total_bytes = 4ULL << 30;     // all files, inflated
  std::uint64_t max_ratio = 200;                  // inflated / compressed, for entries over 64 KiB
};

// Why a name is unsafe ("" when safe): absolute, "..", empty or "."
// components, backslashes, control or non-ASCII bytes, drive letters.
std::string UnsafeNameReason(const std::string& name);

// Reads every entry; throws ZipError with a clear reason for an unsafe or
// damaged archive (traversal, absolute path, symlink or directory entry,
// duplicate name, too many entries, too large, suspicious ratio, bad CRC).
std::vector<ZipEntry> ReadZip(const std::string& path, const ZipLimits& limits = {});
std::vector<ZipEntry> ReadZipBytes(const std::string& bytes, const ZipLimits& limits = {});

}  // namespace provledger::evidence
