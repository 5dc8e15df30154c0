// PqError: what the libpq wrapper throws. Carries the SQLSTATE (may be empty,
// e.g. for connection failures detected by libpq itself), libpq's message
// (never a password: see connection.hh) and the poll error class:
//   kConnect  connection failed or lost (incl. SQLSTATE class 08 and
//             57P01..57P03 admin/crash shutdown, cannot connect now);
//   kTimeout  57014 query_canceled (statement_timeout) and 55P03
//             lock_not_available (lock_timeout);
//   kQuery    everything else (syntax, permissions, wrong result shape, ...).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "core/rows.hh"

namespace provledger::pq {

class PqError : public std::runtime_error {
 public:
  PqError(ErrorKind kind, std::string sqlstate, const std::string& message)
      : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)) {}
  ErrorKind kind() const noexcept { return kind_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  ErrorKind kind_;
  std::string sqlstate_;
};

// The class of a server error by SQLSTATE, `connection_bad` = libpq reports
// the connection as unusable after the error.
ErrorKind ClassifySqlState(std::string_view sqlstate, bool connection_bad);

}  // namespace provledger::pq
