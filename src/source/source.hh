// A source does I/O only: it owns one database connection (or a file), reads
// rows new since its cursors, decodes them into typed rows and reports its
// health. It never computes metrics. Thread safety: one Source is used by one
// poller thread at a time; cursors()/SetCursors()/SetReadLimit()/SetSink()
// are called only between polls (cursors() also from the PageSink, which runs
// on the polling thread). RequestStop() is the exception: any thread, any time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "config/config.hh"
#include "core/file_position.hh"
#include "core/rows.hh"

namespace provledger::source {

// Keyset position in a (timestamp, id) ordered stream: rows with
// (ts, id) > (cursor.ts, cursor.id) are new.
struct StreamCursor {
  Micros ts = kMinMicros;
  std::string id;
  bool operator==(const StreamCursor&) const = default;
};

struct LedgerCursors {
  StreamCursor receipts;
  StreamCursor anchored;
};

struct TraceCursors {
  StreamCursor spans;
};

// The stream positions of any source, opaque to the poller: it keeps them
// over a reload (Source::saved_cursors / RestoreCursors) without knowing the
// kind of the source.
using Cursors = std::variant<std::monostate, LedgerCursors, TraceCursors, FileCursors>;

// What the state file keeps about a source (recorded after every page the
// engine applied), and what a restart hands back: the anchored stream of a
// ledger, the file position of an OTLP file store. Streams not listed here
// restart from Engine::ReplayFrom.
struct DurablePosition {
  std::optional<StreamCursor> anchored;   // ledgers
  std::optional<FileCursors> file;        // otlp_file trace stores
};

using Batch = std::variant<std::monostate, LedgerBatch, TraceBatch, FlagsBatch>;

// PollReport::error of a poll cut short by RequestStop(): shutdown or reload,
// not a failure of the source.
inline constexpr const char* kStoppedError = "stopped";

// Per-page delivery (Source::SetSink). Called on the thread running Poll(),
// once per page of a keyset stream, with a LedgerBatch (receipts or anchored
// rows of that page) or TraceBatch (spans) that carries rows only: its
// complete_upto fields are kMinMicros and queue_depth / proofs_last_ts are
// unset, so applying it to the Engine moves no horizon. When the sink is
// called, the source's cursors() already include the page; if the sink
// throws, the cursors are put back and the poll fails with that error.
using PageSink = std::function<void(Batch&&)>;

struct PollResult {
  PollReport report;   // always filled
  Batch batch;         // monostate when the poll failed before producing data
  // true when a stream stopped at max_rows_per_poll: poll again at once
  bool more = false;
  // true when a stream stopped at the read limit (SetReadLimit) short of its
  // live horizon: poll again once the limit has moved (the other sources
  // were read further).
  bool limited = false;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const std::string& name() const = 0;
  virtual SourceKind kind() const = 0;
  // Runs one poll: (re)connects if needed, reads every page of new rows up to
  // the horizon, advances the cursors past what it returns. Never throws:
  // failures are reported in PollResult.report (success=false, error kind).
  // Without a sink the cursors then stay where they were and the poll returns
  // no batch, so nothing is lost or read twice. With a sink (SetSink), every
  // page handed to the sink is committed: the cursors stay past it even when
  // the poll fails (or is stopped) later, and the next poll continues after
  // it; PollResult.batch of a successful poll then holds no stream rows, only
  // the horizons (complete_upto), queue depth and newest proof. The report of
  // a failed poll keeps rows_read and decode errors of the delivered pages.
  virtual PollResult Poll() = 0;
  // Drops the connection (reload, shutdown). Safe to call at any time from the
  // poller thread.
  virtual void Close() = 0;

  // Asks a running (or the next) Poll() to stop soon: SQL sources check it
  // before each statement and between pages (the poll then fails with kind
  // kQuery, error "stopped", cursors unchanged) and cancel the statement in
  // flight (the poll fails the same way). Thread-safe: may be called from any
  // thread while Poll() runs. Stays in force until ClearStop(). A connect in
  // progress is not interrupted (bounded by connect_timeout). Default: no-op.
  virtual void RequestStop() {}
  // Re-arms a source after RequestStop() (call before polling it again).
  virtual void ClearStop() {}
  // Streams pages to `sink` (see PageSink) instead of collecting the whole
  // poll in PollResult.batch, so memory follows batch_size, not the rows of
  // one poll; an empty function restores the collecting behaviour. Call
  // between polls. Ledgers and trace stores use it; the flags sources (one
  // small result) ignore it. Default: no-op.
  virtual void SetSink(PageSink /*sink*/) {}
  // Backpressure: rows with a timestamp after `limit` are not read (they stay
  // in the database); kMaxMicros = no limit (the default). Ledgers apply it to
  // the receipts stream only, trace stores to spans; complete_upto then
  // reflects the horizon actually used. Called by the poller between polls.
  virtual void SetReadLimit(Micros /*limit*/) {}

  // ---- positions (between polls, or from the PageSink) ----
  // Identity of the data the source reads (DSN and queries, or a path): a
  // reload carries the cursors over only when it is unchanged. Default: "".
  virtual std::string fingerprint() const { return {}; }
  // The current stream positions, for a reload. Default: monostate.
  virtual Cursors saved_cursors() const { return {}; }
  // Puts back what saved_cursors() returned (a value of another kind of
  // source is ignored). Default: no-op.
  virtual void RestoreCursors(const Cursors& /*c*/) {}
  // Positions the streams for a (re)start: every stream from `replay_from`
  // (Engine::ReplayFrom, so the coverage window is rebuilt), except what
  // `saved` (the state file) says. Default: no-op.
  virtual void StartFrom(Micros /*replay_from*/, const DurablePosition& /*saved*/) {}
  // What the state file should keep for this source now. Default: nothing.
  virtual DurablePosition durable_position() const { return {}; }
  // Where a restart would replay from now (Engine::ReplayFrom), given before
  // every poll: a file source keeps replay positions back to it. Default: no-op.
  virtual void SetReplayFloor(Micros /*floor*/) {}
};

class LedgerSource;   // source/ledger_source.hh
class TraceSource;    // source/trace_source.hh
class FlagsFileSource;
class FlagsSqlSource;

}  // namespace provledger::source
