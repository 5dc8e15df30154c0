// poll_bench: the exporter's poll -> compute -> render cycle in one thread,
// timed phase by phase, for bench/run and for profiling (callgrind, perf).
//
// It links the exporter's own libraries (source, compute, render, config) and
// does what src/app/exporter.cc does per cycle, minus threads and HTTP:
//   for each source: Poll() (fetch + decode), Engine::Apply*() (compute);
//   then Engine::Advance(now), MakeSnapshot(now), RenderExposition().
// Cursors start like the exporter's cold start: Engine::ReplayFrom(now).
// Like the exporter, rows are streamed: each source gets a page sink
// (Source::SetSink) that applies every page to the engine as it arrives, so
// memory follows batch_size; the poll's final batch (horizons, queue depth,
// proofs) is applied after Poll(). Compute time of the pages is timed inside
// the sink and reported as apply_s (poll_s = Poll() minus that). After a poll
// that read more than 10000 rows it calls malloc_trim(0) as the exporter does.
// --collect: no sink (the whole poll in one batch, the pre-streaming path).
//
// Usage:
//   poll_bench --config FILE [--cycles N] [--interval-ms MS] [--render-reps R]
//              [--only poll|render] [--collect]
// Output: one JSON object per cycle on stdout, then one "summary" object.
// Units: seconds, bytes. heap_in_use is glibc mallinfo2() uordblks + hblkhd after the
// cycle's batches are freed, i.e. the engine's retained state plus caches.
//
// --only render: one cold cycle to fill the engine, then R renders timed
// (the render path alone, for callgrind's --toggle-collect on RenderExposition).
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "compute/engine.hh"
#include "config/load.hh"
#include "render/exposition.hh"
#include "render/families.hh"
#include "render/process.hh"
#include "source/factory.hh"
#include "source/ledger_source.hh"
#include "source/trace_source.hh"

namespace {

using provledger::Micros;
using Clock = std::chrono::steady_clock;

Micros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long StatusKb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(f, line)) {
    if (line.compare(0, n, key) == 0) return std::strtol(line.c_str() + n + 1, nullptr, 10);
  }
  return -1;
}

std::size_t HeapInUse() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;   // small chunks + mmap'ed large blocks (big vectors, bucket arrays)
}

struct Args {
  std::string config;
  int cycles = 1;
  int interval_ms = 0;
  int render_reps = 1;
  std::string only;
  bool collect = false;
};

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: poll_bench --config FILE [--cycles N] [--interval-ms MS] [--render-reps R] "
               "[--only poll|render] [--collect]\n");
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (k == "--config") a.config = val();
    else if (k == "--cycles") a.cycles = std::atoi(val().c_str());
    else if (k == "--interval-ms") a.interval_ms = std::atoi(val().c_str());
    else if (k == "--render-reps") a.render_reps = std::atoi(val().c_str());
    else if (k == "--only") a.only = val();
    else if (k == "--collect") a.collect = true;
    else Usage();
  }
  if (a.config.empty() || a.cycles < 1 || a.render_reps < 1) Usage();
  if (!a.only.empty() && a.only != "poll" && a.only != "render") Usage();
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  namespace pc = provledger::compute;
  namespace ps = provledger::source;
  namespace pr = provledger::render;
  const Args args = Parse(argc, argv);
  const auto cfg = provledger::config::LoadConfig(args.config);

  // Quiet sources: bad rows are counted in the report anyway.
  ps::LogFn quiet = [](ps::LogLevel, std::string_view, const ps::LogFields&) {};
  auto sources = ps::MakeSources(cfg, quiet);
  pc::Engine engine(pc::EngineOptions::FromConfig(cfg));
  const pr::BuildInfo build = pr::CurrentBuildInfo();

  const Micros start_now = NowMicros();
  const Micros from = engine.ReplayFrom(start_now);
  for (auto& s : sources) {
    if (auto* l = dynamic_cast<ps::LedgerSource*>(s.get())) {
      ps::LedgerCursors c;
      c.receipts = {from, ""};
      c.anchored = {from, ""};
      l->SetCursors(c);
    } else if (auto* t = dynamic_cast<ps::TraceSource*>(s.get())) {
      ps::TraceCursors c;
      c.spans = {from, ""};
      t->SetCursors(c);
    }
  }
  // Page sink: apply each page now; counts and compute time per source.
  std::uint64_t page_receipts = 0, page_anchored = 0, page_spans = 0;
  double page_apply_s = 0;
  auto apply = [&](const ps::Batch& batch) {
    std::visit([&](const auto& b) {
      using T = std::decay_t<decltype(b)>;
      if constexpr (std::is_same_v<T, provledger::LedgerBatch>) {
        page_receipts += b.receipts.size();
        page_anchored += b.anchored.size();
        engine.ApplyLedger(b);
      } else if constexpr (std::is_same_v<T, provledger::TraceBatch>) {
        page_spans += b.spans.size();
        engine.ApplyTrace(b);
      } else if constexpr (std::is_same_v<T, provledger::FlagsBatch>) {
        engine.ApplyFlags(b);
      }
    }, batch);
  };
  if (!args.collect) {
    for (auto& s : sources) {
      s->SetSink([&](ps::Batch&& b) {
        auto t = Clock::now();
        apply(b);
        page_apply_s += Since(t);
      });
    }
  }
  const std::size_t heap0 = HeapInUse();

  double total_poll = 0, total_apply = 0, total_advance = 0, total_render = 0;
  std::uint64_t total_rows = 0, total_receipts = 0, total_anchored = 0, total_spans = 0;
  const int cycles = args.only == "render" ? 1 : args.cycles;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    if (cycle > 0 && args.interval_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(args.interval_ms));
    std::ostringstream js;
    js << "{\"cycle\":" << cycle << ",\"sources\":[";
    double cyc_poll = 0, cyc_apply = 0;
    std::uint64_t cyc_receipts = 0, cyc_anchored = 0, cyc_spans = 0;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      page_receipts = page_anchored = page_spans = 0;
      page_apply_s = 0;
      auto t0 = Clock::now();
      ps::PollResult r = sources[i]->Poll();
      const double poll_s = Since(t0) - page_apply_s;
      auto t1 = Clock::now();
      apply(r.batch);
      const std::uint64_t nrec = page_receipts, nanc = page_anchored, nspan = page_spans;
      engine.RecordPoll(r.report);
      const double apply_s = Since(t1) + page_apply_s;
      r.batch = {};
      if (r.report.rows_read > 10000) malloc_trim(0);
      cyc_poll += poll_s;
      cyc_apply += apply_s;
      cyc_receipts += nrec;
      cyc_anchored += nanc;
      cyc_spans += nspan;
      total_rows += r.report.rows_read;
      js << (i ? "," : "") << "{\"name\":\"" << sources[i]->name() << "\",\"ok\":" << (r.report.success ? "true" : "false")
         << ",\"rows\":" << r.report.rows_read << ",\"receipts\":" << nrec << ",\"anchored\":" << nanc
         << ",\"spans\":" << nspan << ",\"poll_s\":" << poll_s << ",\"apply_s\":" << apply_s << "}";
      if (!r.report.success) std::fprintf(stderr, "poll_bench: source %s failed: %s\n", sources[i]->name().c_str(), r.report.error.c_str());
    }
    auto t2 = Clock::now();
    const Micros now = NowMicros();
    engine.Advance(now);
    const double advance_s = Since(t2);
    auto t3 = Clock::now();
    pc::Snapshot snap = engine.MakeSnapshot(now);
    const double snapshot_s = Since(t3);
    std::uint64_t window_ops = 0;
    for (const auto& c : snap.coverage) window_ops += c.settled_in_window;
    double render_s = 0;
    pr::Exposition ex;
    if (args.only != "poll") {
      auto t4 = Clock::now();
      ex = pr::RenderExposition(snap, pr::ReadProcessStats(), build);
      render_s = Since(t4);
    }
    total_poll += cyc_poll;
    total_apply += cyc_apply;
    total_advance += advance_s;
    total_render += render_s;
    total_receipts += cyc_receipts;
    total_anchored += cyc_anchored;
    total_spans += cyc_spans;
    js << "],\"poll_s\":" << cyc_poll << ",\"apply_s\":" << cyc_apply << ",\"advance_s\":" << advance_s
       << ",\"snapshot_s\":" << snapshot_s << ",\"render_s\":" << render_s << ",\"receipts\":" << cyc_receipts
       << ",\"anchored\":" << cyc_anchored << ",\"spans\":" << cyc_spans << ",\"pending_ops\":" << snap.pending_ops
       << ",\"window_ops\":" << window_ops << ",\"tenants\":" << snap.tenants << ",\"text_bytes\":" << ex.text.size()
       << ",\"gzip_bytes\":" << ex.gzip.size() << ",\"series\":" << ex.series
       << ",\"heap_in_use\":" << HeapInUse() << ",\"heap_at_start\":" << heap0
       << ",\"rss_kb\":" << StatusKb("VmRSS:") << ",\"hwm_kb\":" << StatusKb("VmHWM:") << "}";
    std::cout << js.str() << std::endl;
  }

  if (args.only == "render") {
    pc::Snapshot snap = engine.MakeSnapshot(NowMicros());
    const auto proc = pr::ReadProcessStats();
    auto t = Clock::now();
    std::size_t bytes = 0;
    for (int i = 0; i < args.render_reps; ++i) bytes += pr::RenderExposition(snap, proc, build).text.size();
    const double s = Since(t);
    std::cout << "{\"render_reps\":" << args.render_reps << ",\"render_s_each\":" << s / args.render_reps
              << ",\"text_bytes\":" << bytes / static_cast<std::size_t>(args.render_reps) << "}" << std::endl;
  }

  std::cout << "{\"summary\":true,\"cycles\":" << cycles << ",\"rows\":" << total_rows
            << ",\"receipts\":" << total_receipts << ",\"anchored\":" << total_anchored << ",\"spans\":" << total_spans
            << ",\"poll_s\":" << total_poll << ",\"apply_s\":" << total_apply << ",\"advance_s\":" << total_advance
            << ",\"render_s\":" << total_render << ",\"hwm_kb\":" << StatusKb("VmHWM:") << "}" << std::endl;
  for (auto& s : sources) s->Close();
  return 0;
}
