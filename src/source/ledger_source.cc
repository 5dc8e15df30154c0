#include "source/ledger_source.hh"

#include <algorithm>

#include "decode/decode.hh"
#include "source/queries.hh"

namespace provledger::source {
using detail::Col;
using detail::Or;
using detail::Position;

LedgerSource::LedgerSource(const config::Ledger& ledger, SourceOptions options)
    : SqlStreamSource(ledger.name, ledger.conn, std::move(options)), cfg_(ledger) {}

LedgerSource::~LedgerSource() = default;

std::string LedgerSource::fingerprint() const {
  const auto& q = cfg_.queries;
  return cfg_.conn.dsn + '\x1f' + q.clock + '\x1f' + q.receipts + '\x1f' + q.anchored;
}

void LedgerSource::RestoreCursors(const Cursors& c) {
  if (const auto* l = std::get_if<LedgerCursors>(&c)) cursors_ = *l;
}

void LedgerSource::StartFrom(Micros replay_from, const DurablePosition& saved) {
  cursors_.receipts = {replay_from, ""};
  cursors_.anchored = saved.anchored ? *saved.anchored : StreamCursor{replay_from, ""};
}

PollResult LedgerSource::Poll() {
  const auto started = std::chrono::steady_clock::now();
  PollResult out;
  out.report = detail::StartReport(name_, SourceKind::kLedger);
  PollReport& report = out.report;
  const decode::Limits limits{options_.max_tenant_bytes};
  detail::PageTally tally;   // delivered pages stay counted when the poll fails later
  detail::RunGuarded(report, &session_, last_error_, [&] {
    pq::Connection& c = session_.Get();
    const auto& q = cfg_.queries;

    const Micros now_us = detail::QueryClock(c, Or(q.clock, kDefaultClockQuery));
    if (session_.TakeNewConnection()) {
      detail::CheckPlans(c, session_, log_, now_us, cfg_.batch_size,
                         {{"receipts", Or(q.receipts, kDefaultReceiptsQuery)},
                          {"anchored", Or(q.anchored, kDefaultAnchoredQuery)}},
                         report);
    }
    const Micros horizon = now_us - cfg_.out_of_order_ms * 1000;
    const Micros receipts_horizon = std::min(horizon, read_limit_);
    const Micros anchored_horizon = std::min(horizon, anchored_read_limit_);

    LedgerBatch batch;
    batch.source = name_;
    batch.region = cfg_.region;
    LedgerCursors next;
    next.receipts = detail::ColdStart(cursors_.receipts, now_us, options_);
    next.anchored = detail::ColdStart(cursors_.anchored, now_us, options_);

    // With a sink: hand the page over and commit the stream's cursor.
    auto deliver = [&](StreamCursor LedgerCursors::*stream, bool receipts_page) {
      if (!sink_) return;
      LedgerBatch page;
      page.source = name_;
      page.region = cfg_.region;
      if (receipts_page) {
        page.receipts = std::move(batch.receipts);
        batch.receipts.clear();
      } else {
        page.anchored = std::move(batch.anchored);
        batch.anchored.clear();
      }
      detail::DeliverPage(sink_, Batch(std::move(page)), cursors_.*stream, next.*stream);
      tally.Delivered();
    };
    auto bad_row = [&](std::string_view stream, const pq::Result& r, int i, int ts_col, const std::string& error) {
      tally.Bad(report);
      log_.BadRow(stream, Position(r, i, ts_col, 0), error);
    };

    detail::StreamSpec rs{Or(q.receipts, kDefaultReceiptsQuery), "receipts", decode::kReceiptColumns,
                          9, 0, receipts_horizon, cfg_.batch_size, options_.max_rows_per_poll,
                          session_.stop_flag()};
    const detail::StreamRead receipts = detail::ReadStream(
        c, rs, next.receipts,
        [&](const pq::Result& r, int i) {
          tally.Row();
          decode::ReceiptColumns rc{Col(r, i, 0), Col(r, i, 1), Col(r, i, 2), Col(r, i, 3),
                                    Col(r, i, 4), Col(r, i, 5), Col(r, i, 6), Col(r, i, 7),
                                    Col(r, i, 8), Col(r, i, 9)};
          auto d = decode::DecodeReceipt(rc, limits);
          if (d.ok()) {
            batch.receipts.push_back(std::move(d.value()));
          } else {
            bad_row("receipts", r, i, 9, d.error());
          }
        },
        [&] { deliver(&LedgerCursors::receipts, true); });
    report.rows_read += receipts.rows;

    detail::StreamSpec as{Or(q.anchored, kDefaultAnchoredQuery), "anchored", decode::kAnchoredColumns,
                          3, 0, anchored_horizon, cfg_.batch_size, options_.max_rows_per_poll,
                          session_.stop_flag()};
    const detail::StreamRead anchored = detail::ReadStream(
        c, as, next.anchored,
        [&](const pq::Result& r, int i) {
          tally.Row();
          decode::AnchoredColumns ac{Col(r, i, 0), Col(r, i, 1), Col(r, i, 2), Col(r, i, 3)};
          auto d = decode::DecodeAnchored(ac, limits);
          if (d.ok()) {
            batch.anchored.push_back(std::move(d.value()));
          } else {
            bad_row("anchored", r, i, 3, d.error());
          }
        },
        [&] { deliver(&LedgerCursors::anchored, false); });
    report.rows_read += anchored.rows;

    // The queue-depth count(*) is the one statement whose cost grows with the
    // table: at most once per queue_depth_interval (0 = every poll). When it
    // is skipped the batch carries no depth and the Engine keeps the last one.
    const auto mono = std::chrono::steady_clock::now();
    if (!depth_measured_ || cfg_.queue_depth_interval_ms <= 0 ||
        mono - last_depth_ >= std::chrono::milliseconds(cfg_.queue_depth_interval_ms)) {
      session_.ThrowIfStopped();
      pq::Result depth = detail::ExecNamed(c, "queue_depth", Or(q.queue_depth, kDefaultQueueDepthQuery));
      depth.ExpectColumns(1, "queue_depth");
      if (depth.rows() > 0) batch.queue_depth = depth.opt_int64(0, 0);
      depth_pending_ = mono;
    }

    session_.ThrowIfStopped();
    pq::Result proofs = detail::ExecNamed(c, "proofs_last", Or(q.proofs_last, kDefaultProofsLastQuery));
    proofs.ExpectColumns(1, "proofs_last");
    if (proofs.rows() > 0) {
      if (auto us = proofs.opt_int64(0, 0)) batch.proofs_last_ts = static_cast<double>(*us) / 1e6;
    }

    batch.receipts_complete_upto = detail::CompleteUpto(receipts, next.receipts, receipts_horizon);
    batch.anchored_complete_upto = detail::CompleteUpto(anchored, next.anchored, anchored_horizon);
    cursors_ = std::move(next);
    if (depth_pending_) {
      last_depth_ = *depth_pending_;
      depth_measured_ = true;
      depth_pending_.reset();
    }
    report.success = true;
    out.more = !receipts.exhausted || !anchored.exhausted;
    out.limited = receipts.exhausted && receipts_horizon < horizon;
    batch.receipts_limited = !receipts.exhausted || out.limited;
    out.batch = std::move(batch);
  });
  depth_pending_.reset();
  tally.KeepDelivered(report, static_cast<bool>(sink_));
  log_.FlushSuppressed();
  detail::Finish(report, started);
  return out;
}

}  // namespace provledger::source
