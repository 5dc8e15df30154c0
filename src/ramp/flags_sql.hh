// The flags SQL table: when the exporter reads flag_ramp_pct from SQL
// (config flags: dsn + query), the controller writes its changes there too.
// Table shape (docs/ramp.md, "Outputs"):
//   tenant text NOT NULL, feature text NOT NULL, pct double precision NOT NULL,
//   one row per (tenant, feature) (a primary key or unique index on both is
//   recommended, not required).
// One transaction per run; only the rows whose pct differs from the wanted one
// are written (UPDATE, or INSERT when the pair has no row); nothing else is
// touched. Any error rolls the whole transaction back: the table is unchanged.
#pragma once

#include <string>
#include <vector>

#include "config/config.hh"
#include "core/rows.hh"

namespace provledger::ramp {

// A table name as the plan accepts it: an identifier, optionally qualified by
// a schema ("ramps", "flags.ramps"); each part [A-Za-z_][A-Za-z0-9_]*.
// Empty when valid, else why not.
std::string CheckTableName(const std::string& table);

struct TableWrite {
  bool ok = false;
  int rows_written = 0;   // UPDATEd + INSERTed rows (only when ok)
  std::string error;      // when !ok: one line, never a password (DSN redacted)
};

// Writes `rows` (the pairs the controller decided on, at their new percent)
// into `table` through `conn` (the exporter config's flags connection).
TableWrite WriteFlagsTable(const config::Connection& conn, const std::string& table,
                           const std::vector<FlagRow>& rows);

}  // namespace provledger::ramp
