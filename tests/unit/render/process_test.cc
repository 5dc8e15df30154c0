// /proc parsing on fixture text, and one live read of this test process.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include <boost/test/unit_test.hpp>

#include "render/process.hh"

namespace provledger::render {
namespace {

// A command name with spaces and parentheses, as the kernel allows.
constexpr const char* kStat =
    "12345 (my (weird) proc) S 1 12345 12345 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 4 0 "
    "123456 987654321 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

BOOST_AUTO_TEST_CASE(parse_proc_stat_fields) {
  const auto st = ParseProcStat(kStat);
  BOOST_TEST_REQUIRE(st.has_value());
  BOOST_TEST(st->utime_ticks == 250u);
  BOOST_TEST(st->stime_ticks == 75u);
  BOOST_TEST(st->starttime_ticks == 123456u);
  BOOST_TEST(st->vsize_bytes == 987654321u);
  BOOST_TEST(st->rss_pages == 2048);
}

BOOST_AUTO_TEST_CASE(parse_proc_stat_rejects_malformed) {
  BOOST_TEST(!ParseProcStat("").has_value());
  BOOST_TEST(!ParseProcStat("12345 (x) S 1 2 3").has_value());  // too short
  BOOST_TEST(!ParseProcStat("12345 no-parens S 1 12345 12345 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 4 0 1 2 3").has_value());
  BOOST_TEST(!ParseProcStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 75 0 0 20 0 4 0 1 2 3").has_value());
}

BOOST_AUTO_TEST_CASE(parse_boot_time) {
  BOOST_TEST(ParseBootTime("cpu  1 2 3\ncpu0 1 2 3\nintr 5 6\nctxt 99\nbtime 1699990000\nprocesses 7\n").value() ==
             1699990000.0);
  BOOST_TEST(!ParseBootTime("cpu 1 2 3\n").has_value());
  BOOST_TEST(!ParseBootTime("btime x\n").has_value());
}

BOOST_AUTO_TEST_CASE(parse_max_open_files) {
  const char* limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1024                 524288               files     \n"
      "Max locked memory         8388608              8388608              bytes     \n";
  BOOST_TEST(ParseMaxOpenFiles(limits).value() == 1024.0);
  BOOST_TEST(!ParseMaxOpenFiles("Max open files            unlimited            unlimited            files\n").has_value());
  BOOST_TEST(!ParseMaxOpenFiles("Max cpu time  unlimited unlimited seconds\n").has_value());
}

BOOST_AUTO_TEST_CASE(make_process_stats_converts_units) {
  const auto p = MakeProcessStats(ParseProcStat(kStat), 1699990000.0, 9.0, 1024.0, 100, 4096);
  BOOST_TEST(p.cpu_seconds.value() == 3.25);                      // (250 + 75) / 100
  BOOST_TEST(p.resident_bytes.value() == 2048.0 * 4096.0);
  BOOST_TEST(p.virtual_bytes.value() == 987654321.0);
  BOOST_TEST(p.start_time_seconds.value() == 1699990000.0 + 1234.56);
  BOOST_TEST(p.open_fds.value() == 9.0);
  BOOST_TEST(p.max_fds.value() == 1024.0);

  const auto none = MakeProcessStats(std::nullopt, std::nullopt, std::nullopt, std::nullopt, 100, 4096);
  BOOST_TEST(!none.cpu_seconds.has_value());
  BOOST_TEST(!none.resident_bytes.has_value());
  BOOST_TEST(!none.start_time_seconds.has_value());
  const auto no_boot = MakeProcessStats(ParseProcStat(kStat), std::nullopt, std::nullopt, std::nullopt, 100, 4096);
  BOOST_TEST(no_boot.cpu_seconds.has_value());
  BOOST_TEST(!no_boot.start_time_seconds.has_value());
}

BOOST_AUTO_TEST_CASE(heap_in_use_adds_arena_and_mmapped_bytes) {
  BOOST_TEST(HeapInUseBytes(0, 0) == 0.0);
  BOOST_TEST(HeapInUseBytes(1000, 24) == 1024.0);
  BOOST_TEST(HeapInUseBytes(std::size_t{1} << 40, std::size_t{1} << 30) == 1099511627776.0 + 1073741824.0);
}

// A sanitizer that replaces malloc (ASan, TSan, MSan; GCC and clang spell the
// test differently) hides the allocation from glibc's mallinfo2.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PROVLEDGER_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define PROVLEDGER_SANITIZER_MALLOC 1
#endif
#endif

// A 64 MiB block held alive shows up in the heap in use (glibc serves it with
// mmap: hblkhd). Under a sanitizer malloc is the sanitizer's, not glibc's, so
// mallinfo2 does not see it: there only the presence is checked.
BOOST_AUTO_TEST_CASE(heap_in_use_follows_allocations) {
  const ProcessStats before = ReadProcessStats();
  BOOST_TEST_REQUIRE(before.heap_inuse_bytes.has_value());
  BOOST_TEST(*before.heap_inuse_bytes >= 0.0);
  constexpr std::size_t kBlock = 64u << 20;
  auto block = std::make_unique<char[]>(kBlock);
  for (std::size_t i = 0; i < kBlock; i += 4096) block[i] = static_cast<char>(i);
  const ProcessStats during = ReadProcessStats();
  BOOST_TEST_REQUIRE(during.heap_inuse_bytes.has_value());
#if !defined(PROVLEDGER_SANITIZER_MALLOC)
  BOOST_TEST(*during.heap_inuse_bytes >= *before.heap_inuse_bytes + static_cast<double>(kBlock));
  const char keep = block[4096];
  block.reset();
  const ProcessStats after = ReadProcessStats();
  BOOST_TEST(*after.heap_inuse_bytes < *during.heap_inuse_bytes - static_cast<double>(kBlock) / 2);
  BOOST_TEST(keep == static_cast<char>(4096));
#endif
}

BOOST_AUTO_TEST_CASE(read_process_stats_of_this_process) {
  const ProcessStats p = ReadProcessStats();
  BOOST_TEST_REQUIRE(p.cpu_seconds.has_value());
  BOOST_TEST(*p.cpu_seconds >= 0.0);
  BOOST_TEST_REQUIRE(p.resident_bytes.has_value());
  BOOST_TEST(*p.resident_bytes > 1024.0 * 1024.0);  // a Boost.Test binary holds > 1 MiB
  BOOST_TEST(*p.virtual_bytes >= *p.resident_bytes);
  BOOST_TEST_REQUIRE(p.open_fds.has_value());
  BOOST_TEST(*p.open_fds >= 3.0);  // stdin, stdout, stderr
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY) {
    BOOST_TEST(p.max_fds.value() == static_cast<double>(rl.rlim_cur));
  }
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  BOOST_TEST_REQUIRE(p.start_time_seconds.has_value());
  BOOST_TEST(*p.start_time_seconds <= now + 1);
  BOOST_TEST(*p.start_time_seconds > now - 3600);  // started within the test run
}

}  // namespace
}  // namespace provledger::render
