// LedgerSource: polls one regional ledger database (config::Ledger).
//
// Each Poll(): connect if needed (a lost connection is reopened at the next
// poll); run the clock query -> now_us; horizon = now_us - out_of_order_ms*1000;
// read the receipts stream (up to min(horizon, SetReadLimit())) and then the
// anchored stream (up to the horizon; the read limit does not apply) page by
// page (batch_size rows) from their cursors; run the proofs-last query (every
// poll) and the queue-depth query (at most once per
// Ledger::queue_depth_interval_ms of successful polls, 0 = every poll; a
// poll that skips it returns queue_depth unset, which the Engine reads as
// "keep the last value").
//
// Each stream returns at most SourceOptions::max_rows_per_poll rows per poll
// (each limited independently). A stream stopped at the limit has
// *_complete_upto = its cursor.ts - 1 (rows sharing that ts may remain) and
// sets PollResult::more; an exhausted one has complete_upto = the horizon it
// used. complete_upto can be lower than an earlier batch's (a lowered read
// limit, a catch-up after out-of-order rows): consumers keep the maximum.
//
// RequestStop(): see Source; the stop flag is checked before every statement
// and page, and the statement in flight is cancelled (PQcancel). Every row is decoded (decode::DecodeReceipt,
// DecodeAnchored); a bad row is counted in report.errors[kDecode], logged
// (rate-limited) and skipped, and the cursor still moves past it.
//
// Without a sink, cursors advance only when the whole poll succeeds: a failed
// poll returns no batch, keeps the old cursors, and the next poll reads the
// same rows again; so nothing is lost or delivered twice. With a sink
// (SetSink), each page of receipts or anchored rows is handed to the sink and
// that stream's cursor is committed past it at once (see Source::Poll), so a
// poll failing or stopped after k pages keeps those k pages delivered and the
// next poll continues after them. A row committed more than
// out_of_order_ms after its timestamp can be behind the cursor by then and
// is missed: that is the documented out-of-order bound.
//
// Queries: config Ledger::queries, an empty string meaning the default of
// source/queries.hh. Thread safety: see Source.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hh"
#include "source/options.hh"
#include "source/source.hh"
#include "source/source_common.hh"

namespace provledger::source {

class LedgerSource final : public detail::SqlStreamSource {
 public:
  explicit LedgerSource(const config::Ledger& ledger, SourceOptions options = {});
  ~LedgerSource() override;

  SourceKind kind() const override { return SourceKind::kLedger; }
  PollResult Poll() override;
  // Like SetReadLimit, for the anchored stream (default kMaxMicros = no
  // limit; the exporter never sets it). The coverage report reads one day.
  void SetAnchoredReadLimit(Micros limit) { anchored_read_limit_ = limit; }

  LedgerCursors cursors() const { return cursors_; }
  void SetCursors(const LedgerCursors& c) { cursors_ = c; }

  // DSN and the clock, receipts and anchored queries.
  std::string fingerprint() const override;
  Cursors saved_cursors() const override { return cursors_; }
  void RestoreCursors(const Cursors& c) override;
  // Both streams from replay_from; the anchored one from saved.anchored when set.
  void StartFrom(Micros replay_from, const DurablePosition& saved) override;
  // The anchored stream's cursor.
  DurablePosition durable_position() const override {
    DurablePosition d;
    d.anchored = cursors_.anchored;
    return d;
  }

 private:
  config::Ledger cfg_;
  LedgerCursors cursors_;
  Micros anchored_read_limit_ = kMaxMicros;
  // Queue depth: when it was last measured by a successful poll (steady clock).
  bool depth_measured_ = false;
  std::chrono::steady_clock::time_point last_depth_;
  std::optional<std::chrono::steady_clock::time_point> depth_pending_;
};

}  // namespace provledger::source
