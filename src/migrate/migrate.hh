// provledger_migrate's pure parts: command line, v1 row conversion,
// throttle, progress lines, table names. No I/O (runner.hh does the
// database work). docs/receipts.md and README "Migrating receipts to v2".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "receipt/receipt.hh"

namespace provledger::migrate {

enum class Command { kPlan, kApply, kVerify, kRollback };
enum class ProgressMode { kAuto, kBar, kJson };

struct Options {
  Command command = Command::kPlan;
  std::string config_path;                 // --config FILE (with --ledger NAME)
  std::string ledger;                      // --ledger NAME: a ledger of the config
  std::string dsn;                         // --dsn DSN instead (password: PGPASSWORD, ~/.pgpass)
  std::string table = "receipts";          // --table
  std::string archive_table = "receipts_v1_archive";   // --archive-table
  std::int64_t batch_size = 2000;          // --batch-size: rows per transaction
  std::int64_t rows_per_second = 0;        // --rows-per-second: 0 = no throttle
  std::int64_t lock_timeout_ms = 2000;     // --lock-timeout
  std::int64_t statement_timeout_ms = 30000;   // --statement-timeout
  std::int64_t min_age_ms = 10 * 60 * 1000;    // --min-age: younger rows are left for a later run
  std::int64_t retries = 5;                // --retries: per batch, on lock/statement timeout or serialization failure
  std::int64_t jobs = 1;                   // --jobs: apply's connections, each on its own keyset range
  bool synchronous_commit = true;          // --synchronous-commit on|off (apply, rollback)
  ProgressMode progress = ProgressMode::kAuto; // --progress auto|bar|json
};

// Parses the arguments after the program name. Error: the message (the
// caller prints it with Usage()).
std::variant<Options, std::string> ParseArgs(const std::vector<std::string>& args);
std::string Usage();

// A v1 row as the migration reads it.
struct V1Row {
  std::string receipt_id, tenant_id, op_id, region, policy_version, kid, body, content_hash;
  std::int64_t created_us = 0;
};

struct Converted {
  std::string body;   // canonical v2 body
  std::string hash;   // its content hash (SHA-256 of body)
};

// receipt::ConvertV1 of a row, with its new content hash.
receipt::Result<Converted> ConvertRow(const V1Row& row);

// Microseconds to wait so that `done` rows after `elapsed_us` stay at or
// below `rows_per_second` (0 = no throttle -> 0).
std::int64_t ThrottleSleepUs(std::int64_t done, std::int64_t rows_per_second, std::int64_t elapsed_us);

struct Progress {
  std::string phase;          // "plan", "apply", "verify", "rollback"
  std::int64_t scanned = 0;   // rows looked at
  std::int64_t converted = 0; // rows written (apply: converted; rollback: restored)
  std::int64_t skipped = 0;   // rows left as they are (cannot convert, too young, changed)
  std::int64_t total = 0;     // rows expected (0 = unknown)
  std::int64_t elapsed_us = 0;
};

// One terminal line (starts with '\r', no newline), `width` bar cells:
// "\r[#####.....]  50% 500/1000 rows  converted 490  skipped 10  2500 rows/s  ETA 0:00:01"
std::string ProgressBar(const Progress& p, int width = 30);
// One JSON line without newline:
// {"event":"progress","phase":"apply","scanned":..,"converted":..,"skipped":..,"total":..,
//  "elapsed_s":..,"rows_per_s":..}
std::string ProgressJson(const Progress& p);

// A table name as SQL: "name" or "schema"."name", each part
// [A-Za-z_][A-Za-z0-9_]* (at most 63 bytes); nullopt otherwise.
std::optional<std::string> QuoteTable(std::string_view name);

}  // namespace provledger::migrate
