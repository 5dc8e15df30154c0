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
//
// With a second argument `structures` it also prints, on stderr, the heap of
// each per-operation container (src/compute/flat_hash.hh, settled_window.hh;
// the engine's own types, standalone, filled to the engine's final counts):
// a cross-check of the byte accounting in bench/RESULTS.md.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <queue>
#include <string>
#include <tuple>
#include <vector>

#include "compute/engine.hh"

// Heap in use: small chunks (uordblks) plus mmap'ed large blocks (hblkhd),
// which is where big vectors and hash bucket arrays live.
static std::size_t HeapInUse() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

namespace {

struct Pending24 {   // the layout of Engine::PendingOp / ReceiptSeen (24 B)
  std::int64_t a = 0;
  std::uint64_t b = 0;
  int c = 0;
  int d = 0;
};
struct Fp16 {        // Engine::ReceiptFp
  std::uint64_t fp = 0;
  std::int64_t created = 0;
};

template <class F>
std::size_t HeapOf(F&& fill) {
  const std::size_t before = HeapInUse();
  fill();
  return HeapInUse() - before;
}

void PrintStructures(std::uint64_t window_ops, std::uint64_t pending_ops, std::uint64_t receipts) {
  namespace pc = provledger::compute;
  auto per = [](std::size_t bytes, std::uint64_t n) { return n ? static_cast<double>(bytes) / static_cast<double>(n) : 0.0; };
  std::uint64_t k = 0x12345;
  auto next = [&] { return k = k * 6364136223846793005ULL + 1442695040888963407ULL; };
  {
    pc::SettledWindow w;
    const auto b = HeapOf([&] { for (std::uint64_t i = 0; i < window_ops; ++i) w.Push({static_cast<provledger::Micros>(i) * 10000, next(), static_cast<int>(i % 200), true}); });
    std::fprintf(stderr, "window_ (SettledWindow, %llu): %zu B = %.1f B/op\n", static_cast<unsigned long long>(window_ops), b, per(b, window_ops));
  }
  {
    pc::FlatSet64 s;
    const auto b = HeapOf([&] { for (std::uint64_t i = 0; i < window_ops; ++i) s.insert(next()); });
    std::fprintf(stderr, "window_keys_ (FlatSet64, capacity %zu): %zu B = %.1f B/op\n", s.capacity(), b, per(b, window_ops));
  }
  {
    // Pending: the peak within a poll (one poll of new spans on top) sets the heap's vector capacity.
    pc::FlatMap64<Pending24> m;
    std::priority_queue<std::pair<std::int64_t, std::uint64_t>, std::vector<std::pair<std::int64_t, std::uint64_t>>, std::greater<>> h;
    const auto b = HeapOf([&] {
      for (std::uint64_t i = 0; i < pending_ops; ++i) {
        const auto key = next();
        m.try_emplace(key, Pending24{});
        h.emplace(static_cast<std::int64_t>(i), key);
      }
    });
    std::fprintf(stderr, "pending_ + pending_by_start_ (%llu, map capacity %zu): %zu B = %.1f B/pending op\n",
                 static_cast<unsigned long long>(pending_ops), m.capacity(), b, per(b, pending_ops));
  }
  {
    pc::FlatMap64<Fp16> by_op;
    pc::FlatMap64<Pending24> by_id;
    std::deque<std::tuple<std::int64_t, std::uint64_t, std::uint64_t>> order;
    const auto b = HeapOf([&] {
      for (std::uint64_t i = 0; i < receipts; ++i) {
        by_op.try_emplace(next(), Fp16{});
        by_id.try_emplace(next(), Pending24{});
        order.emplace_back(0, 0, 0);
      }
    });
    std::fprintf(stderr, "receipt maps + receipt_order_ (%llu, capacities %zu/%zu): %zu B = %.1f B/receipt\n",
                 static_cast<unsigned long long>(receipts), by_op.capacity(), by_id.capacity(), b, per(b, receipts));
  }
}

}  // namespace

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
  const std::size_t receipts = engine.retained_receipts();
  std::uint64_t window_ops = 0;
  for (const auto& c : snap.coverage) window_ops += c.settled_in_window;
  late.clear();
  late.shrink_to_fit();
  const std::size_t heap = HeapInUse();
  std::printf("{\"rate\":%d,\"window_ops\":%llu,\"pending_ops\":%llu,\"heap_in_use\":%zu,\"heap_engine_empty\":%zu,"
              "\"heap_process_start\":%zu,\"retained_receipts\":%zu,\"bytes_per_window_op_naive\":%.1f}\n",
              rate, static_cast<unsigned long long>(window_ops), static_cast<unsigned long long>(snap.pending_ops),
              heap, heap_engine0, heap0, receipts,
              static_cast<double>(heap - heap_engine0) / static_cast<double>(window_ops + snap.pending_ops));
  if (argc > 2 && std::strcmp(argv[2], "structures") == 0) PrintStructures(window_ops, snap.pending_ops, receipts);
  return 0;
}
