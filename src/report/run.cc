#include "report/run.hh"

#include <algorithm>
#include <memory>
#include <variant>

#include "compute/engine.hh"
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

}  // namespace

DayRead ReadDay(const config::Config& cfg, const ReadOptions& o) {
  if (cfg.trace_stores.empty()) {
    throw RunError(cfg.path + ": no trace store configured; the report needs traced operations");
  }
  source::SourceOptions so = source::SourceOptions::FromConfig(cfg, o.log);
  so.cold_start_lookback_ms.reset();   // the cursors are set below
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
  source::Source* flags = nullptr;
  for (auto& s : sources) {
    if (auto* t = dynamic_cast<source::TraceSource*>(s.get())) {
      t->SetCursors({{spans_from - 1, ""}});
      t->SetReadLimit(last);
      t->SetSink([&](source::Batch&& b) {
        if (auto* tb = std::get_if<TraceBatch>(&b)) engine.ApplyTrace(*tb);
      });
      traces.push_back(t);
    } else if (auto* l = dynamic_cast<source::LedgerSource*>(s.get())) {
      l->SetCursors({{receipts_from - 1, ""}, {o.day_start - 1, ""}});
      l->SetAnchoredReadLimit(last);
      l->SetSink([&](source::Batch&& b) {
        if (auto* lb = std::get_if<LedgerBatch>(&b)) engine.ApplyLedger(*lb);
      });
      ledgers.push_back(l);
    } else {
      flags = s.get();
    }
  }

  auto account = [&](const source::PollResult& r) {
    out.rows_read += r.report.rows_read;
    out.decode_errors += r.report.errors[static_cast<int>(ErrorKind::kDecode)];
  };

  std::vector<Micros> trace_upto(traces.size(), kMinMicros);
  std::vector<bool> trace_done(traces.size(), false);
  for (;;) {
    for (std::size_t i = 0; i < traces.size(); ++i) {
      if (trace_done[i]) continue;
      source::PollResult r = traces[i]->Poll();
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
    const Micros limit = spans_upto + grace;
    for (source::LedgerSource* l : ledgers) {
      l->SetReadLimit(limit);
      Micros upto = kMinMicros;
      source::PollResult r;
      do {
        r = l->Poll();
        Check(*l, r);
        account(r);
        const auto& lb = std::get<LedgerBatch>(r.batch);
        engine.ApplyLedger(lb);
        upto = std::max(upto, lb.receipts_complete_upto);
      } while (r.more);
      if (upto < limit) {
        throw RunError("ledger " + l->name() + " is not complete for the day yet (receipts read up to " +
                       std::to_string(upto) + " µs, needed " + std::to_string(limit) +
                       " µs); run after the day's end + grace + out_of_order");
      }
    }
    engine.Advance(last + grace);
    if (o.progress && last > spans_from) {
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
