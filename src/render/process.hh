// Process metrics (process_*) read from /proc, split into I/O (ReadProcessStats)
// and pure parsers tested on fixture text. prometheus-cpp has no process
// collector, so this is ours.
//
// Contract: every field is optional; a field that cannot be read is absent and
// its family is not rendered (never a fake 0). Nothing here throws except
// std::bad_alloc. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace provledger::render {

struct ProcessStats {
  std::optional<double> cpu_seconds;          // user + system CPU, seconds
  std::optional<double> resident_bytes;       // RSS, bytes
  std::optional<double> virtual_bytes;        // VSZ, bytes
  std::optional<double> open_fds;             // entries of /proc/self/fd
  std::optional<double> max_fds;              // soft RLIMIT_NOFILE; absent when unlimited
  std::optional<double> start_time_seconds;   // Unix seconds
  // Heap in use (glibc mallinfo2 uordblks + hblkhd), bytes; rendered as
  // provledger_exporter_heap_inuse_bytes.
  std::optional<double> heap_inuse_bytes;
};

// Heap in use from glibc's malloc statistics: bytes in allocated arena chunks
// (mallinfo2 uordblks) plus bytes in mmapped blocks (hblkhd). Pure.
double HeapInUseBytes(std::size_t uordblks, std::size_t hblkhd);

// The fields of /proc/<pid>/stat this exporter uses.
struct ProcStat {
  std::uint64_t utime_ticks = 0;      // field 14
  std::uint64_t stime_ticks = 0;      // field 15
  std::uint64_t starttime_ticks = 0;  // field 22, clock ticks after boot
  std::uint64_t vsize_bytes = 0;      // field 23
  std::int64_t rss_pages = 0;         // field 24
};

// Parses the text of /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses; parsing starts after its last ')'. nullopt when
// the text is malformed.
std::optional<ProcStat> ParseProcStat(std::string_view text);

// Boot time (Unix seconds) from the "btime N" line of /proc/stat.
std::optional<double> ParseBootTime(std::string_view proc_stat_text);

// Soft limit of the "Max open files" line of /proc/<pid>/limits; nullopt
// when missing, malformed or "unlimited".
std::optional<double> ParseMaxOpenFiles(std::string_view limits_text);

// Combines parsed values; pure. clk_tck and page_size must be > 0 (else the
// fields that need them are absent).
ProcessStats MakeProcessStats(const std::optional<ProcStat>& stat, std::optional<double> boot_time,
                              std::optional<double> open_fds, std::optional<double> max_fds,
                              long clk_tck, long page_size);

// Reads /proc/self/{stat,limits,fd} and /proc/stat, and glibc's malloc
// statistics (mallinfo2, no I/O; absent without glibc 2.33+). Does I/O; never
// throws for a missing or unreadable file (that field is absent).
ProcessStats ReadProcessStats();

}  // namespace provledger::render
