#include "source/source_common.hh"

namespace provledger::source::detail {


SourceLog::SourceLog(std::string source, const SourceOptions& o)
    : source_(std::move(source)),
      log_(o.log ? o.log : SpdlogLogFn()),
      limiter_(o.log_bad_rows_per_minute, o.clock) {}

void SourceLog::Log(LogLevel level, std::string_view message, LogFields fields) const {
  fields.insert(fields.begin(), {"source", source_});
  try {
    log_(level, message, fields);
  } catch (...) {
    // Logging must never fail a poll.
  }
}

void SourceLog::BadRow(std::string_view stream, std::string_view position, std::string_view error) {
  FlushSuppressed();
  if (!limiter_.Allow()) return;
  Log(LogLevel::kWarn, "bad row skipped",
      {{"stream", std::string(stream)}, {"at", std::string(position)}, {"error", std::string(error)}});
}

void SourceLog::FlushSuppressed() {
  if (const std::uint64_t n = limiter_.TakeSuppressed(); n > 0) {
    Log(LogLevel::kWarn, "bad-row log lines suppressed by the rate limit",
        {{"suppressed", std::to_string(n)}});
  }
}

PgSession::PgSession(const config::Connection& conn, SourceLog* log) : conn_(conn), log_(log) {}

PgSession::~PgSession() { Reset(); }

pq::Connection& PgSession::Get() {
  if (!(c_ && c_->ok())) {
    Reset();
    auto c = std::make_unique<pq::Connection>(pq::OptionsFromConfig(conn_));
    log_->Log(LogLevel::kInfo, "connected to database",
              {{"dsn", c->redacted_dsn()}, {"server_version", std::to_string(c->server_version())}});
    pq::CancelHandle cancel = c->cancel_handle();
    {
      std::lock_guard<std::mutex> lock(cancel_mu_);
      cancel_ = std::move(cancel);
    }
    c_ = std::move(c);
    new_connection_ = true;
  }
  ThrowIfStopped();   // a stop requested while connecting found no statement to cancel
  return *c_;
}

void PgSession::OnError(const pq::PqError& e) {
  if (!c_) return;
  if (e.kind() == ErrorKind::kConnect || !c_->ok()) {
    log_->Log(LogLevel::kWarn, "database connection lost; reconnecting at the next poll",
              {{"dsn", c_->redacted_dsn()}});
    Reset();
  }
}

void PgSession::Close() { Reset(); }

void PgSession::Reset() {
  pq::CancelHandle old;
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    old = std::move(cancel_);
  }
  c_.reset();
}

void PgSession::RequestStop() {
  stop_.store(true);
  std::lock_guard<std::mutex> lock(cancel_mu_);
  std::string error;
  if (cancel_ && !cancel_.Cancel(&error)) {
    log_->Log(LogLevel::kDebug, "could not send a cancel request", {{"error", error}});
  }
}

void PgSession::ThrowIfStopped() const {
  if (stop_.load()) ThrowStopped();
}

void ThrowStopped() { throw pq::PqError(ErrorKind::kQuery, "", kStoppedMessage); }

void ThrowContract(std::string_view what, std::string_view detail) {
  throw pq::PqError(ErrorKind::kQuery, "",
                    std::string(what) + " query " + std::string(detail) +
                        "; stream queries must return rows with (ts, id) > ($1, $2) and ts <= $3, "
                        "ordered by (ts, id), at most $4 of them");
}

void RethrowNamed(std::string_view what, const pq::PqError& e) {
  throw pq::PqError(e.kind(), e.sqlstate(), std::string(what) + " query: " + e.what());
}

pq::Result ExecNamed(pq::Connection& c, std::string_view what, std::string_view sql,
                     const std::vector<pq::Param>& params) {
  try {
    return c.ExecPrepared(sql, params);
  } catch (const pq::PqError& e) {
    RethrowNamed(what, e);
  }
}

void CheckPlans(pq::Connection& c, const PgSession& session, const SourceLog& log, Micros now_us,
                std::int64_t limit, std::initializer_list<std::pair<std::string_view, std::string_view>> queries,
                PollReport& report) {
  for (const auto& [query, sql] : queries) {
    session.ThrowIfStopped();
    try {
      const PlanFinding f = CheckStreamPlan(c, query, sql, now_us, limit);
      report.plans_unindexed.emplace_back(f.query, f.unindexed);
      if (f.unindexed) {
        log.Log(LogLevel::kWarn,
                "stream query cannot use an index on its keyset columns: every poll reads the whole table",
                {{"query", f.query}, {"plan", f.plan}, {"index", f.advice}});
      } else {
        log.Log(LogLevel::kDebug, "stream query plan uses an index", {{"query", f.query}, {"plan", f.plan}});
      }
    } catch (const pq::PqError& e) {
      if (!c.ok() || session.stop_requested()) throw;
      log.Log(LogLevel::kWarn, "could not check the stream query's plan",
              {{"query", std::string(query)}, {"error", e.what()}});
    }
  }
}

Micros QueryClock(pq::Connection& c, std::string_view sql) {
  pq::Result clock = ExecNamed(c, "clock", sql);
  clock.ExpectColumns(1, "clock");
  if (clock.rows() != 1) throw pq::PqError(ErrorKind::kQuery, "", "clock query must return one row");
  return clock.int64(0, 0);
}

std::string Position(const pq::Result& r, int row, int ts_col, int id_col) {
  std::string s = r.is_null(row, ts_col) ? std::string("NULL") : decode::Printable(r.text(row, ts_col), 24);
  s += '/';
  s += r.is_null(row, id_col) ? std::string("NULL") : decode::Printable(r.text(row, id_col));
  return s;
}

PollReport StartReport(const std::string& name, SourceKind kind) {
  PollReport r;
  r.source = name;
  r.kind = kind;
  return r;
}

void Finish(PollReport& r, std::chrono::steady_clock::time_point started) {
  r.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  r.finished_at = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
}

void Fail(PollReport& r, ErrorKind kind, std::string message) {
  r.success = false;
  for (auto& e : r.errors) e = 0;
  r.rows_read = 0;
  r.errors[static_cast<int>(kind)] = 1;
  r.error = std::move(message);
}

StreamCursor ColdStart(const StreamCursor& c, Micros now_us, const SourceOptions& o) {
  if (c.ts != kMinMicros || !o.cold_start_lookback_ms) return c;
  StreamCursor s;
  s.ts = now_us - *o.cold_start_lookback_ms * 1000;
  return s;
}

}  // namespace provledger::source::detail

namespace provledger::source {

SourceOptions SourceOptions::FromConfig(const config::Config& c, LogFn log) {
  SourceOptions o;
  o.log_bad_rows_per_minute = c.log_bad_rows_per_minute;
  o.max_tenant_bytes = c.tenants.max_name_bytes > 0
                           ? static_cast<std::size_t>(c.tenants.max_name_bytes)
                           : std::size_t{0};
  o.cold_start_lookback_ms = c.coverage.window_ms + c.coverage.grace_ms;
  o.max_rows_per_poll = c.max_rows_per_poll;
  o.log = std::move(log);
  return o;
}

}  // namespace provledger::source
