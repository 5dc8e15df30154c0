#include "pq/connection.hh"

#include "config/dsn.hh"

#include <libpq-fe.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace provledger::pq {
namespace {

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string ErrorText(const char* msg) {
  std::string s = msg ? msg : "";
  s = TrimNewlines(std::move(s));
  return s.empty() ? std::string("unknown libpq error") : s;
}

}  // namespace

ErrorKind ClassifySqlState(std::string_view sqlstate, bool connection_bad) {
  if (connection_bad) return ErrorKind::kConnect;
  if (sqlstate == "57014" || sqlstate == "55P03") return ErrorKind::kTimeout;
  if (sqlstate.size() == 5 && sqlstate.substr(0, 2) == "08") return ErrorKind::kConnect;
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") return ErrorKind::kConnect;
  return ErrorKind::kQuery;
}

std::optional<std::string> ReadPassword(const config::Connection& c) {
  if (!c.password_file.empty()) {
    std::ifstream in(c.password_file, std::ios::binary);
    if (!in) {
      throw PqError(ErrorKind::kConnect, "",
                    "cannot read password_file " + c.password_file + ": " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
      throw PqError(ErrorKind::kConnect, "", "cannot read password_file " + c.password_file);
    }
    return TrimNewlines(ss.str());
  }
  if (!c.password_env.empty()) {
    const char* v = std::getenv(c.password_env.c_str());
    if (v == nullptr) {
      throw PqError(ErrorKind::kConnect, "",
                    "environment variable " + c.password_env + " (password_env) is not set");
    }
    return std::string(v);
  }
  return std::nullopt;
}

ConnectOptions OptionsFromConfig(const config::Connection& c) {
  ConnectOptions o;
  o.dsn = c.dsn;
  o.password = ReadPassword(c);
  o.connect_timeout_ms = c.connect_timeout_ms;
  o.statement_timeout_ms = c.statement_timeout_ms;
  o.prepare = c.prepared_statements;
  return o;
}

std::string RedactDsn(std::string_view dsn) { return config::RedactDsn(dsn); }

Connection::Connection(const ConnectOptions& o)
    : prepare_(o.prepare), secrets_(config::DsnSecrets(o.dsn)), redacted_dsn_(config::RedactDsn(o.dsn)) {
  // Everything that may be a password, so no message can carry one.
  if (o.password && !o.password->empty()) secrets_.push_back(*o.password);
  std::string why;
  auto parsed = config::ParseDsn(o.dsn, &why);
  if (!parsed) throw PqError(ErrorKind::kConnect, "", Scrub("invalid DSN: " + why));
  std::vector<std::pair<std::string, std::string>> kv;
  for (auto& opt : *parsed) kv.emplace_back(std::move(opt.keyword), std::move(opt.value));

  auto find = [&](std::string_view key) -> std::string* {
    for (auto& [k, v] : kv) {
      if (k == key) return &v;
    }
    return nullptr;
  };
  auto set = [&](const std::string& key, std::string value) {
    if (std::string* v = find(key)) {
      *v = std::move(value);
    } else {
      kv.emplace_back(key, std::move(value));
    }
  };
  auto set_default = [&](const std::string& key, std::string value) {
    if (find(key) == nullptr) kv.emplace_back(key, std::move(value));
  };

  if (o.password) set("password", *o.password);
  if (o.connect_timeout_ms > 0) {
    set("connect_timeout", std::to_string((o.connect_timeout_ms + 999) / 1000));
  }
  const std::int64_t stmt = o.statement_timeout_ms < 0 ? 0 : o.statement_timeout_ms;
  const std::int64_t lock = o.lock_timeout_ms < 0 ? stmt : o.lock_timeout_ms;
  std::string options;
  if (std::string* v = find("options")) options = *v + " ";
  options += "-c statement_timeout=" + std::to_string(stmt) +
             " -c lock_timeout=" + std::to_string(lock);
  if (o.read_only) options += " -c default_transaction_read_only=on";
  set("options", options);
  if (!o.application_name.empty()) set_default("application_name", o.application_name);
  const bool dsn_sets_encoding = find("client_encoding") != nullptr;
  set_default("client_encoding", "UTF8");
  set_default("keepalives", "1");
  set_default("keepalives_idle", "10");
  set_default("keepalives_interval", "5");
  set_default("keepalives_count", "3");

  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [k, v] : kv) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn_ == nullptr) throw PqError(ErrorKind::kConnect, "", "libpq: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = Scrub(ErrorText(PQerrorMessage(conn_)));
    PQfinish(conn_);
    conn_ = nullptr;
    throw PqError(ErrorKind::kConnect, "", msg);
  }
  // A SQL_ASCII server stores unvalidated bytes; asking for UTF8 would make
  // it refuse a whole result over one bad row. Take the bytes as they are
  // and let the row decoder reject the bad rows one by one.
  const char* server_encoding = PQparameterStatus(conn_, "server_encoding");
  if (!dsn_sets_encoding && server_encoding && std::strcmp(server_encoding, "SQL_ASCII") == 0) {
    PQsetClientEncoding(conn_, "SQL_ASCII");
  }
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Connection::Connection(Connection&& o) noexcept
    : conn_(std::exchange(o.conn_, nullptr)),
      prepared_(std::move(o.prepared_)),
      next_statement_(o.next_statement_),
      in_flight_(std::exchange(o.in_flight_, false)),
      flight_sql_(std::move(o.flight_sql_)),
      flight_params_(std::move(o.flight_params_)),
      secrets_(std::move(o.secrets_)),
      redacted_dsn_(std::move(o.redacted_dsn_)) {}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(o.conn_, nullptr);
    prepared_ = std::move(o.prepared_);
    next_statement_ = o.next_statement_;
    in_flight_ = std::exchange(o.in_flight_, false);
    flight_sql_ = std::move(o.flight_sql_);
    flight_params_ = std::move(o.flight_params_);
    secrets_ = std::move(o.secrets_);
    redacted_dsn_ = std::move(o.redacted_dsn_);
  }
  return *this;
}

bool Connection::ok() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

CancelHandle Connection::cancel_handle() const {
  return CancelHandle(conn_ != nullptr ? PQgetCancel(conn_) : nullptr);
}

CancelHandle::~CancelHandle() {
  if (c_ != nullptr) PQfreeCancel(c_);
}

CancelHandle::CancelHandle(CancelHandle&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}

CancelHandle& CancelHandle::operator=(CancelHandle&& o) noexcept {
  if (this != &o) {
    if (c_ != nullptr) PQfreeCancel(c_);
    c_ = std::exchange(o.c_, nullptr);
  }
  return *this;
}

bool CancelHandle::Cancel(std::string* error) const {
  if (c_ == nullptr) {
    if (error) *error = "no connection";
    return false;
  }
  char buf[256] = {0};
  if (PQcancel(c_, buf, static_cast<int>(sizeof buf)) == 1) return true;
  if (error) *error = ErrorText(buf);
  return false;
}

int Connection::server_version() const { return conn_ ? PQserverVersion(conn_) : 0; }

std::string Connection::Scrub(std::string msg) const {
  for (const std::string& secret : secrets_) {
    if (secret.empty()) continue;
    std::size_t pos = 0;
    while ((pos = msg.find(secret, pos)) != std::string::npos) {
      msg.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return msg;
}

namespace {

// Parameter values for libpq: NULL for an unset Param. Views into `params`.
std::vector<const char*> ParamValues(const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p.value ? p.value->c_str() : nullptr);
  return values;
}

}  // namespace

void Connection::CheckIdle() const {
  if (!ok()) throw PqError(ErrorKind::kConnect, "", "connection is closed");
  if (in_flight_) throw PqError(ErrorKind::kQuery, "", "another statement is in flight");
}

void Connection::ThrowNoResult() const {
  // libpq returned no result (out of memory, or the connection broke).
  const bool bad = PQstatus(conn_) != CONNECTION_OK;
  throw PqError(bad ? ErrorKind::kConnect : ErrorKind::kQuery, "", Scrub(ErrorText(PQerrorMessage(conn_))));
}

bool Connection::StatementLost(const PGresult* res) const {
  // The server forgot the prepared statement (DISCARD ALL: 26000) or a schema
  // change made its cached plan unusable (0A000): prepare again and re-run.
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const std::string_view sqlstate = state ? state : "";
  return (sqlstate == "26000" || sqlstate == "0A000") && PQstatus(conn_) == CONNECTION_OK;
}

Result Connection::Exec(std::string_view sql, const std::vector<Param>& params) {
  CheckIdle();
  const std::vector<const char*> values = ParamValues(params);
  const std::string text(sql);
  PGresult* res = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
  if (res == nullptr) ThrowNoResult();
  const ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return Result(res);
  ThrowFromResult(res, sql);
}

Connection::Description Connection::Describe(std::string_view sql) {
  CheckIdle();
  const std::string text(sql);
  PGresult* res = PQprepare(conn_, "", text.c_str(), 0, nullptr);
  if (res == nullptr) ThrowNoResult();
  if (PQresultStatus(res) != PGRES_COMMAND_OK) ThrowFromResult(res, sql);
  PQclear(res);
  res = PQdescribePrepared(conn_, "");
  if (res == nullptr) ThrowNoResult();
  if (PQresultStatus(res) != PGRES_COMMAND_OK) ThrowFromResult(res, sql);
  Description d;
  d.params = PQnparams(res);
  for (int i = 0; i < PQnfields(res); ++i) d.columns.push_back({PQfname(res, i), PQftype(res, i)});
  PQclear(res);
  return d;
}

const std::string& Connection::Prepare(const std::string& sql) {
  std::string name = "provledger_" + std::to_string(++next_statement_);
  PGresult* res = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
  if (res == nullptr) ThrowNoResult();
  if (PQresultStatus(res) != PGRES_COMMAND_OK) ThrowFromResult(res, sql);
  PQclear(res);
  auto [it, inserted] = prepared_.insert_or_assign(sql, std::move(name));
  return it->second;
}

Result Connection::ExecPrepared(std::string_view sql, const std::vector<Param>& params) {
  if (!prepare_) return Exec(sql, params);
  CheckIdle();
  const std::vector<const char*> values = ParamValues(params);
  const std::string text(sql);
  auto it = prepared_.find(text);
  const std::string* name = it != prepared_.end() ? &it->second : &Prepare(text);
  for (int attempt = 0;; ++attempt) {
    PGresult* res = PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()), values.data(),
                                   nullptr, nullptr, 0);
    if (res == nullptr) ThrowNoResult();
    const ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return Result(res);
    if (attempt == 0 && StatementLost(res)) {
      PQclear(res);
      name = &Prepare(text);   // the old name, if the server still has it, stays unused
      continue;
    }
    ThrowFromResult(res, sql);
  }
}

void Connection::SendPrepared(std::string_view sql, const std::vector<Param>& params) {
  CheckIdle();
  std::string text(sql);
  const std::vector<const char*> values = ParamValues(params);
  int sent;
  if (prepare_) {
    auto it = prepared_.find(text);
    const std::string& name = it != prepared_.end() ? it->second : Prepare(text);
    sent = PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(params.size()), values.data(), nullptr,
                               nullptr, 0);
  } else {
    sent = PQsendQueryParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                             nullptr, nullptr, 0);
  }
  if (sent != 1) ThrowNoResult();
  in_flight_ = true;
  flight_sql_ = std::move(text);
  flight_params_ = params;
}

void Connection::Consume() noexcept {
  // PQisBusy parses what PQconsumeInput read into the pending PGresult, so
  // libpq's input buffer (kept at its largest size for the connection's
  // life) does not grow to hold a whole page of raw protocol data.
  if (in_flight_ && conn_ != nullptr && PQconsumeInput(conn_) == 1) PQisBusy(conn_);
}

Result Connection::GetResult() {
  if (!in_flight_) throw PqError(ErrorKind::kQuery, "", "no statement in flight");
  // Every result of the statement, then NULL: only then is the connection free.
  PGresult* first = PQgetResult(conn_);
  for (PGresult* more = first ? PQgetResult(conn_) : nullptr; more != nullptr; more = PQgetResult(conn_)) {
    PQclear(more);
  }
  in_flight_ = false;
  if (first == nullptr) ThrowNoResult();
  const ExecStatusType st = PQresultStatus(first);
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return Result(first);
  if (prepare_ && StatementLost(first)) {
    PQclear(first);
    prepared_.erase(flight_sql_);   // prepared again by ExecPrepared, which retries no further
    return ExecPrepared(flight_sql_, flight_params_);
  }
  ThrowFromResult(first, flight_sql_);
}

void Connection::Abandon() noexcept {
  if (!in_flight_) return;
  in_flight_ = false;
  if (conn_ == nullptr) return;
  if (PGcancel* cancel = PQgetCancel(conn_)) {
    char buf[256];
    PQcancel(cancel, buf, static_cast<int>(sizeof buf));
    PQfreeCancel(cancel);
  }
  while (PGresult* r = PQgetResult(conn_)) PQclear(r);
}

void Connection::Drop() noexcept {
  in_flight_ = false;
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

void Connection::ThrowFromResult(PGresult* res, std::string_view sql) {
  const ExecStatusType st = PQresultStatus(res);
  Result owned(res);   // frees res on the way out
  if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR || st == PGRES_BAD_RESPONSE) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    std::string sqlstate = state ? state : "";
    const bool bad = PQstatus(conn_) != CONNECTION_OK;
    std::string msg = ErrorText(PQresultErrorMessage(res));
    if (msg == "unknown libpq error") msg = ErrorText(PQerrorMessage(conn_));
    const ErrorKind kind = ClassifySqlState(sqlstate, bad);   // before sqlstate is moved
    throw PqError(kind, std::move(sqlstate), Scrub(std::move(msg)));
  }
  // COPY, empty query, pipelines: not something a source query may do. A
  // COPY leaves the connection in a state we cannot use, so drop it.
  if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  std::string what(sql.substr(0, 60));
  throw PqError(ErrorKind::kQuery, "",
                std::string("unexpected result status ") + PQresStatus(st) + " for \"" +
                    Scrub(what) + (sql.size() > 60 ? "...\"" : "\""));
}

}  // namespace provledger::pq
