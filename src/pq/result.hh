// Result: RAII owner of a PGresult (text format). Getters take 0-based row
// and column indexes, which must be in range (checked: out of range throws
// PqError kQuery; the *_unchecked getters do not check). Text views stay valid as long as the Result lives.
// Not thread-safe; movable, not copyable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "pq/error.hh"

struct pg_result;

namespace provledger::pq {

class Result {
 public:
  Result() = default;
  explicit Result(pg_result* res) : res_(res) {}

  int rows() const;
  int cols() const;
  bool is_null(int row, int col) const;
  // The column's text ("" for NULL); not necessarily valid UTF-8.
  std::string_view text(int row, int col) const;
  // A bigint column; throws PqError kQuery when NULL or not an integer.
  std::int64_t int64(int row, int col) const;
  // Unchecked variants for hot loops that validated the shape once per
  // result (rows() and ExpectColumns): row in [0, rows()), col in [0, cols())
  // is the caller's precondition (out of range: undefined behaviour).
  bool is_null_unchecked(int row, int col) const noexcept;
  std::string_view text_unchecked(int row, int col) const noexcept;
  // Like int64() but NULL -> nullopt.
  std::optional<std::int64_t> opt_int64(int row, int col) const;
  // Throws PqError kQuery unless the result has exactly `n` columns;
  // `what` names the query in the message.
  void ExpectColumns(int n, std::string_view what) const;

  pg_result* get() const { return res_.get(); }

 private:
  void Check(int row, int col) const;
  struct Deleter {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, Deleter> res_;
};

}  // namespace provledger::pq
