#include "report/run.hh"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include "compute/engine.hh"
#include "report/readers.hh"
#include "source/factory.hh"
#include "source/ledger_source.hh"
#include "source/options.hh"
#include "source/trace_source.hh"

namespace provledger::report {
namespace {

void Check(const source::Source& s, const source::PollResult& r) {
  if (!r.report.success) {
    throw RunError("source " + s.name() + " (" + SourceKindName(s.kind()) + "): " + r.report.error);
  }
}

source::PollResult InternalError(const std::exception& e) {
  source::PollResult r;
  r.report.success = false;
  r.report.error = std::string("internal error: ") + e.what();
  return r;
}

// A trace store's reader thread: polls until the store is read to the day's
// end (or fails), each poll one round.
void ReadTraces(source::TraceSource* t, std::size_t i, PollQueue* q, TraceRounds* rounds) {
  try {
    Micros upto = kMinMicros;
    for (;;) {
      source::PollResult r = t->Poll();
      const bool ok = r.report.success;
      const bool more = ok && r.more;
      if (const auto* tb = std::get_if<TraceBatch>(&r.batch); ok && tb != nullptr) {
        upto = std::max(upto, tb->complete_upto);
      }
      rounds->Record(i, upto, !more, !ok);
      if (!q->PushEnd(std::move(r)) || !more) return;
    }
  } catch (const std::exception& e) {
    rounds->Record(i, kMinMicros, true, true);
    q->PushEnd(InternalError(e));
  }
}

// A ledger's reader thread: in round k, reads receipts up to the slowest
// trace store's position + grace (and its anchored stream alongside), in as
// many polls as max_rows_per_poll needs.
void ReadLedger(source::LedgerSource* l, PollQueue* q, TraceRounds* rounds, Micros last, Micros grace) {
  try {
    for (std::size_t k = 0;; ++k) {
      const std::optional<TraceRounds::Round> round = rounds->Wait(k, last);
      if (!round) return;
      l->SetReadLimit(round->spans_upto + grace);
      bool more = false;
      do {
        source::PollResult r = l->Poll();
        const bool ok = r.report.success;
        more = r.more;
        if (!q->PushEnd(std::move(r)) || !ok) return;
      } while (more);
      if (round->last) return;
    }
  } catch (const std::exception& e) {
    q->PushEnd(InternalError(e));
  }
}

// Stops and joins the reader threads when ReadDay returns or throws.
class Readers {
 public:
  Readers(std::vector<source::Source*> sources, TraceRounds* rounds)
      : sources_(std::move(sources)), rounds_(rounds) {}
  ~Readers() {
    rounds_->Stop();
    for (auto& q : queues) q->Stop();
    for (source::Source* s : sources_) s->RequestStop();
    for (auto& t : threads) t.join();
  }
  std::vector<std::unique_ptr<PollQueue>> queues;
  std::vector<std::thread> threads;

 private:
  std::vector<source::Source*> sources_;
  TraceRounds* rounds_;
};

}  // namespace

DayRead ReadDay(const config::Config& cfg, const ReadOptions& o) {
  if (cfg.trace_stores.empty()) {
    throw RunError(cfg.path + ": no trace store configured; the report needs traced operations");
  }
  // The sources log from their reader threads; the progress bar shares the stream.
  auto log_mu = std::make_shared<std::mutex>();
  source::LogFn log = o.log ? o.log : source::SpdlogLogFn();
  source::SourceOptions so = source::SourceOptions::FromConfig(
      cfg, [log_mu, log](source::LogLevel level, std::string_view message, const source::LogFields& fields) {
        std::lock_guard<std::mutex> lock(*log_mu);
        log(level, message, fields);
      });
  so.cold_start_lookback_ms.reset();   // the cursors are set below
  // Short rounds: a round is two pages of spans (at most max_rows_per_poll),
  // and each reader may run three rounds ahead of the Engine. The ledgers'
  // reads of round k overlap the spans of round k + 1 and the Engine's work
  // on round k - 1 (bench/RESULTS.md: longer rounds held more and overlapped
  // less).
  std::int64_t page = 1;
  for (const auto& l : cfg.ledgers) page = std::max(page, l.batch_size);
  for (const auto& t : cfg.trace_stores) page = std::max(page, t.batch_size);
  so.max_rows_per_poll = std::clamp<std::int64_t>(2 * page, 1, std::max<std::int64_t>(cfg.max_rows_per_poll, 1));
  const auto queue_rows = static_cast<std::size_t>(3 * so.max_rows_per_poll);
  std::vector<std::unique_ptr<source::Source>> sources = source::MakeSources(cfg, so);

  compute::EngineOptions eo = compute::EngineOptions::FromConfig(cfg);
  eo.track_kinds = true;
  compute::Engine engine(eo);
  DayAggregator agg(o.day_start, o.day_end);
  engine.SetListener(&agg);

  const Micros grace = eo.grace;
  const Micros last = o.day_end - 1;                     // last µs of the day
  const Micros spans_from = o.day_start - eo.window - grace;
  const Micros receipts_from = spans_from - grace;

  DayRead out;
  std::vector<source::TraceSource*> traces;
  std::vector<source::LedgerSource*> ledgers;
  std::vector<source::Source*> streams;
  source::Source* flags = nullptr;
  for (auto& s : sources) {
    if (auto* t = dynamic_cast<source::TraceSource*>(s.get())) {
      t->SetCursors({{spans_from - 1, ""}});
      t->SetReadLimit(last);
      traces.push_back(t);
      streams.push_back(t);
    } else if (auto* l = dynamic_cast<source::LedgerSource*>(s.get())) {
      l->SetCursors({{receipts_from - 1, ""}, {o.day_start - 1, ""}});
      l->SetAnchoredReadLimit(last);
      ledgers.push_back(l);
      streams.push_back(l);
    } else if (s->kind() == SourceKind::kTraces) {
      // A file store's position is a file offset, not a time the day can start from.
      throw RunError(cfg.path + ": trace store " + s->name() +
                     " is an otlp_file store; the report reads postgres trace stores only");
    } else {
      flags = s.get();
    }
  }

  // Every stream source is read on its own thread and connection
  // (report/readers.hh); the pages are applied here, on this thread, in the
  // order of reading the sources one after another, so the report does not
  // depend on thread timing (the tenant cap admits tenants in arrival order).
  TraceRounds rounds(traces.size());
  Readers readers(streams, &rounds);
  // A source's pages go to its own queue.
  auto queue_for = [&](source::Source* s) {
    readers.queues.push_back(std::make_unique<PollQueue>(queue_rows));
    PollQueue* q = readers.queues.back().get();
    s->SetSink([q](source::Batch&& b) {
      if (!q->PushPage(std::move(b))) throw RunError("stopped");
    });
    return q;
  };
  std::vector<PollQueue*> trace_q, ledger_q;
  for (source::TraceSource* t : traces) trace_q.push_back(queue_for(t));
  for (source::LedgerSource* l : ledgers) ledger_q.push_back(queue_for(l));
  for (std::size_t i = 0; i < traces.size(); ++i) {
    readers.threads.emplace_back(ReadTraces, traces[i], i, trace_q[i], &rounds);
  }
  for (std::size_t j = 0; j < ledgers.size(); ++j) {
    readers.threads.emplace_back(ReadLedger, ledgers[j], ledger_q[j], &rounds, last, grace);
  }
  auto apply_trace = [&](const source::Batch& b) {
    if (const auto* tb = std::get_if<TraceBatch>(&b)) engine.ApplyTrace(*tb);
  };
  auto apply_ledger = [&](const source::Batch& b) {
    if (const auto* lb = std::get_if<LedgerBatch>(&b)) engine.ApplyLedger(*lb);
  };

  auto account = [&](const source::PollResult& r) {
    out.rows_read += r.report.rows_read;
    out.decode_errors += r.report.errors[static_cast<int>(ErrorKind::kDecode)];
  };

  std::vector<Micros> trace_upto(traces.size(), kMinMicros);
  std::vector<bool> trace_done(traces.size(), false);
  for (;;) {
    for (std::size_t i = 0; i < traces.size(); ++i) {
      if (trace_done[i]) continue;
      source::PollResult r = trace_q[i]->Next(apply_trace);
      Check(*traces[i], r);
      account(r);
      const auto& tb = std::get<TraceBatch>(r.batch);
      engine.ApplyTrace(tb);
      trace_upto[i] = std::max(trace_upto[i], tb.complete_upto);
      if (!r.more) {
        trace_done[i] = true;
        if (trace_upto[i] < last) {
          throw RunError("trace store " + traces[i]->name() + " is not complete for the day yet (read up to " +
                         std::to_string(trace_upto[i]) + " µs, the day ends at " + std::to_string(o.day_end) +
                         " µs); run after the day's end + out_of_order");
        }
      }
    }
    const Micros spans_upto = std::min(*std::min_element(trace_upto.begin(), trace_upto.end()), last);
    const Micros limit = spans_upto + grace;   // the ledger readers' read limit of this round
    for (std::size_t j = 0; j < ledgers.size(); ++j) {
      Micros upto = kMinMicros;
      source::PollResult r;
      do {
        r = ledger_q[j]->Next(apply_ledger);
        Check(*ledgers[j], r);
        account(r);
        const auto& lb = std::get<LedgerBatch>(r.batch);
        engine.ApplyLedger(lb);
        upto = std::max(upto, lb.receipts_complete_upto);
      } while (r.more);
      if (upto < limit) {
        throw RunError("ledger " + ledgers[j]->name() + " is not complete for the day yet (receipts read up to " +
                       std::to_string(upto) + " µs, needed " + std::to_string(limit) +
                       " µs); run after the day's end + grace + out_of_order");
      }
    }
    engine.Advance(last + grace);
    if (o.progress && last > spans_from) {
      std::lock_guard<std::mutex> lock(*log_mu);
      o.progress(std::clamp(static_cast<double>(spans_upto - spans_from) / static_cast<double>(last - spans_from), 0.0, 1.0));
    }
    if (std::all_of(trace_done.begin(), trace_done.end(), [](bool d) { return d; })) break;
  }
  if (engine.window_end() < last) {
    throw RunError("settlement stopped at " + std::to_string(engine.window_end()) + " µs before the day's end");
  }

  if (flags != nullptr) {
    source::PollResult r = flags->Poll();
    Check(*flags, r);
    // Through the Engine, so the tenant policy (allow, deny, shard, cap) applies as in the exporter.
    if (const auto* fb = std::get_if<FlagsBatch>(&r.batch)) engine.ApplyFlags(*fb);
    for (const auto& [key, pct] : engine.MakeSnapshot(0).ramp) out.flags.push_back({key.first, key.second, pct});
  }
  out.days = agg.tenants();
  return out;
}

}  // namespace provledger::report
