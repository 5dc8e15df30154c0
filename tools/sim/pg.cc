#include "pg.hh"

#include <cstdlib>

namespace provledger::sim {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void NoticeSink(void*, const char*) {}  // keep server NOTICEs off stderr

}  // namespace

Conn::Conn(const std::string& dsn, std::string label) : label_(std::move(label)) {
  conn_ = PQconnectdb(dsn.c_str());
  if (conn_ == nullptr) throw PgError(label_ + ": out of memory in PQconnectdb", "");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string msg = label_ + ": connect failed: " + Trim(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw PgError(msg, "08001");
  }
  PQsetNoticeProcessor(conn_, NoticeSink, nullptr);
}

Conn::~Conn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool Conn::Reset() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return false;
  PQsetNoticeProcessor(conn_, NoticeSink, nullptr);
  return true;
}

void Conn::Fail(const std::string& context, const PGresult* r) {
  std::string state;
  std::string msg;
  if (r != nullptr) {
    const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (s != nullptr) state = s;
    msg = Trim(PQresultErrorMessage(r));
  }
  if (msg.empty()) msg = Trim(PQerrorMessage(conn_));
  if (state.empty() && PQstatus(conn_) != CONNECTION_OK) state = "08006";
  throw PgError(label_ + ": " + context + ": " + msg, state);
}

void Conn::Exec(const std::string& sql) {
  Result r(PQexec(conn_, sql.c_str()));
  const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Fail("statement failed", r.get());
}

Result Conn::Query(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  Result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0));
  const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Fail("query failed", r.get());
  return r;
}

std::string Conn::QueryValue(const std::string& sql, const std::vector<std::string>& params) {
  Result r = Query(sql, params);
  if (PQntuples(r.get()) < 1 || PQnfields(r.get()) < 1 || PQgetisnull(r.get(), 0, 0)) return "";
  return PQgetvalue(r.get(), 0, 0);
}

CopyIn::CopyIn(Conn& conn, const std::string& copy_sql, std::size_t chunk_bytes)
    : conn_(conn), chunk_(chunk_bytes) {
  Result r(PQexec(conn_.conn_, copy_sql.c_str()));
  if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) {
    open_ = false;
    conn_.Fail("COPY failed to start", r.get());
  }
  buf_.reserve(chunk_ + (64 << 10));
}

CopyIn::~CopyIn() {
  if (!open_) return;
  // Abort quietly: we are unwinding from an error already being reported.
  PQputCopyEnd(conn_.conn_, "aborted by provledger_sim");
  while (PGresult* r = PQgetResult(conn_.conn_)) PQclear(r);
}

void CopyIn::Flush() {
  if (buf_.empty()) return;
  if (PQputCopyData(conn_.conn_, buf_.data(), static_cast<int>(buf_.size())) != 1) {
    open_ = false;
    conn_.Fail("COPY data", nullptr);
  }
  buf_.clear();
}

std::uint64_t CopyIn::Finish() {
  Flush();
  open_ = false;
  if (PQputCopyEnd(conn_.conn_, nullptr) != 1) conn_.Fail("COPY end", nullptr);
  std::uint64_t n = 0;
  std::string error_state;
  Result failed;
  while (PGresult* raw = PQgetResult(conn_.conn_)) {
    Result r(raw);
    if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) {
      n = std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
    } else if (!failed) {
      failed = std::move(r);
    }
  }
  if (failed) conn_.Fail("COPY", failed.get());
  return n;
}

}  // namespace provledger::sim
