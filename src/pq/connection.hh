// Connection: RAII owner of one libpq connection (PGconn).
//
// Connecting: the DSN (key=value conninfo or postgres:// URI) is parsed with
// PQconninfoParse and re-sent as keywords, with these added or overridden:
//   password          from ConnectOptions::password (a separate keyword, so it
//                     is never part of any DSN string we hold or log);
//   connect_timeout   ceil(connect_timeout_ms / 1000) s (libpq's minimum is 2 s);
//   options           the DSN's own options + "-c statement_timeout=<ms>
//                     -c lock_timeout=<ms>" (+ default_transaction_read_only=on);
//   application_name  "provledger_exporter" unless the DSN sets one;
//   client_encoding   UTF8 unless the DSN sets one (on a SQL_ASCII server:
//                     SQL_ASCII, so invalid bytes reach the row decoder and
//                     fail one row instead of the whole query);
//   keepalives        on, ~25 s to notice a silent peer, unless the DSN sets them.
//
// Errors: the constructor throws PqError(kConnect). Exec throws PqError
// classified by ClassifySqlState; a connection lost mid-query is kConnect
// (the caller should drop the Connection and reconnect). Every message that
// leaves this class has the password (if any) replaced by "***".
//
// Thread safety: one Connection is used by one thread at a time; a
// CancelHandle taken from it may be used from any other thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hh"
#include "pq/error.hh"
#include "pq/result.hh"

struct pg_conn;
struct pg_cancel;

namespace provledger::pq {

struct ConnectOptions {
  std::string dsn;                           // conninfo or URI; may be ""
  std::optional<std::string> password;       // never logged
  std::int64_t connect_timeout_ms = 5000;    // <= 0: libpq default (wait forever)
  std::int64_t statement_timeout_ms = 10000; // 0: no timeout
  std::int64_t lock_timeout_ms = -1;         // < 0: same as statement_timeout_ms
  std::string application_name = "provledger_exporter";
  bool read_only = true;                     // default_transaction_read_only=on
  bool prepare = true;                       // false: ExecPrepared/SendPrepared do not prepare
};

// The password a config::Connection names: the file's content with trailing
// "\n"/"\r\n" removed (password_file wins over password_env), the variable's
// value, or nullopt when neither is configured. Throws PqError(kConnect) when
// the file cannot be read or the variable is unset; the message never holds
// the password.
std::optional<std::string> ReadPassword(const config::Connection& c);

// ConnectOptions for a config::Connection (reads the password).
ConnectOptions OptionsFromConfig(const config::Connection& c);

// `dsn` for log lines: config::RedactDsn (what libpq parses, as
// keyword=value pairs, password and sslpassword as ***). Never throws.
std::string RedactDsn(std::string_view dsn);

// A parameter of Exec: text or SQL NULL.
struct Param {
  Param(std::nullptr_t) {}                                   // NOLINT
  Param(std::string s) : value(std::move(s)) {}              // NOLINT
  Param(std::string_view s) : value(std::string(s)) {}       // NOLINT
  Param(const char* s) : value(std::string(s)) {}            // NOLINT
  Param(std::int64_t v) : value(std::to_string(v)) {}        // NOLINT
  std::optional<std::string> value;
};

// Cancels the statement running on the connection it was taken from
// (libpq PQgetCancel/PQcancel). Cancel() may be called from any thread while
// another thread runs Exec() on the connection; the server then fails that
// statement (SQLSTATE 57014, "canceling statement due to user request"). A
// cancel arriving while no statement runs is ignored by the server. The
// handle stays valid (cancelling nothing) after the connection is closed.
// Not synchronised itself: callers that destroy or reassign a handle while
// another thread may call Cancel() must guard it (e.g. with a mutex).
class CancelHandle {
 public:
  CancelHandle() = default;   // empty: Cancel() returns false
  ~CancelHandle();
  CancelHandle(CancelHandle&& o) noexcept;
  CancelHandle& operator=(CancelHandle&& o) noexcept;
  CancelHandle(const CancelHandle&) = delete;
  CancelHandle& operator=(const CancelHandle&) = delete;

  explicit operator bool() const { return c_ != nullptr; }
  // Sends a cancel request (a short blocking connection to the server).
  // False when the handle is empty or the request could not be sent; then
  // `error` (if given) says why. Never throws.
  bool Cancel(std::string* error = nullptr) const;

 private:
  friend class Connection;
  explicit CancelHandle(pg_cancel* c) : c_(c) {}
  pg_cancel* c_ = nullptr;
};

class Connection {
 public:
  explicit Connection(const ConnectOptions& options);
  ~Connection();
  Connection(Connection&& o) noexcept;
  Connection& operator=(Connection&& o) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with text parameters ($1..$n), text results.
  // Throws PqError on any failure; returns only PGRES_TUPLES_OK/COMMAND_OK.
  Result Exec(std::string_view sql, const std::vector<Param>& params = {});

  // Like Exec, but the statement is prepared (PQprepare, parameter types
  // inferred by the server exactly as for Exec) on its first use on this
  // connection and then run with PQexecPrepared, so PostgreSQL parses it
  // once per connection instead of at every call. Statement names
  // ("provledger_<n>") are unique per connection; a new Connection (a
  // reconnect) prepares again. Errors are those of Exec (a statement that
  // does not parse fails at its first use, with the server's message). If the
  // server lost the statement (DISCARD ALL: 26000) or a schema change makes
  // the cached plan unusable (0A000), it is prepared again once and re-run.
  // Meant for a fixed set of statements (the cache is never trimmed).
  // With ConnectOptions::prepare false it is Exec (nothing is prepared).
  Result ExecPrepared(std::string_view sql, const std::vector<Param>& params = {});

  // The result columns and parameter count of `sql`, without running it:
  // PQprepare of the unnamed statement, then PQdescribePrepared. Errors are
  // those of Exec (a statement that does not parse fails with the server's
  // message). Used by the live configuration check.
  struct Column {
    std::string name;
    unsigned type_oid = 0;   // pg_type.oid
  };
  struct Description {
    std::vector<Column> columns;
    int params = 0;
  };
  Description Describe(std::string_view sql);

  // Pipelining one statement with client work (PQsendQueryPrepared):
  // SendPrepared() prepares `sql` if needed (synchronously, as ExecPrepared)
  // and sends it with `params` without waiting. While it runs, Consume()
  // reads what has arrived without blocking (call it now and then, so the
  // server is not held up by a full socket). GetResult() waits for the
  // result: same result and errors as ExecPrepared (including the one
  // re-prepare). Abandon() gives up a statement in flight: cancels it and
  // drains its results so the connection can be used again; never throws.
  // One statement in flight at a time: Exec/ExecPrepared/SendPrepared while
  // one is in flight throw PqError kQuery.
  void SendPrepared(std::string_view sql, const std::vector<Param>& params);
  void Consume() noexcept;
  Result GetResult();
  void Abandon() noexcept;
  // Closes the connection at once, without cancelling or draining a
  // statement in flight (the server ends it when it sees the socket close):
  // never blocks on the network. ok() is false afterwards. Used on shutdown
  // and reload, where Abandon()'s cancel request and drain could wait on a
  // dead network.
  void Drop() noexcept;
  bool in_flight() const { return in_flight_; }

  // libpq still considers the connection usable.
  bool ok() const;
  // The server's version as PQserverVersion reports it (e.g. 150020).
  int server_version() const;
  // The DSN we connected with, passwords removed.
  const std::string& redacted_dsn() const { return redacted_dsn_; }

  // A handle to cancel this connection's running statement from another
  // thread; empty when the connection is closed (or libpq is out of memory).
  CancelHandle cancel_handle() const;

  pg_conn* get() const { return conn_; }

 private:
  [[noreturn]] void ThrowFromResult(pg_result* res, std::string_view sql);
  // Throws unless the connection is open with no statement in flight.
  void CheckIdle() const;
  // Throws for a libpq call that produced no result: kConnect if the
  // connection is gone, else kQuery, with libpq's (scrubbed) message.
  [[noreturn]] void ThrowNoResult() const;
  // `res` failed because the prepared statement is gone or stale.
  bool StatementLost(const pg_result* res) const;
  std::string Scrub(std::string msg) const;

  // Prepares `sql` under a fresh name; returns the name. Throws like Exec.
  const std::string& Prepare(const std::string& sql);

  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;   // sql -> statement name
  int next_statement_ = 0;
  bool prepare_ = true;
  bool in_flight_ = false;
  std::string flight_sql_;                   // the statement in flight and its
  std::vector<Param> flight_params_;         // parameters (for a re-prepare)
  std::vector<std::string> secrets_;   // passwords, only for scrubbing messages
  std::string redacted_dsn_;
};

}  // namespace provledger::pq
