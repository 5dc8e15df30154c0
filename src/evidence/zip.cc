#include "evidence/zip.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

namespace provledger::evidence {
namespace {

std::string LibzipError(zip_t* z) { return zip_strerror(z); }

// 1980-01-01 12:00:00 UTC: inside the DOS date range in every time zone.
constexpr time_t kFixedMtime = 315576000;

// Deflate level 1: on bundle JSON (1,000 operations) the zip is 8 % larger
// than at level 9 (1.73 vs 1.61 MB) and the export's CPU time falls from
// 0.16 to 0.12 s, deflate being its largest part (bench/RESULTS.md, evidence).
constexpr zip_uint32_t kDeflateLevel = 1;

}  // namespace

void WriteZip(const std::string& path, const std::vector<ZipEntry>& entries) {
  const std::string tmp = path + ".tmp";
  std::remove(tmp.c_str());
  int err = 0;
  zip_t* z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_EXCL, &err);
  if (z == nullptr) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string msg = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw ZipError(path + ": cannot create zip: " + msg);
  }
  auto fail = [&](const std::string& what) {
    const std::string msg = path + ": " + what + ": " + LibzipError(z);
    zip_discard(z);
    std::remove(tmp.c_str());
    throw ZipError(msg);
  };
  for (const auto& e : entries) {
    zip_source_t* src = zip_source_buffer(z, e.data.data(), e.data.size(), 0);
    if (src == nullptr) fail("cannot add " + e.name);
    const zip_int64_t idx = zip_file_add(z, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(src);
      fail("cannot add " + e.name);
    }
    const auto i = static_cast<zip_uint64_t>(idx);
    if (zip_file_set_mtime(z, i, kFixedMtime, 0) != 0 ||
        zip_set_file_compression(z, i, ZIP_CM_DEFLATE, kDeflateLevel) != 0 ||
        zip_file_set_external_attributes(z, i, 0, ZIP_OPSYS_UNIX, static_cast<zip_uint32_t>(S_IFREG | 0644) << 16) != 0)
      fail("cannot set attributes of " + e.name);
  }
  if (zip_close(z) != 0) fail("cannot write zip");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string msg = std::strerror(errno);
    std::remove(tmp.c_str());
    throw ZipError(path + ": cannot rename the finished zip into place: " + msg);
  }
}

std::string UnsafeNameReason(const std::string& name) {
  if (name.empty()) return "empty name";
  if (name[0] == '/') return "absolute path";
  if (name.size() >= 2 && name[1] == ':') return "drive letter";
  for (const unsigned char c : name) {
    if (c == '\\') return "backslash in name";
    if (c < 0x20 || c >= 0x7f) return "control or non-ASCII byte in name";
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    const std::string part = name.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty()) return slash == std::string::npos ? "directory entry" : "empty path component";
    if (part == "..") return "path traversal (..)";
    if (part == ".") return "\".\" path component";
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return "";
}

std::vector<ZipEntry> ReadZipBytes(const std::string& bytes, const ZipLimits& limits) {
  if (bytes.size() > limits.max_archive_bytes)
    throw ZipError("archive is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                   std::to_string(limits.max_archive_bytes));
  zip_error_t zerr;
  zip_error_init(&zerr);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &zerr);
  if (src == nullptr) {
    const std::string msg = zip_error_strerror(&zerr);
    zip_error_fini(&zerr);
    throw ZipError("cannot read archive: " + msg);
  }
  zip_t* z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
  if (z == nullptr) {
    const std::string msg = zip_error_strerror(&zerr);
    zip_error_fini(&zerr);
    zip_source_free(src);
    throw ZipError("not a valid zip archive: " + msg);
  }
  zip_error_fini(&zerr);
  std::unique_ptr<zip_t, void (*)(zip_t*)> guard(z, [](zip_t* p) { zip_discard(p); });
  const zip_int64_t n = zip_get_num_entries(z, 0);
  if (n < 0) throw ZipError("cannot count entries");
  if (static_cast<std::uint64_t>(n) > limits.max_entries)
    throw ZipError("archive has " + std::to_string(n) + " entries, over the limit of " +
                   std::to_string(limits.max_entries));
  // First pass: names, types and declared sizes, before inflating anything.
  std::set<std::string> names;
  std::uint64_t total = 0;
  std::vector<std::pair<zip_uint64_t, zip_stat_t>> stats;
  for (zip_int64_t i = 0; i < n; ++i) {
    const auto idx = static_cast<zip_uint64_t>(i);
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z, idx, ZIP_FL_ENC_RAW, &st) != 0) throw ZipError("cannot read entry " + std::to_string(i));
    const std::string name = (st.valid & ZIP_STAT_NAME) ? st.name : "";
    const std::string why = UnsafeNameReason(name);
    if (!why.empty()) throw ZipError("unsafe entry name \"" + name + "\": " + why);
    if (!names.insert(name).second) throw ZipError("duplicate entry \"" + name + "\"");
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    if (zip_file_get_external_attributes(z, idx, 0, &opsys, &attr) != 0)
      throw ZipError("cannot read attributes of \"" + name + "\"");
    if (opsys == ZIP_OPSYS_UNIX) {
      // Type bits 0 = unspecified (many writers, e.g. Python's zipfile): a file.
      const mode_t type = static_cast<mode_t>(attr >> 16) & S_IFMT;
      if (type == S_IFLNK) throw ZipError("entry \"" + name + "\" is a symbolic link");
      if (type != 0 && type != S_IFREG) throw ZipError("entry \"" + name + "\" is not a regular file");
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
      throw ZipError("entry \"" + name + "\" is encrypted");
    if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
      throw ZipError("entry \"" + name + "\" has no size");
    if (st.size > limits.max_entry_bytes)
      throw ZipError("entry \"" + name + "\" inflates to " + std::to_string(st.size) + " bytes, over the limit of " +
                     std::to_string(limits.max_entry_bytes));
    if (st.size > 65536 && st.size / std::max<zip_uint64_t>(st.comp_size, 1) > limits.max_ratio)
      throw ZipError("entry \"" + name + "\" has compression ratio " +
                     std::to_string(st.size / std::max<zip_uint64_t>(st.comp_size, 1)) + ":1, over the limit of " +
                     std::to_string(limits.max_ratio) + ":1 (zip bomb?)");
    total += st.size;
    if (total > limits.max_total_bytes)
      throw ZipError("entries inflate to more than " + std::to_string(limits.max_total_bytes) + " bytes in total");
    stats.emplace_back(idx, st);
  }
  std::vector<ZipEntry> out;
  out.reserve(stats.size());
  for (const auto& [idx, st] : stats) {
    zip_file_t* f = zip_fopen_index(z, idx, 0);
    if (f == nullptr) throw ZipError(std::string("cannot open entry \"") + st.name + "\": " + LibzipError(z));
    ZipEntry e;
    e.name = st.name;
    // Read at most the declared size + 1: a stream longer than declared is an error.
    e.data.resize(static_cast<std::size_t>(st.size) + 1);
    std::size_t got = 0;
    bool bad = false;
    while (got < e.data.size()) {
      const zip_int64_t r = zip_fread(f, e.data.data() + got, e.data.size() - got);
      if (r < 0) {
        bad = true;
        break;
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    const std::string ferr = bad ? zip_strerror(z) : "";
    const std::string ferr2 = bad ? zip_file_strerror(f) : "";
    zip_fclose(f);
    if (bad) throw ZipError("entry \"" + e.name + "\" is damaged: " + ferr2);
    if (got != st.size) throw ZipError("entry \"" + e.name + "\" does not inflate to its declared size");
    e.data.resize(got);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ZipEntry> ReadZip(const std::string& path, const ZipLimits& limits) {
  // One read into a buffer of the file's size (no stream copies).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);   // never blocks on a FIFO
  if (fd < 0) throw ZipError(path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw ZipError(path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw ZipError(path + ": not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > limits.max_archive_bytes)
    throw ZipError(path + ": archive is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                   std::to_string(limits.max_archive_bytes));
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw ZipError(path + ": cannot read: " + std::strerror(errno));
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  bytes.resize(got);   // a file that shrank while read: what was there
  try {
    return ReadZipBytes(bytes, limits);
  } catch (const ZipError& e) {
    throw ZipError(path + ": " + e.what());
  }
}

}  // namespace provledger::evidence
