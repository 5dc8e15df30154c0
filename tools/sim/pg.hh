// Minimal RAII libpq use for the simulator (deliberately independent of
// src/pq, which the exporter owns). Every failure throws PgError carrying
// libpq's message and the SQLSTATE when the server sent one. Not thread-safe:
// one Conn per thread. DSNs are never included in error messages.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace provledger::sim {

class PgError : public std::runtime_error {
 public:
  PgError(const std::string& what, std::string sqlstate)
      : std::runtime_error(what), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }
  // Connection-level trouble (as opposed to a statement the server refused).
  bool connection_lost() const { return sqlstate_.empty() || sqlstate_.rfind("08", 0) == 0; }

 private:
  std::string sqlstate_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

class Conn {
 public:
  // Connects (blocking); `label` names the database in messages (e.g. "ledger eu-west").
  Conn(const std::string& dsn, std::string label);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs one or more statements without parameters; throws on error.
  void Exec(const std::string& sql);
  // Runs a query with text parameters; returns the result (tuples or command ok).
  Result Query(const std::string& sql, const std::vector<std::string>& params = {});
  // Single-value convenience: first column of first row, "" when NULL/absent.
  std::string QueryValue(const std::string& sql, const std::vector<std::string>& params = {});

  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  // Re-establishes the connection; returns false when that failed.
  bool Reset();
  PGconn* get() { return conn_; }
  const std::string& label() const { return label_; }

 private:
  friend class CopyIn;
  [[noreturn]] void Fail(const std::string& context, const PGresult* r);
  PGconn* conn_ = nullptr;
  std::string label_;
};

// One COPY ... FROM STDIN (text format). Append rows to buffer() (each ending
// in '\n'), call Row() after each; the buffer is sent in large chunks.
// Finish() ends the copy and returns the row count the server reported.
// Destroying an unfinished CopyIn aborts the copy.
class CopyIn {
 public:
  CopyIn(Conn& conn, const std::string& copy_sql, std::size_t chunk_bytes = 1 << 20);
  ~CopyIn();
  CopyIn(const CopyIn&) = delete;
  CopyIn& operator=(const CopyIn&) = delete;

  std::string& buffer() { return buf_; }
  void Row() {
    ++rows_;
    if (buf_.size() >= chunk_) Flush();
  }
  std::uint64_t Finish();
  std::uint64_t rows() const { return rows_; }

 private:
  void Flush();
  Conn& conn_;
  std::string buf_;
  std::size_t chunk_;
  std::uint64_t rows_ = 0;
  bool open_ = true;
};

}  // namespace provledger::sim
