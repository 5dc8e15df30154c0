// engine_mem: bytes of compute::Engine state per in-window operation, measured.
//
// Feeds the engine a steady synthetic stream (no database): R operations per
// second over 200 tenants, each a span plus (97 %) a receipt 0.5 s later and
// its anchoring 20 ms after that, in 5 s polls, with the default 1 h window
// and 2 m grace, for window + 30 min of simulated time so the window is full
// and has been sliding. Then it reports glibc's heap in use (mallinfo2 uordblks + hblkhd) and
// the engine's counts. Running it at two rates and dividing the heap
// difference by the in-window difference removes fixed costs (tenant names,
// histograms, allocator arenas):
//
//   engine_mem RATE   ->  {"rate":R,"window_ops":W,"pending_ops":P,"heap_in_use":H,...}
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "compute/engine.hh"

// Heap in use: small chunks (uordblks) plus mmap'ed large blocks (hblkhd),
// which is where big vectors and hash bucket arrays live.
static std::size_t HeapInUse() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

int main(int argc, char** argv) {
  using provledger::Micros;
  namespace pc = provledger::compute;
  const int rate = argc > 1 ? std::atoi(argv[1]) : 100;
  const Micros sec = 1000000;
  pc::EngineOptions o;   // window 1h, grace 2m, default buckets
  o.latency_per_tenant = false;
  o.sources = {{"l", provledger::SourceKind::kLedger, "r"}, {"t", provledger::SourceKind::kTraces, ""}};
  std::vector<std::string> tenants;
  for (int i = 1; i <= 200; ++i) {
    char b[32];
    std::snprintf(b, sizeof b, "tenant-%03d", i);
    tenants.emplace_back(b);
  }
  const std::size_t heap0 = HeapInUse();
  std::size_t heap_engine0 = 0;
  std::uint64_t seq = 0, state = 0x9e3779b97f4a7c15ULL;
  auto rnd = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  pc::Engine engine(o);
  heap_engine0 = HeapInUse();
  const Micros t0 = 1700000000LL * sec;
  const Micros step = 5 * sec;
  const Micros total = (3600 + 1800) * sec;
  std::vector<provledger::ReceiptRow> late;   // receipts created after the poll horizon: next poll
  for (Micros t = t0 + step; t <= t0 + total; t += step) {
    provledger::TraceBatch tb;
    tb.source = "t";
    provledger::LedgerBatch lb;
    lb.source = "l";
    lb.region = "r";
    lb.receipts.swap(late);
    const std::uint64_t n = static_cast<std::uint64_t>(rate) * 5;
    for (std::uint64_t i = 0; i < n; ++i, ++seq) {
      const Micros start = t - step + static_cast<Micros>((i * step) / n);
      char op[32];
      std::snprintf(op, sizeof op, "op-%016llx", static_cast<unsigned long long>(seq * 0x9e3779b97f4a7c15ULL));
      const std::string& tenant = tenants[rnd() % tenants.size()];
      char hash[65];
      std::snprintf(hash, sizeof hash, "%016llx%016llx%016llx%016llx", static_cast<unsigned long long>(rnd()),
                    static_cast<unsigned long long>(rnd()), static_cast<unsigned long long>(rnd()),
                    static_cast<unsigned long long>(rnd()));
      provledger::SpanRow s;
      s.trace_id = std::string(32, 'a');
      s.span_id = std::string(16, 'b');
      s.tenant = tenant;
      s.op_id = op;
      s.start = start;
      s.attested_hash = hash;
      tb.spans.push_back(std::move(s));
      if (rnd() % 100 < 97) {
        provledger::ReceiptRow r;
        char rid[40];
        std::snprintf(rid, sizeof rid, "r-%016llx", static_cast<unsigned long long>(seq));
        r.receipt_id = rid;
        r.tenant = tenant;
        r.op_id = op;
        r.region = "r";
        r.content_hash = hash;
        r.created_at = start + sec / 2;
        provledger::AnchoredRow a{r.receipt_id, tenant, r.created_at, r.created_at + 20000};
        if (r.created_at <= t) {
          lb.receipts.push_back(std::move(r));
          lb.anchored.push_back(std::move(a));
        } else {
          late.push_back(std::move(r));
        }
      }
    }
    tb.complete_upto = t;
    lb.receipts_complete_upto = t;
    lb.anchored_complete_upto = t;
    lb.queue_depth = 0;
    engine.ApplyTrace(tb);
    engine.ApplyLedger(lb);
    engine.Advance(t);
  }
  const auto snap = engine.MakeSnapshot(t0 + total);
  std::uint64_t window_ops = 0;
  for (const auto& c : snap.coverage) window_ops += c.settled_in_window;
  late.clear();
  late.shrink_to_fit();
  const std::size_t heap = HeapInUse();
  std::printf("{\"rate\":%d,\"window_ops\":%llu,\"pending_ops\":%llu,\"heap_in_use\":%zu,\"heap_engine_empty\":%zu,"
              "\"heap_process_start\":%zu,\"bytes_per_window_op_naive\":%.1f}\n",
              rate, static_cast<unsigned long long>(window_ops), static_cast<unsigned long long>(snap.pending_ops),
              heap, heap_engine0, heap0,
              static_cast<double>(heap - heap_engine0) / static_cast<double>(window_ops + snap.pending_ops));
  return 0;
}
