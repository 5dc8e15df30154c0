#include "source/ledger_source.hh"

#include <algorithm>

#include "decode/decode.hh"
#include "source/queries.hh"

namespace provledger::source {
using detail::Col;
using detail::Or;
using detail::Position;

LedgerSource::LedgerSource(const config::Ledger& ledger, SourceOptions options)
    : cfg_(ledger),
      options_(std::move(options)),
      log_(cfg_.name, options_),
      session_(cfg_.conn, &log_) {}

LedgerSource::~LedgerSource() = default;

void LedgerSource::Close() { session_.Close(); }
void LedgerSource::RequestStop() { session_.RequestStop(); }
void LedgerSource::ClearStop() { session_.ClearStop(); }

PollResult LedgerSource::Poll() {
  const auto started = std::chrono::steady_clock::now();
  PollResult out;
  out.report = detail::StartReport(cfg_.name, SourceKind::kLedger);
  PollReport& report = out.report;
  const decode::Limits limits{options_.max_tenant_bytes};
  detail::RunGuarded(report, &session_, last_error_, [&] {
    pq::Connection& c = session_.Get();
    const auto& q = cfg_.queries;

    const Micros now_us = detail::QueryClock(c, Or(q.clock, kDefaultClockQuery));
    const Micros horizon = now_us - cfg_.out_of_order_ms * 1000;
    const Micros receipts_horizon = std::min(horizon, read_limit_);

    LedgerBatch batch;
    batch.source = cfg_.name;
    batch.region = cfg_.region;
    LedgerCursors next;
    next.receipts = detail::ColdStart(cursors_.receipts, now_us, options_);
    next.anchored = detail::ColdStart(cursors_.anchored, now_us, options_);

    detail::StreamSpec rs{Or(q.receipts, kDefaultReceiptsQuery), "receipts", decode::kReceiptColumns,
                          9, 0, receipts_horizon, cfg_.batch_size, options_.max_rows_per_poll,
                          session_.stop_flag()};
    const detail::StreamRead receipts = detail::ReadStream(
        c, rs, next.receipts, [&](const pq::Result& r, int i) {
          decode::ReceiptColumns rc{Col(r, i, 0), Col(r, i, 1), Col(r, i, 2), Col(r, i, 3),
                                    Col(r, i, 4), Col(r, i, 5), Col(r, i, 6), Col(r, i, 7),
                                    Col(r, i, 8), Col(r, i, 9)};
          auto d = decode::DecodeReceipt(rc, limits);
          if (d.ok()) {
            batch.receipts.push_back(std::move(d.value()));
          } else {
            ++report.errors[static_cast<int>(ErrorKind::kDecode)];
            log_.BadRow("receipts", Position(r, i, 9, 0), d.error());
          }
        });
    report.rows_read += receipts.rows;

    detail::StreamSpec as{Or(q.anchored, kDefaultAnchoredQuery), "anchored", decode::kAnchoredColumns,
                          3, 0, horizon, cfg_.batch_size, options_.max_rows_per_poll,
                          session_.stop_flag()};
    const detail::StreamRead anchored = detail::ReadStream(
        c, as, next.anchored, [&](const pq::Result& r, int i) {
          decode::AnchoredColumns ac{Col(r, i, 0), Col(r, i, 1), Col(r, i, 2), Col(r, i, 3)};
          auto d = decode::DecodeAnchored(ac, limits);
          if (d.ok()) {
            batch.anchored.push_back(std::move(d.value()));
          } else {
            ++report.errors[static_cast<int>(ErrorKind::kDecode)];
            log_.BadRow("anchored", Position(r, i, 3, 0), d.error());
          }
        });
    report.rows_read += anchored.rows;

    session_.ThrowIfStopped();
    pq::Result depth = detail::ExecNamed(c, "queue_depth", Or(q.queue_depth, kDefaultQueueDepthQuery));
    depth.ExpectColumns(1, "queue_depth");
    if (depth.rows() > 0) batch.queue_depth = depth.opt_int64(0, 0);

    session_.ThrowIfStopped();
    pq::Result proofs = detail::ExecNamed(c, "proofs_last", Or(q.proofs_last, kDefaultProofsLastQuery));
    proofs.ExpectColumns(1, "proofs_last");
    if (proofs.rows() > 0) {
      if (auto us = proofs.opt_int64(0, 0)) batch.proofs_last_ts = static_cast<double>(*us) / 1e6;
    }

    batch.receipts_complete_upto = detail::CompleteUpto(receipts, next.receipts, receipts_horizon);
    batch.anchored_complete_upto = detail::CompleteUpto(anchored, next.anchored, horizon);
    cursors_ = std::move(next);
    report.success = true;
    out.more = !receipts.exhausted || !anchored.exhausted;
    out.batch = std::move(batch);
  });
  log_.FlushSuppressed();
  detail::Finish(report, started);
  return out;
}

}  // namespace provledger::source
