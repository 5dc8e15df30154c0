#include "pq/result.hh"

#include <libpq-fe.h>

#include <charconv>
#include <string>

namespace provledger::pq {

void Result::Deleter::operator()(pg_result* r) const { PQclear(r); }

int Result::rows() const { return res_ ? PQntuples(res_.get()) : 0; }
int Result::cols() const { return res_ ? PQnfields(res_.get()) : 0; }

void Result::Check(int row, int col) const {
  if (row < 0 || row >= rows() || col < 0 || col >= cols()) {
    throw PqError(ErrorKind::kQuery, "",
                  "result has no row " + std::to_string(row) + " column " + std::to_string(col));
  }
}

bool Result::is_null(int row, int col) const {
  Check(row, col);
  return PQgetisnull(res_.get(), row, col) != 0;
}

std::string_view Result::text(int row, int col) const {
  Check(row, col);
  return std::string_view(PQgetvalue(res_.get(), row, col),
                          static_cast<std::size_t>(PQgetlength(res_.get(), row, col)));
}

bool Result::is_null_unchecked(int row, int col) const noexcept {
  return PQgetisnull(res_.get(), row, col) != 0;
}

std::string_view Result::text_unchecked(int row, int col) const noexcept {
  return std::string_view(PQgetvalue(res_.get(), row, col),
                          static_cast<std::size_t>(PQgetlength(res_.get(), row, col)));
}

std::optional<std::int64_t> Result::opt_int64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  std::string_view s = text(row, col);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    const char* name = PQfname(res_.get(), col);
    throw PqError(ErrorKind::kQuery, "",
                  std::string("column ") + (name ? name : "?") + " is not a bigint");
  }
  return v;
}

std::int64_t Result::int64(int row, int col) const {
  auto v = opt_int64(row, col);
  if (!v) {
    const char* name = PQfname(res_.get(), col);
    throw PqError(ErrorKind::kQuery, "", std::string("column ") + (name ? name : "?") + " is NULL");
  }
  return *v;
}

void Result::ExpectColumns(int n, std::string_view what) const {
  if (cols() != n) {
    throw PqError(ErrorKind::kQuery, "",
                  std::string(what) + " query returned " + std::to_string(cols()) +
                      " columns, expected " + std::to_string(n));
  }
}

}  // namespace provledger::pq
