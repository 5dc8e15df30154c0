#include "ramp/flags_sql.hh"

#include <exception>
#include <memory>

#include "pq/connection.hh"
#include "pq/error.hh"
#include "ramp/decide.hh"

namespace provledger::ramp {

namespace {

bool IdentStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IdentChar(char c) { return IdentStart(c) || (c >= '0' && c <= '9'); }

// "flags.ramps" -> "\"flags\".\"ramps\"" (CheckTableName passed).
std::string Quote(const std::string& table) {
  std::string out = "\"";
  for (char c : table) {
    if (c == '.') {
      out += "\".\"";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A clear sentence for the usual failures, by SQLSTATE.
std::string Explain(const pq::PqError& e, const std::string& table, const std::string& dsn) {
  const std::string& s = e.sqlstate();
  const std::string what = e.what();
  if (s == "42P01") return "flags table \"" + table + "\" does not exist (see docs/ramp.md for its shape): " + what;
  if (s == "42703") {
    return "flags table \"" + table + "\" lacks a column (needs tenant, feature, pct): " + what;
  }
  if (s == "42501") return "no permission to write flags table \"" + table + "\": " + what;
  if (s == "25006") return "flags database is read-only: " + what;
  if (e.kind() == ErrorKind::kConnect) return "cannot connect to the flags database (dsn " + dsn + "): " + what;
  return "flags table \"" + table + "\": " + what + (s.empty() ? "" : " (SQLSTATE " + s + ")");
}

}  // namespace

std::string CheckTableName(const std::string& table) {
  if (table.empty()) return "must not be empty";
  std::size_t part_start = 0;
  int dots = 0;
  for (std::size_t i = 0; i <= table.size(); ++i) {
    if (i == table.size() || table[i] == '.') {
      if (i == part_start) return "an empty name part in \"" + table + "\"";
      if (i < table.size() && ++dots > 1) return "at most one '.' (schema.table), got \"" + table + "\"";
      part_start = i + 1;
      continue;
    }
    const bool ok = i == part_start ? IdentStart(table[i]) : IdentChar(table[i]);
    if (!ok) return "must be an identifier ([A-Za-z_][A-Za-z0-9_]*, optionally schema.table), got \"" + table + "\"";
  }
  return "";
}

TableWrite WriteFlagsTable(const config::Connection& conn, const std::string& table,
                           const std::vector<FlagRow>& rows) {
  TableWrite w;
  const std::string dsn = pq::RedactDsn(conn.dsn);
  if (std::string why = CheckTableName(table); !why.empty()) {
    w.error = "flags table name " + why;
    return w;
  }
  const std::string t = Quote(table);
  std::unique_ptr<pq::Connection> c;
  try {
    pq::ConnectOptions o = pq::OptionsFromConfig(conn);
    o.read_only = false;
    o.prepare = false;   // a handful of statements, once
    o.application_name = "provledger_ramp";
    c = std::make_unique<pq::Connection>(o);
    c->Exec("BEGIN");
    for (const FlagRow& r : rows) {
      const std::string pct = FormatPct(r.pct);
      pq::Result u = c->Exec("UPDATE " + t + " SET pct = $3::double precision WHERE tenant = $1 AND feature = $2" +
                                 " AND pct IS DISTINCT FROM $3::double precision RETURNING 1",
                             {r.tenant, r.feature, pct});
      if (u.rows() > 0) {
        w.rows_written += u.rows();
        continue;
      }
      pq::Result e = c->Exec("SELECT 1 FROM " + t + " WHERE tenant = $1 AND feature = $2", {r.tenant, r.feature});
      if (e.rows() > 0) continue;   // already at that percent
      c->Exec("INSERT INTO " + t + " (tenant, feature, pct) VALUES ($1, $2, $3::double precision)",
              {r.tenant, r.feature, pct});
      ++w.rows_written;
    }
    c->Exec("COMMIT");
    w.ok = true;
  } catch (const pq::PqError& e) {
    // Dropping the connection aborts the open transaction: nothing was written.
    w.error = Explain(e, table, dsn);
    w.rows_written = 0;
  } catch (const std::exception& e) {
    w.error = std::string("flags table \"") + table + "\": " + e.what();
    w.rows_written = 0;
  }
  return w;
}

}  // namespace provledger::ramp
