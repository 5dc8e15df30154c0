// Test helpers for the render tests: the hand-built golden snapshot, gunzip,
// running promtool, and line lookup in an exposition.
#pragma once

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "compute/snapshot.hh"
#include "render/families.hh"

namespace provledger::render::testing {

inline constexpr Micros kNow = 1700000000000000;  // 2023-11-14T22:13:20Z

inline compute::HistogramData Hist(std::vector<std::uint64_t> per_bound, std::uint64_t over,
                                   double sum) {
  compute::HistogramData h;
  h.count = over;
  for (auto c : per_bound) h.count += c;
  h.bucket_counts = std::move(per_bound);
  h.sum = sum;
  return h;
}

// Every family populated, with values chosen so that a wrong bucket, label or
// omission rule shows up in the golden diff.
inline compute::Snapshot GoldenSnapshot() {
  compute::Snapshot s;
  s.now = kNow;
  s.window_end = kNow - 120'000'000;            // now - grace (2m)
  s.window_start = s.window_end - 3'600'000'000;  // 1h window

  s.coverage = {
      {"acme", 200, 197, 98.5},
      {"beta", 10, 10, 100},
      {"gamma", 3, 1, 100.0 / 3.0},
      {"idle", 0, 0, 0},  // no settled ops: must not be rendered
  };
  s.divergence = {{"acme", 2}, {"beta", 0}, {"gamma", 0}};
  s.settled = {{"acme", {195, 3, 2}}, {"beta", {10, 0, 0}}, {"gamma", {1, 2, 0}}};

  s.latency_bounds_ms = {5, 10, 15, 20, 30, 50, 100, 250, 500};
  s.latency_per_tenant = true;
  s.anchor_latency[{"eu-west", "acme"}] = Hist({1, 2, 3, 0, 4, 0, 0, 0, 1}, 1, 1702.5);
  s.anchor_latency[{"eu-west", "beta"}] = Hist({0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0);
  s.anchor_latency[{"us-east", "acme"}] = Hist({0, 5, 0, 0, 0, 0, 2, 0, 0}, 0, 212.25);

  s.queue_depth = {{"eu-west", 12}, {"us-east", 0}};
  s.proofs_last_ts = {{"eu-west", 1699999990.5}, {"us-east", 1699999871}};
  s.ramp = {{{"acme", "new-checkout"}, 25}, {{"acme", "receipts-v2"}, 100}, {{"beta", "new-checkout"}, 0}};

  s.poll_duration_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  compute::SourceHealth eu;
  eu.name = "ledger-eu";
  eu.kind = SourceKind::kLedger;
  eu.up = true;
  eu.polled = true;
  eu.last_success_seconds = 1699999999.25;
  eu.last_poll_duration_seconds = 0.042;
  eu.rows_read = 1234;
  eu.errors[0] = 0;
  eu.errors[1] = 1;
  eu.errors[2] = 2;
  eu.errors[3] = 0;
  eu.poll_duration = Hist({2, 5, 1, 1, 0, 0, 0, 0, 0, 0, 0}, 0, 0.2);
  eu.plan_unindexed = {{"receipts", false}, {"anchored", true}};
  compute::SourceHealth traces;
  traces.name = "traces";
  traces.kind = SourceKind::kTraces;
  traces.up = false;
  traces.polled = true;
  traces.last_success_seconds = 0;  // never succeeded: no last_poll_success sample
  traces.last_error = "connection refused";
  traces.errors[0] = 3;
  traces.poll_duration = Hist({0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}, 0, 17.5);
  compute::SourceHealth us = eu;
  us.name = "ledger-us";
  us.last_success_seconds = 1699999998;
  us.rows_read = 99;
  us.plan_unindexed = {{"receipts", false}, {"anchored", false}};
  us.errors[1] = 0;
  us.errors[2] = 0;
  us.poll_duration = Hist({1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 0.003);
  s.sources = {eu, traces, us};  // config order, not sorted

  s.tenants = 3;
  s.tenants_dropped = 1;
  s.state_write_errors = 2;
  s.pending_ops = 17;
  s.evidence_jobs.enabled = true;
  s.evidence_jobs.done = 4;
  s.evidence_jobs.failed = 1;
  s.evidence_jobs.duration_buckets = {0.5, 1, 5};
  s.evidence_jobs.duration = Hist({2, 1, 2}, 0, 7.25);
  s.evidence_jobs.queued = 2;
  s.evidence_jobs.running = 1;
  s.window_ops = 240;
  s.held_receipts = 31;
  return s;
}

inline BuildInfo GoldenBuild() { return BuildInfo{"0.1.0", "abcdef123456"}; }

// Process stats of the golden exposition: only the exporter-owned heap (the
// process_* families vary by machine and are tested separately).
inline ProcessStats GoldenProcess() {
  ProcessStats p;
  p.heap_inuse_bytes = 52428800;
  return p;
}

inline std::string Gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw std::runtime_error("inflate failed: " + std::to_string(rc));
    }
    out.append(buf, sizeof buf - zs.avail_out);
  }
  const bool trailing = zs.avail_in != 0;
  inflateEnd(&zs);
  if (trailing) throw std::runtime_error("trailing bytes after gzip stream");
  return out;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct PromtoolResult {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics < file` on `text`. Throws (so the test fails,
// never skips) when promtool is not installed.
inline PromtoolResult RunPromtool(const std::string& text) {
  std::string promtool;
  for (const char* candidate : {"/usr/bin/promtool", "/usr/local/bin/promtool"}) {
    if (access(candidate, X_OK) == 0) {
      promtool = candidate;
      break;
    }
  }
  if (promtool.empty()) throw std::runtime_error("promtool not found (apt-get install prometheus)");
  char tmpl[] = "/tmp/render_test_XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  const std::string in = tmpl;
  const std::string out = in + ".out";
  {
    std::ofstream f(in, std::ios::binary);
    f << text;
  }
  const std::string cmd = promtool + " check metrics < " + in + " > " + out + " 2>&1";
  const int status = std::system(cmd.c_str());
  PromtoolResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = ReadFile(out);
  std::filesystem::remove(in);
  std::filesystem::remove(out);
  return r;
}

inline std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    out.emplace_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  return out;
}

inline bool HasLine(std::string_view text, std::string_view line) {
  for (const auto& l : Lines(text)) {
    if (l == line) return true;
  }
  return false;
}

// Lines of `text` that start with `prefix`.
inline std::vector<std::string> LinesStartingWith(std::string_view text, std::string_view prefix) {
  std::vector<std::string> out;
  for (const auto& l : Lines(text)) {
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  }
  return out;
}

}  // namespace provledger::render::testing
