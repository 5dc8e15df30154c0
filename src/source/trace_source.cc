#include "source/trace_source.hh"

#include <algorithm>

#include "decode/decode.hh"
#include "source/queries.hh"

namespace provledger::source {
using detail::Col;
using detail::Or;
using detail::Position;

TraceSource::TraceSource(const config::TraceStore& store, SourceOptions options)
    : cfg_(store),
      options_(std::move(options)),
      log_(cfg_.name, options_),
      session_(cfg_.conn, &log_) {}

TraceSource::~TraceSource() = default;

void TraceSource::Close() { session_.Close(); }
void TraceSource::RequestStop() { session_.RequestStop(); }
void TraceSource::ClearStop() { session_.ClearStop(); }

PollResult TraceSource::Poll() {
  const auto started = std::chrono::steady_clock::now();
  PollResult out;
  out.report = detail::StartReport(cfg_.name, SourceKind::kTraces);
  PollReport& report = out.report;
  const decode::Limits limits{options_.max_tenant_bytes};
  // Delivered pages (sink only): kept in the report when the poll fails later.
  std::uint64_t delivered_rows = 0, delivered_decode = 0, pending_decode = 0, page_rows = 0;
  detail::RunGuarded(report, &session_, last_error_, [&] {
    pq::Connection& c = session_.Get();
    const auto& q = cfg_.queries;
    const Micros now_us = detail::QueryClock(c, Or(q.clock, kDefaultClockQuery));
    if (session_.TakeNewConnection()) {
      detail::CheckPlans(c, session_, log_, now_us, cfg_.batch_size, {{"spans", Or(q.spans, kDefaultSpansQuery)}},
                         report);
    }
    const Micros horizon = std::min(now_us - cfg_.out_of_order_ms * 1000, read_limit_);

    TraceBatch batch;
    batch.source = cfg_.name;
    TraceCursors next;
    next.spans = detail::ColdStart(cursors_.spans, now_us, options_);
    // With a sink: hand the page over and commit the cursor (put back if the
    // sink throws, so cursor and delivered rows always agree).
    auto deliver = [&] {
      if (!sink_) return;
      TraceBatch page;
      page.source = cfg_.name;
      page.spans = std::move(batch.spans);
      batch.spans.clear();
      StreamCursor old = cursors_.spans;
      cursors_.spans = next.spans;
      try {
        sink_(Batch(std::move(page)));
      } catch (...) {
        cursors_.spans = std::move(old);
        throw;
      }
      delivered_rows += page_rows;
      delivered_decode += pending_decode;
      page_rows = 0;
      pending_decode = 0;
    };
    detail::StreamSpec ss{Or(q.spans, kDefaultSpansQuery), "spans", decode::kSpanColumns, 4, 1,
                          horizon, cfg_.batch_size, options_.max_rows_per_poll, session_.stop_flag()};
    ss.max_ncols = decode::kSpanColumnsWithName;
    const detail::StreamRead spans = detail::ReadStream(
        c, ss, next.spans,
        [&](const pq::Result& r, int i) {
          ++page_rows;
          decode::SpanColumns sc{Col(r, i, 0), Col(r, i, 1), Col(r, i, 2),
                                 Col(r, i, 3), Col(r, i, 4), Col(r, i, 5)};
          auto d = decode::DecodeSpan(sc, limits, r.cols() > 6 ? Col(r, i, 6) : decode::Field::Null());
          if (d.ok()) {
            batch.spans.push_back(std::move(d.value()));
          } else {
            ++report.errors[static_cast<int>(ErrorKind::kDecode)];
            ++pending_decode;
            log_.BadRow("spans", Position(r, i, 4, 1), d.error());
          }
        },
        deliver);
    report.rows_read += spans.rows;
    batch.complete_upto = detail::CompleteUpto(spans, next.spans, horizon);
    out.more = !spans.exhausted;
    cursors_ = std::move(next);
    report.success = true;
    out.batch = std::move(batch);
  });
  if (!report.success && sink_) {
    // Delivered pages stay delivered (their cursor is committed): count them.
    report.rows_read = delivered_rows;
    report.errors[static_cast<int>(ErrorKind::kDecode)] = delivered_decode;
  }
  log_.FlushSuppressed();
  detail::Finish(report, started);
  return out;
}

}  // namespace provledger::source
