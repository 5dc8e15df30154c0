#include "render/process.hh"

#include <dirent.h>
#include <malloc.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace provledger::render {

namespace {

// Splits on runs of ASCII whitespace.
std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename T>
bool ParseInt(std::string_view s, T& out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && ptr == end;
}

std::optional<std::string> Slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return ss.str();
}

std::optional<double> CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  double n = 0;
  while (const dirent* e = readdir(dir)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    ++n;
  }
  closedir(dir);
  // The directory stream itself holds one descriptor while counting; it is
  // reported as client_golang's procfs does (it counts it too).
  return n;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // After ") " the fields start at field 3 (state).
  const auto f = Fields(text.substr(close + 1));
  constexpr std::size_t kFirst = 3;
  auto at = [&f](std::size_t field) { return f[field - kFirst]; };
  if (f.size() < 24 - kFirst + 1) return std::nullopt;
  ProcStat st;
  if (!ParseInt(at(14), st.utime_ticks) || !ParseInt(at(15), st.stime_ticks) ||
      !ParseInt(at(22), st.starttime_ticks) || !ParseInt(at(23), st.vsize_bytes) ||
      !ParseInt(at(24), st.rss_pages)) {
    return std::nullopt;
  }
  return st;
}

std::optional<double> ParseBootTime(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const auto f = Fields(text.substr(pos, eol - pos));
    if (f.size() == 2 && f[0] == "btime") {
      std::uint64_t v = 0;
      if (ParseInt(f[1], v)) return static_cast<double>(v);
      return std::nullopt;
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

std::optional<double> ParseMaxOpenFiles(std::string_view text) {
  constexpr std::string_view kPrefix = "Max open files";
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    if (line.substr(0, kPrefix.size()) == kPrefix) {
      // "Max open files  <soft>  <hard>  files"
      const auto f = Fields(line.substr(kPrefix.size()));
      if (f.empty()) return std::nullopt;
      std::uint64_t v = 0;
      if (ParseInt(f[0], v)) return static_cast<double>(v);
      return std::nullopt;  // "unlimited" or malformed
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

ProcessStats MakeProcessStats(const std::optional<ProcStat>& stat, std::optional<double> boot_time,
                              std::optional<double> open_fds, std::optional<double> max_fds,
                              long clk_tck, long page_size) {
  ProcessStats p;
  p.open_fds = open_fds;
  p.max_fds = max_fds;
  if (!stat) return p;
  p.virtual_bytes = static_cast<double>(stat->vsize_bytes);
  if (page_size > 0) {
    p.resident_bytes = static_cast<double>(stat->rss_pages) * static_cast<double>(page_size);
  }
  if (clk_tck > 0) {
    const auto tck = static_cast<double>(clk_tck);
    p.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / tck;
    if (boot_time) p.start_time_seconds = *boot_time + static_cast<double>(stat->starttime_ticks) / tck;
  }
  return p;
}

double HeapInUseBytes(std::size_t uordblks, std::size_t hblkhd) {
  return static_cast<double>(uordblks) + static_cast<double>(hblkhd);
}

ProcessStats ReadProcessStats() {
  std::optional<ProcStat> stat;
  if (auto text = Slurp("/proc/self/stat")) stat = ParseProcStat(*text);
  // Boot time does not change; /proc/stat is read once per process.
  static const std::optional<double> boot = []() -> std::optional<double> {
    if (auto text = Slurp("/proc/stat")) return ParseBootTime(*text);
    return std::nullopt;
  }();
  std::optional<double> max_fds;
  if (auto text = Slurp("/proc/self/limits")) max_fds = ParseMaxOpenFiles(*text);
  ProcessStats p = MakeProcessStats(stat, boot, CountOpenFds(), max_fds, sysconf(_SC_CLK_TCK),
                                    sysconf(_SC_PAGESIZE));
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 mi = mallinfo2();
  p.heap_inuse_bytes = HeapInUseBytes(mi.uordblks, mi.hblkhd);
#endif
  return p;
}

}  // namespace provledger::render
