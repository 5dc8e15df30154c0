// OtlpFileSource over real files in a temporary directory: cursor logic over
// partial lines, rotation, truncation, a vanished file, restarts through
// durable_position/StartFrom, pages, limits, zstd framing.
#ifndef BOOST_TEST_DYN_LINK
#define BOOST_TEST_DYN_LINK
#endif
#define BOOST_TEST_MODULE otlp_file
#include <boost/test/unit_test.hpp>

#include <stdlib.h>
#include <unistd.h>
#include <zstd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "source/factory.hh"
#include "source/otlp_file_source.hh"

using namespace provledger;
using namespace provledger::source;
namespace fs = std::filesystem;

namespace provledger {
inline std::ostream& operator<<(std::ostream& os, ErrorKind k) { return os << ErrorKindName(k); }
}  // namespace provledger

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "otlp_file_test.XXXXXX").string();
    BOOST_TEST_REQUIRE(mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
};

Micros NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Start times well inside the past (the watermark is capped by now).
const Micros kT0 = NowUs() - 3600LL * 1000000;

// One request line with one span per op id; span i starts at kT0 + i ms.
std::string Line(const std::vector<int>& ops, const std::string& tenant = "acme") {
  std::string spans;
  for (int i : ops) {
    if (!spans.empty()) spans += ",";
    char id[17];
    std::snprintf(id, sizeof id, "%016x", i + 1);
    const Micros start = kT0 + i * 1000;
    spans += R"({"traceId":"0123456789abcdef0123456789abcdef","spanId":")" + std::string(id) +
             R"(","name":"op","startTimeUnixNano":")" + std::to_string(start * 1000) + R"(","endTimeUnixNano":")" +
             std::to_string((start + 500) * 1000) +
             R"(","attributes":[{"key":"provledger.op_id","value":{"stringValue":"op-)" + std::to_string(i) +
             R"("}}]})";
  }
  return R"({"resourceSpans":[{"resource":{"attributes":[{"key":"provledger.tenant","value":{"stringValue":")" +
         tenant + R"("}}]},"scopeSpans":[{"spans":[)" + spans + "]}]}]}";
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::app | std::ios::binary);
  f << text;
}

struct Logs {
  std::mutex mu;
  std::vector<std::string> lines;
  LogFn fn() {
    return [this](LogLevel, std::string_view m, const LogFields& f) {
      std::lock_guard<std::mutex> l(mu);
      std::string s(m);
      for (const auto& [k, v] : f) s += " " + k + "=" + v;
      lines.push_back(s);
    };
  }
  bool Has(const std::string& part) {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& s : lines) {
      if (s.find(part) != std::string::npos) return true;
    }
    return false;
  }
};

config::TraceStore Store(const std::string& path) {
  config::TraceStore t;
  t.name = "otel";
  t.kind = config::TraceKind::kOtlpFile;
  t.otlp.path = path;
  t.out_of_order_ms = 1000;
  t.batch_size = 1000;
  return t;
}

SourceOptions Options(Logs& logs, std::int64_t max_rows = 0) {
  SourceOptions o;
  o.max_rows_per_poll = max_rows;
  o.log = logs.fn();
  o.log_bad_rows_per_minute = 1000;
  return o;
}

std::vector<std::string> Ops(const PollResult& r) {
  std::vector<std::string> out;
  if (const auto* b = std::get_if<TraceBatch>(&r.batch)) {
    for (const auto& s : b->spans) out.push_back(s.op_id);
  }
  return out;
}

std::vector<std::string> Names(std::initializer_list<int> ids) {
  std::vector<std::string> out;
  for (int i : ids) out.push_back("op-" + std::to_string(i));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rotated_name_pattern) {
  BOOST_TEST(OtlpFileSource::IsRotatedName("spans.json", "spans-2024-01-02T03-04-05.000.json"));
  BOOST_TEST(!OtlpFileSource::IsRotatedName("spans.json", "spans.json"));
  BOOST_TEST(!OtlpFileSource::IsRotatedName("spans.json", "spans-x.json"));
  BOOST_TEST(!OtlpFileSource::IsRotatedName("spans.json", "spans-2024.jsonl"));
  BOOST_TEST(!OtlpFileSource::IsRotatedName("spans.json", "other-2024.json"));
  BOOST_TEST(OtlpFileSource::IsRotatedName("spans", "spans-2024-01-02T03-04-05.000"));
}

BOOST_AUTO_TEST_CASE(whole_lines_only_partial_line_waits) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  const std::string l2 = Line({2});
  Append(path, Line({1}) + "\n" + l2.substr(0, 40));
  OtlpFileSource src(Store(path), Options(logs));
  auto r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ops(r) == Names({1}));
  BOOST_TEST(r.report.rows_read == 1u);
  BOOST_TEST(src.cursors().read.offset == Line({1}).size() + 1);
  // The rest of the line arrives: it is read once, whole.
  Append(path, l2.substr(40) + "\n");
  r = src.Poll();
  BOOST_TEST(Ops(r) == Names({2}));
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 0u);
  r = src.Poll();
  BOOST_TEST(Ops(r).empty(), "nothing is read twice");
}

BOOST_AUTO_TEST_CASE(rotation_finishes_the_rotated_file_then_the_live_one) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  Append(path, Line({1}) + "\n");
  OtlpFileSource src(Store(path), Options(logs));
  BOOST_TEST(Ops(src.Poll()) == Names({1}));
  // More lines, then the exporter's rotation: rename + new live file.
  Append(path, Line({2}) + "\n" + Line({3}) + "\n");
  fs::rename(path, dir.path + "/spans-2024-01-02T03-04-05.000.json");
  Append(path, Line({4}) + "\n");
  auto r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ops(r) == Names({2, 3, 4}));
  // A second rotation with a partial last line left in the rotated file:
  // the rotated file is finished, so its last line is read as is.
  Append(path, Line({5}) + "\n" + Line({6}));
  fs::rename(path, dir.path + "/spans-2024-01-02T03-05-00.000.json");
  Append(path, Line({7}) + "\n");
  r = src.Poll();
  BOOST_TEST(Ops(r) == Names({5, 6, 7}));
  BOOST_TEST(Ops(src.Poll()).empty());
}

BOOST_AUTO_TEST_CASE(cold_start_reads_rotated_siblings_oldest_first) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  Append(dir.path + "/spans-2024-01-02T03-05-00.000.json", Line({2}) + "\n");
  Append(dir.path + "/spans-2024-01-02T03-04-00.000.json", Line({1}) + "\n");
  Append(dir.path + "/other.json", Line({9}) + "\n");
  Append(path, Line({3}) + "\n");
  OtlpFileSource src(Store(path), Options(logs));
  BOOST_TEST(Ops(src.Poll()) == Names({1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(truncation_is_detected_and_logged) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  Append(path, Line({1}) + "\n" + Line({2}) + "\n");
  OtlpFileSource src(Store(path), Options(logs));
  BOOST_TEST(Ops(src.Poll()).size() == 2u);
  fs::resize_file(path, 0);
  Append(path, Line({3}) + "\n");
  auto r = src.Poll();
  BOOST_TEST(Ops(r) == Names({3}));
  BOOST_TEST(logs.Has("file truncated"));
}

BOOST_AUTO_TEST_CASE(vanished_file_is_reported_and_reading_goes_on) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  const std::string line1 = Line({1});
  Append(path, line1 + "\n" + Line({2}).substr(0, 30));
  OtlpFileSource src(Store(path), Options(logs));
  BOOST_TEST(Ops(src.Poll()) == Names({1}));
  // Rotated and the rotated file deleted before the source finished it.
  // (The new live file is created first, so it cannot reuse the inode.)
  fs::rename(path, dir.path + "/spans-2024-01-02T03-04-05.000.json");
  Append(path, Line({3}) + "\n");
  fs::remove(dir.path + "/spans-2024-01-02T03-04-05.000.json");
  auto r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ops(r) == Names({3}));
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kQuery)] == 1u);
  BOOST_TEST(logs.Has("disappeared"));
  // The live file missing altogether: a failed poll (connect), cursor kept.
  const auto before = src.cursors();
  fs::remove(path);
  r = src.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kConnect)] == 1u);
  BOOST_TEST(r.report.error.find("cannot stat") != std::string::npos, r.report.error);
  BOOST_TEST((src.cursors() == before));
}

BOOST_AUTO_TEST_CASE(malformed_lines_are_decode_errors_and_reading_goes_on) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  Append(path, Line({1}) + "\n{not json\n\n" + Line({2}) + "\n");
  OtlpFileSource src(Store(path), Options(logs));
  auto r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success);
  BOOST_TEST(Ops(r) == Names({1, 2}));
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 1u);
  BOOST_TEST(logs.Has("malformed OTLP JSON line"));
}

BOOST_AUTO_TEST_CASE(a_gigantic_line_is_refused_not_buffered) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  auto store = Store(path);
  store.otlp.max_line_bytes = 4096;
  // 3 MiB line (crosses read chunks), then a good one.
  std::string big = Line({1});
  big.insert(big.size() - 1, ",\"pad\":\"" + std::string(3 << 20, 'x') + "\"");
  Append(path, big + "\n" + Line({2}) + "\n");
  OtlpFileSource src(store, Options(logs));
  auto r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ops(r) == Names({2}));
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 1u);
  BOOST_TEST(logs.Has("longer than max_line_bytes (4096)"));
  // A long line still being written (no newline yet) waits, unbuffered.
  Append(path, std::string(8192, 'y'));
  r = src.Poll();
  BOOST_TEST(r.report.success);
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 0u);
  Append(path, "\n" + Line({3}) + "\n");
  r = src.Poll();
  BOOST_TEST(Ops(r) == Names({3}));
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 1u);
}

BOOST_AUTO_TEST_CASE(pages_commit_the_cursor_and_max_rows_continues) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  for (int i = 0; i < 10; ++i) Append(path, Line({i}) + "\n");
  auto store = Store(path);
  store.batch_size = 3;
  OtlpFileSource src(store, Options(logs, 5));
  std::vector<std::string> seen;
  std::vector<std::uint64_t> offsets;
  src.SetSink([&](Batch&& b) {
    for (const auto& s : std::get<TraceBatch>(b).spans) seen.push_back(s.op_id);
    offsets.push_back(src.cursors().read.offset);
  });
  auto r = src.Poll();
  BOOST_TEST(r.report.success);
  BOOST_TEST(r.more, "stopped at max_rows_per_poll");
  BOOST_TEST(seen.size() == 5u);
  BOOST_TEST(offsets.size() == 2u, "a page of 3, then the last 2");
  r = src.Poll();
  BOOST_TEST(seen == Names({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // Stopped exactly at the limit: more=true even at the end (as a SQL
  // stream); the next poll finds nothing and says so.
  BOOST_TEST(r.more);
  r = src.Poll();
  BOOST_TEST(!r.more);
  BOOST_TEST(seen.size() == 10u);
  // A sink that throws: the cursor stays before the page.
  Append(path, Line({10}) + "\n");
  const auto before = src.cursors();
  src.SetSink([](Batch&&) { throw std::runtime_error("engine full"); });
  r = src.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST((src.cursors().read == before.read));
}

BOOST_AUTO_TEST_CASE(watermark_and_complete_upto) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  Append(path, Line({1, 2}) + "\n");
  OtlpFileSource src(Store(path), Options(logs));
  const Micros before = NowUs();
  auto r = src.Poll();
  const auto& b = std::get<TraceBatch>(r.batch);
  // Reached the end of the live file: now - out_of_order.
  BOOST_TEST(b.complete_upto >= before - 1000 * 1000);
  BOOST_TEST(b.complete_upto <= NowUs() - 1000 * 1000);
  // Stopped early (max rows): the watermark of the lines read, end - ooo.
  Logs logs2;
  Append(path, Line({3}) + "\n");
  OtlpFileSource src2(Store(path), Options(logs2, 1));
  r = src2.Poll();
  BOOST_TEST(r.more);
  BOOST_TEST(std::get<TraceBatch>(r.batch).complete_upto == kT0 + 2 * 1000 + 500 - 1000 * 1000);
}

BOOST_AUTO_TEST_CASE(read_limit_holds_a_line_back) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  Append(path, Line({1}) + "\n" + Line({50}) + "\n");
  OtlpFileSource src(Store(path), Options(logs));
  src.SetReadLimit(kT0 + 10 * 1000);
  auto r = src.Poll();
  BOOST_TEST(Ops(r) == Names({1}));
  src.SetReadLimit(kMaxMicros);
  BOOST_TEST(Ops(src.Poll()) == Names({50}));
}

BOOST_AUTO_TEST_CASE(restart_replays_from_a_checkpoint_and_skips_before_replay_from) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  Append(path, Line({1}) + "\n" + Line({2}) + "\n");
  DurablePosition saved;
  {
    OtlpFileSource src(Store(path), Options(logs));
    src.StartFrom(kMinMicros, {});
    BOOST_TEST(Ops(src.Poll()) == Names({1, 2}));
    saved = src.durable_position();
    BOOST_REQUIRE(saved.file.has_value());
    BOOST_TEST(!saved.file->replay.empty());
  }
  Append(path, Line({3}) + "\n");
  // A restart whose replay point is after the first checkpoint's watermark
  // but before the last poll's: it resumes at the start (checkpoint 0) and
  // drops spans that started at or before replay_from.
  OtlpFileSource src(Store(path), Options(logs));
  src.StartFrom(kT0 + 1 * 1000, saved);
  BOOST_TEST(Ops(src.Poll()) == Names({2, 3}));
  // A restart with the read position only (no checkpoints) resumes there.
  DurablePosition only_read;
  only_read.file = FileCursors{saved.file->read, {}};
  OtlpFileSource src2(Store(path), Options(logs));
  src2.StartFrom(kMinMicros, only_read);
  BOOST_TEST(Ops(src2.Poll()) == Names({3}));
}

BOOST_AUTO_TEST_CASE(reload_carries_cursors_by_fingerprint) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  Append(path, Line({1}) + "\n");
  OtlpFileSource a(Store(path), Options(logs));
  a.Poll();
  OtlpFileSource b(Store(path), Options(logs));
  BOOST_TEST(a.fingerprint() == b.fingerprint());
  b.RestoreCursors(a.saved_cursors());
  BOOST_TEST(Ops(b.Poll()).empty());
  auto other = Store(path);
  other.otlp.op_id_attribute = "op";
  BOOST_TEST(OtlpFileSource(other, Options(logs)).fingerprint() != a.fingerprint());
  // A ledger's cursors are ignored.
  OtlpFileSource c(Store(path), Options(logs));
  c.RestoreCursors(LedgerCursors{});
  BOOST_TEST(Ops(c.Poll()) == Names({1}));
}

BOOST_AUTO_TEST_CASE(zstd_messages) {
  TempDir dir;
  Logs logs;
  const std::string path = dir.path + "/spans.json";
  auto frame = [](const std::string& json) {
    std::string out(ZSTD_compressBound(json.size()), '\0');
    const std::size_t n = ZSTD_compress(out.data(), out.size(), json.data(), json.size(), 3);
    out.resize(n);
    std::string rec(4, '\0');
    rec[0] = static_cast<char>((n >> 24) & 0xff);
    rec[1] = static_cast<char>((n >> 16) & 0xff);
    rec[2] = static_cast<char>((n >> 8) & 0xff);
    rec[3] = static_cast<char>(n & 0xff);
    return rec + out;
  };
  const std::string f2 = frame(Line({2}));
  Append(path, frame(Line({1})) + f2.substr(0, 7));
  auto store = Store(path);
  store.otlp.compression = "zstd";
  OtlpFileSource src(store, Options(logs));
  auto r = src.Poll();
  BOOST_TEST_REQUIRE(r.report.success, r.report.error);
  BOOST_TEST(Ops(r) == Names({1}));
  Append(path, f2.substr(7) + std::string("\0\0\0\3abc", 7) + frame(Line({3})));
  r = src.Poll();
  BOOST_TEST(Ops(r) == Names({2, 3}));
  BOOST_TEST(r.report.errors[static_cast<int>(ErrorKind::kDecode)] == 1u, "the frame that is not zstd");
  // A file that is one zstd stream is refused with a clear error.
  TempDir dir2;
  const std::string p2 = dir2.path + "/spans.json";
  std::string stream = frame(Line({1})).substr(4);
  Append(p2, stream);
  auto store2 = Store(p2);
  store2.otlp.compression = "zstd";
  OtlpFileSource src2(store2, Options(logs));
  r = src2.Poll();
  BOOST_TEST(!r.report.success);
  BOOST_TEST(r.report.error.find("native compression") != std::string::npos, r.report.error);
}

BOOST_AUTO_TEST_CASE(factory_makes_an_otlp_file_source) {
  config::Config c;
  c.trace_stores.push_back(Store("/nonexistent/spans.json"));
  auto sources = MakeSources(c, SourceOptions{});
  BOOST_REQUIRE(sources.size() == 1u);
  BOOST_TEST(dynamic_cast<OtlpFileSource*>(sources[0].get()) != nullptr);
  BOOST_TEST((sources[0]->kind() == SourceKind::kTraces));
  auto r = sources[0]->Poll();
  BOOST_TEST(!r.report.success);
}
