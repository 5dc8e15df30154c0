#include "source/trace_source.hh"

#include <algorithm>

#include "decode/decode.hh"
#include "source/queries.hh"

namespace provledger::source {
using detail::Col;
using detail::Or;
using detail::Position;

TraceSource::TraceSource(const config::TraceStore& store, SourceOptions options)
    : SqlStreamSource(store.name, store.conn, std::move(options)), cfg_(store) {}

TraceSource::~TraceSource() = default;

std::string TraceSource::fingerprint() const {
  return cfg_.conn.dsn + '\x1f' + cfg_.queries.clock + '\x1f' + cfg_.queries.spans;
}

void TraceSource::RestoreCursors(const Cursors& c) {
  if (const auto* t = std::get_if<TraceCursors>(&c)) cursors_ = *t;
}

void TraceSource::StartFrom(Micros replay_from, const DurablePosition& /*saved*/) {
  cursors_.spans = {replay_from, ""};
}

PollResult TraceSource::Poll() {
  const auto started = std::chrono::steady_clock::now();
  PollResult out;
  out.report = detail::StartReport(name_, SourceKind::kTraces);
  PollReport& report = out.report;
  const decode::Limits limits{options_.max_tenant_bytes};
  detail::PageTally tally;   // delivered pages stay counted when the poll fails later
  detail::RunGuarded(report, &session_, last_error_, [&] {
    pq::Connection& c = session_.Get();
    const auto& q = cfg_.queries;
    const Micros now_us = detail::QueryClock(c, Or(q.clock, kDefaultClockQuery));
    if (session_.TakeNewConnection()) {
      detail::CheckPlans(c, session_, log_, now_us, cfg_.batch_size, {{"spans", Or(q.spans, kDefaultSpansQuery)}},
                         report);
    }
    const Micros live_horizon = now_us - cfg_.out_of_order_ms * 1000;
    const Micros horizon = std::min(live_horizon, read_limit_);

    TraceBatch batch;
    batch.source = name_;
    TraceCursors next;
    next.spans = detail::ColdStart(cursors_.spans, now_us, options_);
    // With a sink: hand the page over and commit the cursor.
    auto deliver = [&] {
      if (!sink_) return;
      TraceBatch page;
      page.source = name_;
      page.spans = std::move(batch.spans);
      batch.spans.clear();
      detail::DeliverPage(sink_, Batch(std::move(page)), cursors_.spans, next.spans);
      tally.Delivered();
    };
    detail::StreamSpec ss{Or(q.spans, kDefaultSpansQuery), "spans", decode::kSpanColumns, 4, 1,
                          horizon, cfg_.batch_size, options_.max_rows_per_poll, session_.stop_flag()};
    ss.max_ncols = decode::kSpanColumnsWithName;
    const detail::StreamRead spans = detail::ReadStream(
        c, ss, next.spans,
        [&](const pq::Result& r, int i) {
          tally.Row();
          decode::SpanColumns sc{Col(r, i, 0), Col(r, i, 1), Col(r, i, 2),
                                 Col(r, i, 3), Col(r, i, 4), Col(r, i, 5)};
          auto d = decode::DecodeSpan(sc, limits, r.cols() > 6 ? Col(r, i, 6) : decode::Field::Null());
          if (d.ok()) {
            batch.spans.push_back(std::move(d.value()));
          } else {
            tally.Bad(report);
            log_.BadRow("spans", Position(r, i, 4, 1), d.error());
          }
        },
        deliver);
    report.rows_read += spans.rows;
    batch.complete_upto = detail::CompleteUpto(spans, next.spans, horizon);
    out.more = !spans.exhausted;
    out.limited = spans.exhausted && horizon < live_horizon;
    batch.limited = out.more || out.limited;
    cursors_ = std::move(next);
    report.success = true;
    out.batch = std::move(batch);
  });
  tally.KeepDelivered(report, static_cast<bool>(sink_));
  log_.FlushSuppressed();
  detail::Finish(report, started);
  return out;
}

}  // namespace provledger::source
