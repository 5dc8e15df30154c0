// Internal helpers shared by the source implementations (not part of the
// public API): the per-source bad-row logger, the PostgreSQL session that
// reconnects on demand, the keyset stream reader, and report bookkeeping.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.hh"
#include "core/rows.hh"
#include "decode/decode.hh"
#include "decode/utf8.hh"
#include "pq/connection.hh"
#include "source/options.hh"
#include "source/plan_check.hh"
#include "source/source.hh"

namespace provledger::source::detail {

// Logging of one source: name attached to every line, bad rows rate-limited.
class SourceLog {
 public:
  SourceLog(std::string source, const SourceOptions& o);
  void Log(LogLevel level, std::string_view message, LogFields fields = {}) const;
  // One bad row (decode error); rate-limited.
  void BadRow(std::string_view stream, std::string_view position, std::string_view error);
  // Emits "suppressed K bad-row log lines" when a window with suppressed lines ended.
  void FlushSuppressed();

 private:
  std::string source_;
  LogFn log_;
  RateLimiter limiter_;
};

// The message of a poll aborted by Source::RequestStop().
inline constexpr const char* kStoppedMessage = kStoppedError;

// One connection, opened on first use and after a connection failure. The
// password is re-read at every connect, so a rotated password file is used.
// Also the stop flag of its source: RequestStop() sets it and cancels the
// statement in flight (the only members callable from another thread).
class PgSession {
 public:
  PgSession(const config::Connection& conn, SourceLog* log);
  ~PgSession();
  // The open connection; connects when there is none. Throws pq::PqError
  // (also kQuery kStoppedMessage when a stop was requested).
  pq::Connection& Get();
  // Drops the connection if `e` says it is unusable (or always for kConnect).
  void OnError(const pq::PqError& e);
  void Close();
  // True once after each new connection (then false until the next one):
  // the source checks its stream queries' plans then (CheckPlans).
  bool TakeNewConnection() { return std::exchange(new_connection_, false); }

  // Thread-safe: sets the stop flag and cancels the running statement.
  void RequestStop();
  void ClearStop() { stop_.store(false); }
  bool stop_requested() const { return stop_.load(); }
  const std::atomic<bool>* stop_flag() const { return &stop_; }
  // Throws PqError(kQuery, kStoppedMessage) when a stop was requested.
  void ThrowIfStopped() const;

 private:
  void Reset();   // drops c_ and its cancel handle

  config::Connection conn_;
  SourceLog* log_;
  std::unique_ptr<pq::Connection> c_;
  bool new_connection_ = false;
  std::atomic<bool> stop_{false};
  mutable std::mutex cancel_mu_;   // guards cancel_ (RequestStop vs (re)connect/close)
  pq::CancelHandle cancel_;
};

// Rows and decode errors of one poll's pages, split into those handed to the
// sink (they stay applied whatever happens later in the poll) and those of
// the page being read. A poll that fails after some pages keeps the
// delivered ones in its report (KeepDelivered).
struct PageTally {
  std::uint64_t rows = 0, decode = 0;             // delivered
  std::uint64_t page_rows = 0, page_decode = 0;   // current page
  void Row() { ++page_rows; }
  void Bad(PollReport& r) {
    ++r.errors[static_cast<int>(ErrorKind::kDecode)];
    ++page_decode;
  }
  void Delivered() {
    rows += page_rows;
    decode += page_decode;
    page_rows = page_decode = 0;
  }
  // After a failed poll with a sink: the report counts the delivered pages.
  void KeepDelivered(PollReport& r, bool with_sink) const {
    if (r.success || !with_sink) return;
    r.rows_read = rows;
    r.errors[static_cast<int>(ErrorKind::kDecode)] = decode;
  }
};

// Hands `page` to `sink` with `committed` already moved to `next` (so the
// sink sees the cursors past the page); if the sink throws, `committed` is
// put back and the exception goes on, so cursors and delivered rows agree.
template <class Cursor>
void DeliverPage(const PageSink& sink, Batch&& page, Cursor& committed, const Cursor& next) {
  Cursor old = committed;
  committed = next;
  try {
    sink(std::move(page));
  } catch (...) {
    committed = std::move(old);
    throw;
  }
}

// What every stream source (ledgers, trace stores) keeps besides its
// queries: its name, options, logger, last error, read limit and page sink.
class StreamSourceBase : public Source {
 public:
  const std::string& name() const override { return name_; }
  void SetReadLimit(Micros limit) override { read_limit_ = limit; }
  void SetSink(PageSink sink) override { sink_ = std::move(sink); }
  // Message of the last failed poll ("" after a success); never a password.
  const std::string& last_error() const { return last_error_; }

 protected:
  StreamSourceBase(std::string name, SourceOptions options)
      : name_(std::move(name)), options_(std::move(options)), log_(name_, options_) {}

  std::string name_;
  SourceOptions options_;
  SourceLog log_;
  std::string last_error_;
  Micros read_limit_ = kMaxMicros;
  PageSink sink_;
};

// A stream source over one PostgreSQL connection: Close and the stop flag
// are the session's.
class SqlStreamSource : public StreamSourceBase {
 public:
  void Close() override { session_.Close(); }
  void RequestStop() override { session_.RequestStop(); }
  void ClearStop() override { session_.ClearStop(); }

 protected:
  SqlStreamSource(std::string name, const config::Connection& conn, SourceOptions options)
      : StreamSourceBase(std::move(name), std::move(options)), session_(conn, &log_) {}

  PgSession session_;
};

// The smallest cursor timestamp sent to the database: 0001-01-01T00:00:00Z.
// PostgreSQL timestamps cannot hold kMinMicros (~73000 years before the
// epoch), so a cursor below this is sent as (kQueryMinMicros, "").
inline constexpr Micros kQueryMinMicros = -62135596800LL * 1000000;

// Where the database is asked to read from for `cursor`. A cursor with an
// empty id is a start position (the replay start E - window - grace, or a
// cold start), not a row's: it is rounded down to a whole second, so a query
// over a coarser timestamp column (epoch milliseconds or seconds) that divides
// $1 down returns no row "before the cursor". ReadStream skips the rows
// between that second and the cursor, so the rows delivered are exactly those
// after the cursor. A row's cursor (non-empty id) is used as is.
inline StreamCursor StartPosition(const StreamCursor& cursor) {
  constexpr Micros kSecond = 1000000;
  if (!cursor.id.empty() || cursor.ts <= kQueryMinMicros) return cursor;
  Micros r = cursor.ts % kSecond;
  if (r < 0) r += kSecond;
  return {cursor.ts - r, std::string()};
}

// One keyset stream read: the query, its result shape and its bounds.
struct StreamSpec {
  std::string_view sql;
  std::string_view what;            // "receipts", ... (error messages)
  int ncols = 0, ts_col = 0, id_col = 0;
  Micros horizon = 0;               // $3: rows with ts <= horizon
  std::int64_t batch = 1;           // rows per page ($4); <= 0 taken as 1
  std::int64_t max_rows = 0;        // rows per call; <= 0 = no limit
  const std::atomic<bool>* stop = nullptr;   // checked before every page
  // Send the next page's statement before decoding the current one
  // (pq::Connection::SendPrepared); false = one page at a time.
  bool pipeline = true;
  int max_ncols = 0;                // > ncols: up to this many columns are accepted (optional trailing ones)
};

struct StreamRead {
  std::uint64_t rows = 0;   // rows fetched (decoded or not)
  bool exhausted = true;    // false: stopped at max_rows, rows up to the horizon may remain
};

// The stream's complete_upto after a read that ended at `cursor`: the
// horizon when exhausted, else cursor.ts - 1 (rows sharing cursor.ts with a
// larger id may remain).
inline Micros CompleteUpto(const StreamRead& r, const StreamCursor& cursor, Micros horizon) {
  return r.exhausted ? horizon : cursor.ts - 1;
}

// Reads one keyset stream from `cursor` (advanced in place) up to
// s.horizon in pages of s.batch rows until a page comes back short, or until
// s.max_rows rows were read (the last page is shortened to end exactly
// there; the read then reports exhausted=false even if nothing is left).
// Calls on_row(result, row) for every row after the cursor (see
// StartPosition: rows between a start position's whole second and the
// cursor are fetched, counted in StreamRead::rows, but skipped; max_rows
// counts the rows handed to on_row). The cursor moves to the (ts, id) of
// every such row whose ts column is a bigint (also rows that fail to decode,
// so a bad row is not read again). Guards against override queries that break
// the contract (ts before the cursor or after the horizon, a full page that
// does not move the cursor): PqError kQuery. A set *s.stop before a page:
// PqError(kQuery, kStoppedMessage).
template <class OnRow>
StreamRead ReadStream(pq::Connection& c, const StreamSpec& s, StreamCursor& cursor, OnRow&& on_row);
// Same, and calls on_page() after each page whose rows were all handed to
// on_row (or skipped) and passed the contract checks (so `cursor` is past that page and
// the page is final), before the next page's result is read (with
// pipelining its statement may already be running). A page that ends the
// read (short page or max_rows reached) gets its on_page() call too; a page
// with no row handed to on_row does not. An exception from on_page() ends the read.
template <class OnRow, class OnPage>
StreamRead ReadStream(pq::Connection& c, const StreamSpec& s, StreamCursor& cursor, OnRow&& on_row,
                      OnPage&& on_page);

// c.ExecPrepared() (parsed and planned once per connection) with
// "<what> query: " put before the message of any PqError.
pq::Result ExecNamed(pq::Connection& c, std::string_view what, std::string_view sql,
                     const std::vector<pq::Param>& params = {});

// Checks the plan of each stream query (name, SQL) with CheckStreamPlan
// (source/plan_check.hh): a query whose keyset no index can serve is logged
// as a warning (query, plan, the index to create) and every checked query is
// added to report.plans_unindexed. A failed check is logged and skipped (a
// poll never fails because of it), unless the connection is lost or a stop
// was requested: then the PqError is rethrown.
void CheckPlans(pq::Connection& c, const PgSession& session, const SourceLog& log, Micros now_us,
                std::int64_t limit, std::initializer_list<std::pair<std::string_view, std::string_view>> queries,
                PollReport& report);

// Runs the clock query (one row, one bigint column) -> database now, epoch µs.
Micros QueryClock(pq::Connection& c, std::string_view sql);

// Column `col` of row `row` as a decode::Field (a view into `r`). Not
// bounds-checked per cell: callers pass row < r.rows() and col < r.cols(),
// which ReadStream guarantees for on_row after ExpectColumns (one check per
// page instead of one per cell; see pq::Result::text_unchecked).
inline decode::Field Col(const pq::Result& r, int row, int col) {
  if (r.is_null_unchecked(row, col)) return decode::Field::Null();
  return decode::Field{r.text_unchecked(row, col), false};
}

// "ts/id" of a row, log-safe, for bad-row log lines.
std::string Position(const pq::Result& r, int row, int ts_col, int id_col);

// `s`, or `fallback` when `s` is empty (query overrides).
inline const char* Or(const std::string& s, const char* fallback) {
  return s.empty() ? fallback : s.c_str();
}

// Starts a fresh report: source name and kind; finished later by Finish().
PollReport StartReport(const std::string& name, SourceKind kind);
// Records duration and finish time.
void Finish(PollReport& r, std::chrono::steady_clock::time_point started);
// Marks `r` failed with `kind` and `message` (decode counts and rows of the
// failed poll are dropped: they are read again by the next poll).
void Fail(PollReport& r, ErrorKind kind, std::string message);

// Runs `body` (which fills `r` and sets r.success) and turns any exception
// into a failed report: PqError keeps its kind (and drops a lost connection
// from `session`, which may be null), anything else is kQuery. A failure
// while the session's stop flag is set (a cancelled statement included) is
// reported as kQuery kStoppedMessage. `last_error` gets the message, or "" on
// success. Never throws.
template <class Body>
void RunGuarded(PollReport& r, PgSession* session, std::string& last_error, Body&& body) {
  try {
    if (session) session->ThrowIfStopped();
    body();
    last_error.clear();
    return;
  } catch (const pq::PqError& e) {
    if (session) session->OnError(e);
    Fail(r, e.kind(), e.what());
  } catch (const std::exception& e) {
    Fail(r, ErrorKind::kQuery, e.what());
  } catch (...) {
    Fail(r, ErrorKind::kQuery, "unknown error");
  }
  if (session && session->stop_requested()) Fail(r, ErrorKind::kQuery, kStoppedMessage);
  last_error = r.error;
}

// The stream's starting cursor when it has none yet (cold start).
StreamCursor ColdStart(const StreamCursor& c, Micros now_us, const SourceOptions& o);

// ---- template implementation ----

[[noreturn]] void ThrowContract(std::string_view what, std::string_view detail);

[[noreturn]] void ThrowStopped();

template <class OnRow>
StreamRead ReadStream(pq::Connection& c, const StreamSpec& s, StreamCursor& cursor, OnRow&& on_row) {
  return ReadStream(c, s, cursor, std::forward<OnRow>(on_row), [] {});
}

// Rethrows a PqError of `what`'s statement with "<what> query: " in front.
[[noreturn]] void RethrowNamed(std::string_view what, const pq::PqError& e);

template <class OnRow, class OnPage>
StreamRead ReadStream(pq::Connection& c, const StreamSpec& s, StreamCursor& cursor, OnRow&& on_row,
                      OnPage&& on_page) {
  StreamRead out;
  const std::int64_t batch = s.batch <= 0 ? 1 : s.batch;
  std::int64_t left = s.max_rows;   // rows still to deliver; used only when max_rows > 0
  auto params = [&](const StreamCursor& from, std::int64_t page) -> std::vector<pq::Param> {
    const bool clamp = from.ts < kQueryMinMicros;
    return {clamp ? kQueryMinMicros : from.ts, clamp ? std::string() : from.id, s.horizon, page};
  };
  // `pos` is the keyset position the database reads after: the last row
  // fetched. It starts at the cursor, except for a start position (see
  // StartPosition): then at the whole second, and the rows up to the cursor
  // are fetched but skipped (not handed to on_row, cursor not moved).
  const StreamCursor start = cursor;
  StreamCursor pos = StartPosition(cursor);
  bool skipping = !(pos == start);
  // Pipelining: a full page's last row gives the next page's keyset position,
  // so the next page's statement is sent before this page is decoded and
  // PostgreSQL runs it meanwhile. A statement still in flight when the read
  // ends early (error, sink failure) is cancelled and drained here; on a
  // stop (shutdown, reload) the connection is dropped instead, so stopping
  // never waits for a cancel request or a drain over a dead network.
  struct Flight {
    pq::Connection& c;
    const std::atomic<bool>* stop;
    ~Flight() {
      if (!c.in_flight()) return;
      if (stop != nullptr && stop->load()) {
        c.Drop();
      } else {
        c.Abandon();
      }
    }
  } flight{c, s.stop};
  bool sent = false;        // the next page's statement is in flight ...
  StreamCursor sent_from;   // ... reading after this position
  for (;;) {
    if (s.stop != nullptr && s.stop->load()) ThrowStopped();
    const std::int64_t page = s.max_rows > 0 ? std::min(batch, left) : batch;
    const StreamCursor before = pos;
    pq::Result res;
    if (sent) {
      sent = false;
      try {
        res = c.GetResult();
      } catch (const pq::PqError& e) {
        RethrowNamed(s.what, e);
      }
    } else {
      res = ExecNamed(c, s.what, s.sql, params(pos, page));
    }
    if (s.max_ncols > s.ncols && res.cols() > s.ncols && res.cols() <= s.max_ncols) {
      // an optional trailing column (the span name)
    } else {
      res.ExpectColumns(s.ncols, s.what);
    }
    const int n = res.rows();
    if (n > page) ThrowContract(s.what, "returned more rows than the limit ($4)");
    // (Not while skipping: how many of this page's rows count is not known yet.)
    const std::int64_t next_left = s.max_rows > 0 ? left - n : 1;
    if (s.pipeline && !skipping && n == page && next_left > 0 && !(s.stop != nullptr && s.stop->load()) &&
        !res.is_null_unchecked(n - 1, s.ts_col)) {
      const auto last_ts = decode::ParseInt64(res.text_unchecked(n - 1, s.ts_col));
      if (last_ts && *last_ts >= pos.ts && *last_ts <= s.horizon) {
        StreamCursor from{*last_ts, std::string(res.is_null_unchecked(n - 1, s.id_col)
                                                    ? std::string_view()
                                                    : res.text_unchecked(n - 1, s.id_col))};
        if (!(from == before)) {
          const std::int64_t next_page = s.max_rows > 0 ? std::min(batch, next_left) : batch;
          try {
            c.SendPrepared(s.sql, params(from, next_page));
          } catch (const pq::PqError& e) {
            RethrowNamed(s.what, e);
          }
          sent = true;
          sent_from = std::move(from);
        }
      }
    }
    std::int64_t delivered = 0;
    for (int i = 0; i < n; ++i) {
      if (sent && (i & 511) == 511) c.Consume();   // keep the next page flowing in
      std::optional<std::int64_t> ts;
      if (!res.is_null_unchecked(i, s.ts_col)) ts = decode::ParseInt64(res.text_unchecked(i, s.ts_col));
      if (!ts) {   // a bad row: on_row counts it; it does not move the position
        on_row(res, i);
        ++delivered;
        continue;
      }
      if (*ts < pos.ts) {
        ThrowContract(s.what, skipping ? "returned a row before the start position ($1, a whole second)"
                                       : "returned a row before the cursor ($1)");
      }
      if (*ts > s.horizon) ThrowContract(s.what, "returned a row after the horizon ($3)");
      const std::string_view id =
          res.is_null_unchecked(i, s.id_col) ? std::string_view() : res.text_unchecked(i, s.id_col);
      pos.ts = *ts;
      pos.id.assign(id);
      if (skipping) {
        if (*ts < start.ts || (*ts == start.ts && id <= start.id)) continue;   // at or before the start
        skipping = false;
      }
      on_row(res, i);
      ++delivered;
      cursor.ts = *ts;
      cursor.id.assign(id);
    }
    out.rows += static_cast<std::uint64_t>(n);
    if (n == page && pos == before) {
      ThrowContract(s.what, "returned a full page without moving past the cursor");
    }
    if (sent && !(pos == sent_from)) {
      // Cannot happen (the last row, valid, set the position); never read
      // from a position other than the last row's.
      c.Abandon();
      sent = false;
    }
    res = pq::Result();   // the page's PGresult is freed before the page is handed on
    if (delivered > 0) on_page();
    if (n < page) break;
    if (s.max_rows > 0) {
      left -= delivered;
      if (left <= 0) {
        out.exhausted = false;
        break;
      }
    }
  }
  return out;
}

}  // namespace provledger::source::detail
