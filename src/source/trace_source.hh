// TraceSource: polls one PostgreSQL trace store (config::TraceStore, kind
// kPostgres) for spans carrying a tenant and op_id.
//
// Each Poll(): connect if needed; clock query -> now_us; horizon =
// min(now_us - out_of_order_ms*1000, SetReadLimit()) (spans are written when
// they end, so the bound must cover the longest span plus its export delay);
// read the spans stream page by page from the cursor up to the horizon, at
// most SourceOptions::max_rows_per_poll rows (stopped there: complete_upto =
// cursor.ts - 1 and PollResult::more, else complete_upto = the horizon);
// decode each row (decode::DecodeSpan; bad rows counted as kDecode, logged
// rate-limited, skipped, cursor still moves past them). Without a sink the
// cursor advances only when the whole poll succeeds; with one (SetSink) each
// page is handed to the sink and the cursor committed past it at once (see
// Source::Poll). RequestStop() as for LedgerSource.
// Queries: config TraceStore::queries, "" = default.
//
// Everything SQL-specific lives in this class. Another trace store kind (e.g.
// the OpenTelemetry Collector file exporter, JSON lines) is another Source
// class returning TraceBatch, added to MakeSources; the poller is unchanged.
// Thread safety: see Source.
#pragma once

#include <string>

#include "config/config.hh"
#include "source/options.hh"
#include "source/source.hh"
#include "source/source_common.hh"

namespace provledger::source {

class TraceSource final : public detail::SqlStreamSource {
 public:
  explicit TraceSource(const config::TraceStore& store, SourceOptions options = {});
  ~TraceSource() override;

  SourceKind kind() const override { return SourceKind::kTraces; }
  PollResult Poll() override;

  TraceCursors cursors() const { return cursors_; }
  void SetCursors(const TraceCursors& c) { cursors_ = c; }

  // DSN and the clock and spans queries.
  std::string fingerprint() const override;
  Cursors saved_cursors() const override { return cursors_; }
  void RestoreCursors(const Cursors& c) override;
  // The spans stream from replay_from (nothing of it is kept in the state file).
  void StartFrom(Micros replay_from, const DurablePosition& saved) override;

 private:
  config::TraceStore cfg_;
  TraceCursors cursors_;
};

}  // namespace provledger::source
