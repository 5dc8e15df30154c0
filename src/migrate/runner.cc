#include "migrate/runner.hh"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "config/load.hh"
#include "core/utf8.hh"
#include "pq/connection.hh"
#include "pq/error.hh"

namespace provledger::migrate {
namespace {

// A user-facing failure: message and exit code.
struct Failure {
  int code;
  std::string msg;
};

std::string Json(std::string_view s) {
  std::string out;
  if (IsValidUtf8(s)) {
    receipt::AppendJsonString(s, &out);
  } else {
    receipt::AppendJsonString(Printable(s, 256), &out);
  }
  return out;
}

class Migration {
 public:
  Migration(const Options& o, Io& io) : o_(o), io_(io) {
    table_ = *QuoteTable(o.table);
    archive_ = *QuoteTable(o.archive_table);
    json_ = o.progress == ProgressMode::kJson || (o.progress == ProgressMode::kAuto && !io.terminal);
    bar_ = o.progress == ProgressMode::kBar || (o.progress == ProgressMode::kAuto && io.terminal);
  }

  int Run() {
    try {
      Connect();
      CheckTable();
      switch (o_.command) {
        case Command::kPlan: return Plan();
        case Command::kApply: return Apply();
        case Command::kVerify: return Verify();
        case Command::kRollback: return Rollback();
      }
    } catch (const Failure& f) {
      EndBar();
      io_.err << "provledger_migrate: " << f.msg << "\n";
      return f.code;
    } catch (const pq::PqError& e) {
      EndBar();
      io_.err << "provledger_migrate: database error" << (e.sqlstate().empty() ? "" : " " + e.sqlstate())
              << ": " << e.what() << "\n";
      return kExitDatabase;
    }
    return kExitOk;
  }

 private:
  // ---- setup and checks ----

  void Connect() {
    pq::ConnectOptions c;
    if (!o_.config_path.empty()) {
      config::Config cfg;
      try {
        cfg = config::LoadConfig(o_.config_path);
      } catch (const config::ConfigError& e) {
        throw Failure{kExitUsage, std::string(e.what())};
      }
      const config::Ledger* found = nullptr;
      std::string names;
      for (const auto& l : cfg.ledgers) {
        if (l.name == o_.ledger) found = &l;
        names += (names.empty() ? "" : ", ") + l.name;
      }
      if (found == nullptr) {
        throw Failure{kExitUsage, "no ledger \"" + o_.ledger + "\" in " + o_.config_path +
                                      (names.empty() ? " (it has no ledgers)" : " (it has: " + names + ")")};
      }
      try {
        c = pq::OptionsFromConfig(found->conn);
      } catch (const pq::PqError& e) {
        throw Failure{kExitUsage, "ledger \"" + o_.ledger + "\": " + e.what()};
      }
      where_ = "ledger \"" + o_.ledger + "\"";
    } else {
      c.dsn = o_.dsn;
      where_ = pq::RedactDsn(o_.dsn);
    }
    c.application_name = "provledger_migrate";
    c.read_only = o_.command == Command::kPlan || o_.command == Command::kVerify;
    c.statement_timeout_ms = o_.statement_timeout_ms;
    c.lock_timeout_ms = o_.lock_timeout_ms;
    c.prepare = false;
    try {
      conn_.emplace(c);
    connect_ = c;
    } catch (const pq::PqError& e) {
      throw Failure{kExitDatabase, "cannot connect to " + where_ + ": " + e.what()};
    }
    db().Exec("SET client_min_messages = warning");   // no NOTICEs ("already exists, skipping") on stderr
  }

  pq::Connection& db() { return *conn_; }

  void CheckTable() {
    auto r = db().Exec("SELECT to_regclass($1)::text, current_database(), current_user", {table_});
    database_ = std::string(r.text(0, 1));
    user_ = std::string(r.text(0, 2));
    if (r.is_null(0, 0)) {
      throw Failure{kExitDatabase, "table " + o_.table + " does not exist in database \"" + database_ + "\" (" +
                                       where_ + "; --table names it)"};
    }
    const bool write = o_.command == Command::kApply || o_.command == Command::kRollback;
    r = db().Exec("SELECT has_table_privilege($1, 'SELECT'), has_table_privilege($1, 'UPDATE')", {table_});
    if (r.text(0, 0) != "t" || (write && r.text(0, 1) != "t")) {
      throw Failure{kExitDatabase, "role \"" + user_ + "\" may not " + (write ? "SELECT and UPDATE" : "SELECT") +
                                       " table " + o_.table + " in database \"" + database_ + "\" (GRANT " +
                                       (write ? "SELECT, UPDATE" : "SELECT") + " ON " + o_.table + " TO " + user_ +
                                       ")"};
    }
    r = db().Exec(
        "SELECT string_agg(c, ', ') FROM unnest(ARRAY['receipt_id','tenant_id','op_id','region','policy_version',"
        "'kid','version','body','content_hash','created_at']) c WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a "
        "WHERE a.attrelid = $1::regclass AND a.attname = c AND NOT a.attisdropped)",
        {table_});
    if (!r.is_null(0, 0)) {
      throw Failure{kExitDatabase, "table " + o_.table + " lacks column(s) " + std::string(r.text(0, 0)) +
                                       " (config/schema/ledger.sql is the expected layout)"};
    }
    r = db().Exec("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass "
                  "AND attname = 'body'",
                  {table_});
    body_type_ = std::string(r.text(0, 0));
    if (body_type_ != "jsonb" && body_type_ != "json" && body_type_ != "text") {
      throw Failure{kExitDatabase, "column body of " + o_.table + " is " + body_type_ + "; jsonb, json or text expected"};
    }
    r = db().Exec("SELECT to_regclass($1) IS NOT NULL", {archive_});
    archive_exists_ = r.text(0, 0) == "t";
  }

  void Lock() {
    const std::string key = "provledger_migrate " + o_.table;
    auto r = db().Exec("SELECT pg_try_advisory_lock(hashtext($1))", {key});
    if (r.text(0, 0) == "t") return;
    r = db().Exec("SELECT string_agg(l.pid::text || coalesce(' (' || a.application_name || ')', ''), ', ') "
                  "FROM pg_locks l LEFT JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' "
                  "AND l.granted AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = "
                  "hashtext($1)::bigint",
                  {key});
    throw Failure{kExitDatabase, "another provledger_migrate apply or rollback is running on " + o_.table +
                                     " in database \"" + database_ + "\" (advisory lock held by backend " +
                                     (r.is_null(0, 0) ? std::string("?") : std::string(r.text(0, 0))) +
                                     "); wait for it or stop it"};
  }

  void CreateArchive() {
    const std::string sql =
        "CREATE TABLE IF NOT EXISTS " + archive_ +
        " (receipt_id text PRIMARY KEY, version smallint NOT NULL, body " + body_type_ +
        " NOT NULL, content_hash text NOT NULL, region text, policy_version text, kid text, "
        "new_content_hash text NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())";
    try {
      db().Exec(sql);
      db().Exec("CREATE TABLE IF NOT EXISTS provledger_migrate_state (table_name text PRIMARY KEY, "
                "cursor text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), range_end text)");
      // A state table of a version before --jobs lacks the end of a range
      // (range_end, NULL: the last row).
      if (db().Exec("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                    "'provledger_migrate_state'::regclass AND attname = 'range_end' AND NOT attisdropped)")
              .text(0, 0) != "t") {
        try {
          db().Exec("ALTER TABLE provledger_migrate_state ADD COLUMN IF NOT EXISTS range_end text");
        } catch (const pq::PqError& e) {
          if (e.sqlstate() != "42501") throw;
          throw Failure{kExitDatabase, "role \"" + user_ + "\" may not add column range_end to "
                                           "provledger_migrate_state (made by an earlier provledger_migrate; as its "
                                           "owner: ALTER TABLE provledger_migrate_state ADD COLUMN range_end text): " +
                                           e.what()};
        }
      }
    } catch (const pq::PqError& e) {
      if (e.sqlstate() == "42501") {
        throw Failure{kExitDatabase, "role \"" + user_ + "\" may not create the archive table " + o_.archive_table +
                                         " in database \"" + database_ + "\" (GRANT CREATE ON SCHEMA, or create it "
                                         "beforehand): " + e.what()};
      }
      throw;
    }
    archive_exists_ = true;
  }

  // ---- progress ----

  void Report(const Progress& p, bool final) {
    const std::int64_t now = io_.now_us();
    if (!final && now - last_report_us_ < (bar_ ? 200000 : 1000000)) return;
    last_report_us_ = now;
    if (bar_) {
      io_.err << ProgressBar(p) << std::flush;
      bar_shown_ = true;
    } else if (json_) {
      io_.out << ProgressJson(p) << "\n" << std::flush;
    }
  }
  void EndBar() {
    if (bar_shown_) io_.err << "\n";
    bar_shown_ = false;
  }

  std::string Pick(const std::string& json, const std::string& text) const { return json_ ? json : text; }
  // One result line: JSON (non-terminal) or text.
  void Line(const std::string& json, const std::string& text) {
    if (json_) {
      io_.out << json << "\n";
    } else {
      io_.out << text << "\n";
    }
  }

  std::int64_t Count(const std::string& where) {
    return db().Exec("SELECT count(*) FROM " + table_ + " WHERE " + where).int64(0, 0);
  }

  // ---- v1 rows ----

  // v1 rows in (created_at, receipt_id) keyset order: the ledger appends in
  // created_at order, so this walks receipts_created_idx and the heap
  // sequentially (receipt_id order visits a random heap page per row).
  // $1/$2: cursor (created_at as µs since the epoch, receipt_id), $3: limit,
  // $4: the --min-age cutoff (µs since the epoch). `bounded`: only rows
  // older than the cutoff (apply); otherwise column 10 says whether a row is.
  std::string SelectV1(bool lock, bool bounded, bool first) const {
    return "SELECT receipt_id, tenant_id, op_id, coalesce(region, ''), coalesce(policy_version, ''), "
           "coalesce(kid, ''), body::text, content_hash, (extract(epoch FROM created_at) * 1000000)::bigint, "
           "created_at < " + Epoch("$4") + ", ctid::text FROM " + table_ + " WHERE version = 1" +
           (first ? " AND $1::bigint IS NOT NULL AND $2::text IS NOT NULL"
                  : " AND (created_at, receipt_id) > (" + Epoch("$1") + ", $2::text)") +
           (bounded ? " AND created_at < " + Epoch("$4") : " AND $4::bigint IS NOT NULL") +
           " ORDER BY created_at, receipt_id LIMIT $3" + (lock ? " FOR UPDATE" : "");
  }
  static std::string Epoch(const std::string& param) {
    return "('epoch'::timestamptz + " + param + "::bigint * interval '1 microsecond')";
  }
  // now() - --min-age, µs since the epoch: fixed for the whole run, so a run
  // ends while the ledger keeps writing.
  std::int64_t Cutoff() {
    return db().Exec("SELECT (extract(epoch FROM now()) * 1000000)::bigint - $1::bigint * 1000",
                     {o_.min_age_ms}).int64(0, 0);
  }
  // The keyset cursor as stored in provledger_migrate_state: "<µs> <receipt_id>".
  static std::string CursorText(std::int64_t us, std::string_view id) {
    return std::to_string(us) + " " + std::string(id);
  }
  // nullopt: not this format (a cursor of an older provledger_migrate:
  // start from the beginning; apply is idempotent).
  static std::optional<std::pair<std::int64_t, std::string>> ParseCursor(std::string_view s) {
    const auto sp = s.find(' ');
    if (sp == std::string_view::npos || sp == 0) return std::nullopt;
    std::int64_t us = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + sp, us);
    if (ec != std::errc() || p != s.data() + sp) return std::nullopt;
    return std::make_pair(us, std::string(s.substr(sp + 1)));
  }
  // One element of a PostgreSQL array literal: "..." with \ and " escaped.
  static void AppendArrayElem(std::string* out, std::string_view s) {
    if (out->size() > 1) out->push_back(',');
    out->push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') out->push_back('\\');
      out->push_back(c);
    }
    out->push_back('"');
  }

  static V1Row ReadRow(const pq::Result& r, int i) {
    V1Row row;
    row.receipt_id = r.text(i, 0);
    row.tenant_id = r.text(i, 1);
    row.op_id = r.text(i, 2);
    row.region = r.text(i, 3);
    row.policy_version = r.text(i, 4);
    row.kid = r.text(i, 5);
    row.body = r.text(i, 6);
    row.content_hash = r.text(i, 7);
    row.created_us = r.int64(i, 8);
    return row;
  }

  void Unconvertible(const V1Row& row, receipt::Error code, const std::string& why) {
    io_.out << UnconvertibleLine(row, code, why) << "\n";
  }
  std::string UnconvertibleLine(const V1Row& row, receipt::Error code, const std::string& why) const {
    return Pick("{\"event\":\"unconvertible\",\"receipt_id\":" + Json(row.receipt_id) + ",\"code\":\"" +
             receipt::ErrorName(code) + "\",\"reason\":" + Json(why) + "}",
         "cannot convert " + Printable(row.receipt_id, 128) + ": " + why);
  }

  int Plan() {
    KeysetSession(db());
    Progress p{"plan", 0, 0, 0, Count("version = 1"), 0};
    const std::int64_t t0 = io_.now_us();
    std::int64_t young = 0;
    const std::int64_t cutoff = Cutoff();
    std::int64_t cursor_us = 0;
    std::string cursor_id;
    for (bool first = true;; first = false) {
      auto r = db().Exec(SelectV1(false, false, first), {cursor_us, cursor_id, o_.batch_size, cutoff});
      if (r.rows() == 0) break;
      for (int i = 0; i < r.rows(); ++i) {
        const V1Row row = ReadRow(r, i);
        auto c = ConvertRow(row);
        ++p.scanned;
        if (r.text(i, 9) != "t") ++young;
        if (c) {
          ++p.converted;
        } else {
          ++p.skipped;
          if (bar_shown_) EndBar();
          Unconvertible(row, c.code(), c.error());
        }
      }
      cursor_us = r.int64(r.rows() - 1, 8);
      cursor_id = std::string(r.text(r.rows() - 1, 0));
      p.elapsed_us = io_.now_us() - t0;
      Report(p, false);
      if (Stopped()) return Interrupted(p);
    }
    p.elapsed_us = io_.now_us() - t0;
    Report(p, true);
    EndBar();
    Line("{\"event\":\"plan\",\"table\":" + Json(o_.table) + ",\"v1_rows\":" + std::to_string(p.scanned) +
             ",\"convertible\":" + std::to_string(p.converted) + ",\"unconvertible\":" + std::to_string(p.skipped) +
             ",\"younger_than_min_age\":" + std::to_string(young) + "}",
         "plan: " + std::to_string(p.scanned) + " v1 rows in " + o_.table + " (database \"" + database_ + "\"): " +
             std::to_string(p.converted) + " convert cleanly, " + std::to_string(p.skipped) +
             " cannot (listed above); " + std::to_string(young) +
             " are younger than --min-age and wait for a later apply. Nothing was written.");
    return kExitOk;
  }

  // SIGINT/SIGTERM, or an apply worker failed (the others stop after their batch).
  bool Stopped() const { return (io_.stop != nullptr && io_.stop->load()) || failed_.load(); }

  int Interrupted(const Progress& p) {
    EndBar();
    Line("{\"event\":\"interrupted\",\"phase\":\"" + p.phase + "\",\"scanned\":" + std::to_string(p.scanned) +
             ",\"converted\":" + std::to_string(p.converted) + "}",
         std::string("interrupted after ") + std::to_string(p.scanned) + " rows; every finished batch is committed" +
             (p.phase == "apply" || p.phase == "rollback" ? "; run " + p.phase + " again to continue" : ""));
    return kExitInterrupted;
  }

  // Runs `batch` in a transaction; retries lock/statement timeouts,
  // serialization failures and deadlocks.
  template <class F>
  void Transaction(pq::Connection& c, F&& batch) {
    for (std::int64_t attempt = 0;; ++attempt) {
      try {
        c.Exec("BEGIN");
        batch();
        c.Exec("COMMIT");
        return;
      } catch (const pq::PqError& e) {
        if (c.ok()) {
          try {
            c.Exec("ROLLBACK");
          } catch (const pq::PqError&) {
          }
        }
        const bool retry = e.kind() == ErrorKind::kTimeout || e.sqlstate() == "40001" || e.sqlstate() == "40P01";
        if (!retry || attempt >= o_.retries) {
          if (retry) {
            throw Failure{kExitDatabase, "a batch failed " + std::to_string(attempt + 1) +
                                             " times on a lock or statement timeout (" + e.what() +
                                             "); raise --lock-timeout / --statement-timeout or lower --batch-size; "
                                             "run again to continue"};
          }
          throw;
        }
        retries_.fetch_add(1);
        io_.sleep_us(200000 * (attempt + 1));
      }
    }
  }

  // ---- apply: keyset ranges, one connection each ----

  // A (created_at µs, receipt_id) key of the apply's keyset.
  struct Key {
    std::int64_t us = 0;
    std::string id;
  };
  // A range of the keyset: rows with key > cursor (none: from the first
  // row) and key <= end (none: to the last). Its cursor is saved in
  // provledger_migrate_state under `state_key` with every batch, and the
  // row is deleted when the range is done: a resumed apply continues
  // exactly the unfinished ranges. --jobs 1 (one range over the whole
  // table) uses the key "<table>" with no end, the layout of earlier
  // versions; --jobs N uses "<table> #<k>" (a table name has no space).
  struct Range {
    std::string state_key;
    std::optional<Key> cursor, end;
  };

  static std::string KeyText(const std::optional<Key>& k) { return k ? CursorText(k->us, k->id) : std::string(); }

  // Every keyset walk (plan, apply, verify) reads receipts_created_idx
  // from the cursor. The migration's own updates move rows to the end of
  // the heap; once autovacuum's ANALYZE sees that, the index's heap
  // correlation drops and the planner turned a batch into a sequential scan
  // of the whole table and a sort (auto_explain on a 200k ledger during
  // apply: 15 such batches; on the 1M ledger most of the server's CPU went
  // to reading the table once per batch).
  static void KeysetSession(pq::Connection& c) {
    c.Exec("SET enable_seqscan = off");
    c.Exec("SET enable_bitmapscan = off");
  }

  // Session settings of an apply connection.
  void ApplySession(pq::Connection& c) {
    // The write statement joins the batch's arrays to the locked rows by
    // ctid (a TID scan per row, no index lookup); never a hash or merge
    // join against a scan of the whole table.
    c.Exec("SET enable_hashjoin = off");
    c.Exec("SET enable_mergejoin = off");
    KeysetSession(c);
    if (!o_.synchronous_commit) c.Exec("SET synchronous_commit = off");
  }

  // The unfinished ranges of an earlier apply (empty: none).
  std::vector<Range> SavedRanges() {
    auto r = db().Exec("SELECT table_name, cursor, range_end FROM provledger_migrate_state WHERE table_name = $1 "
                       "OR left(table_name, length($1) + 2) = $1 || ' #' ORDER BY table_name",
                       {o_.table});
    std::vector<Range> out;
    for (int i = 0; i < r.rows(); ++i) {
      Range g;
      g.state_key = r.text(i, 0);
      if (auto c = ParseCursor(r.text(i, 1))) g.cursor = Key{c->first, c->second};
      if (!r.is_null(i, 2)) {
        auto e = ParseCursor(r.text(i, 2));
        // An end that does not parse: run to the last row (safe: apply
        // converts a row once, under its row lock).
        if (e) g.end = Key{e->first, e->second};
      }
      out.push_back(std::move(g));
    }
    return out;
  }

  // --jobs ranges of about equal numbers of v1 rows older than the cutoff:
  // split points are percentiles of created_at over a sample of about
  // 50 000 rows of the table (TABLESAMPLE SYSTEM; all rows of a small
  // table). A split at created_at t is the key (t, ''): rows created at t
  // go to the range after it. Saved in one transaction before any batch.
  std::vector<Range> NewRanges(std::int64_t cutoff) {
    std::vector<Range> out;
    if (o_.jobs <= 1) {
      out.push_back(Range{o_.table, std::nullopt, std::nullopt});
    } else {
      const double tuples = static_cast<double>(
          db().Exec("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = $1::regclass", {table_})
              .int64(0, 0));
      const double pct = tuples > 50000 ? std::max(0.01, 100.0 * 50000 / tuples) : 100.0;
      std::string fractions = "{";
      for (std::int64_t k = 1; k < o_.jobs; ++k) {
        if (k > 1) fractions += ',';
        fractions += std::to_string(static_cast<double>(k) / static_cast<double>(o_.jobs));
      }
      fractions += '}';
      char pct_text[32];
      std::snprintf(pct_text, sizeof pct_text, "%.4f", pct);
      auto r = db().Exec("SELECT unnest(percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY "
                         "(extract(epoch FROM created_at) * 1000000)::bigint)) FROM " + table_ +
                         " TABLESAMPLE SYSTEM (" + pct_text + ") WHERE version = 1 AND created_at < " + Epoch("$2"),
                         {fractions, cutoff});
      std::vector<std::int64_t> splits;
      for (int i = 0; i < r.rows(); ++i) {
        if (!r.is_null(i, 0)) splits.push_back(r.int64(i, 0));
      }
      std::sort(splits.begin(), splits.end());
      splits.erase(std::unique(splits.begin(), splits.end()), splits.end());
      std::optional<Key> lo;
      for (std::size_t k = 0; k <= splits.size(); ++k) {
        std::optional<Key> hi;
        if (k < splits.size()) hi = Key{splits[k], ""};
        out.push_back(Range{o_.table + " #" + std::to_string(k), lo, hi});
        lo = hi;
      }
    }
    Transaction(db(), [&] {
      for (const auto& g : out) {
        db().Exec("INSERT INTO provledger_migrate_state (table_name, cursor, range_end) VALUES ($1, $2, $3) "
                  "ON CONFLICT (table_name) DO UPDATE SET cursor = EXCLUDED.cursor, range_end = EXCLUDED.range_end, "
                  "updated_at = now()",
                  {g.state_key, KeyText(g.cursor), g.end ? pq::Param(KeyText(g.end)) : pq::Param(nullptr)});
      }
    });
    return out;
  }

  // Rows of `g` older than the cutoff that are still v1.
  std::int64_t RangeCount(const Range& g, std::int64_t cutoff) {
    std::string sql = "SELECT count(*) FROM " + table_ + " WHERE version = 1 AND created_at < " + Epoch("$1");
    std::vector<pq::Param> params{cutoff};
    if (g.cursor) {
      sql += " AND (created_at, receipt_id) > (" + Epoch("$2") + ", $3::text)";
      params.insert(params.end(), {g.cursor->us, g.cursor->id});
    }
    if (g.end) {
      const auto n = std::to_string(params.size() + 1);
      sql += " AND (created_at, receipt_id) <= (" + Epoch("$" + n) + ", $" + std::to_string(params.size() + 2) +
             "::text)";
      params.insert(params.end(), {g.end->us, g.end->id});
    }
    return db().Exec(sql, params).int64(0, 0);
  }

  int Apply() {
    Lock();
    CreateArchive();
    ApplySession(db());
    const std::int64_t cutoff = Cutoff();
    cutoff_ = cutoff;
    std::vector<Range> ranges = SavedRanges();
    const bool resumed = !ranges.empty();
    if (!resumed) ranges = NewRanges(cutoff);
    ranges_total_ = static_cast<std::int64_t>(ranges.size());
    Progress p{"apply", 0, 0, 0, 0, 0};
    for (const auto& g : ranges) p.total += RangeCount(g, cutoff);
    progress_ = p;
    unconvertible_ = 0;
    apply_t0_ = io_.now_us();
    for (auto& g : ranges) queue_.push_back(std::move(g));
    const std::size_t workers = std::min<std::size_t>(static_cast<std::size_t>(o_.jobs), queue_.size());
    if (workers <= 1) {
      ApplyWorker(db());
    } else {
      // One connection per worker; this one keeps the advisory lock.
      std::vector<std::unique_ptr<pq::Connection>> conns;
      for (std::size_t i = 0; i < workers; ++i) {
        try {
          conns.push_back(std::make_unique<pq::Connection>(connect_));
        } catch (const pq::PqError& e) {
          throw Failure{kExitDatabase, "cannot open connection " + std::to_string(i + 2) + " of --jobs " +
                                           std::to_string(o_.jobs) + " to " + where_ + ": " + e.what()};
        }
        conns.back()->Exec("SET client_min_messages = warning");
        ApplySession(*conns.back());
      }
      std::vector<std::thread> threads;
      for (auto& c : conns) threads.emplace_back([this, &c] { ApplyWorker(*c); });
      for (auto& t : threads) t.join();
    }
    if (worker_error_) std::rethrow_exception(worker_error_);
    p = progress_;
    if (Stopped()) return Interrupted(p);
    // Every range is done (each deleted its row); rows of an older layout too.
    db().Exec("DELETE FROM provledger_migrate_state WHERE table_name = $1 OR left(table_name, length($1) + 2) = "
              "$1 || ' #'", {o_.table});
    p.elapsed_us = io_.now_us() - apply_t0_;
    Report(p, true);
    EndBar();
    const std::int64_t remaining = Count("version = 1");
    const std::int64_t young =
        db().Exec("SELECT count(*) FROM " + table_ + " WHERE version = 1 AND created_at >= " + Epoch("$1"), {cutoff})
            .int64(0, 0);
    const double secs = static_cast<double>(p.elapsed_us) / 1e6;
    const double rate = secs > 0 ? static_cast<double>(p.converted) / secs : 0;
    char rate_text[32];
    std::snprintf(rate_text, sizeof rate_text, "%.0f", rate);
    char secs_text[32];
    std::snprintf(secs_text, sizeof secs_text, "%.3f", secs);
    const std::string jobs_text = std::to_string(std::max<std::size_t>(workers, 1));
    Line("{\"event\":\"apply\",\"table\":" + Json(o_.table) + ",\"resumed\":" + (resumed ? "true" : "false") +
             ",\"jobs\":" + jobs_text + ",\"ranges\":" + std::to_string(ranges_total_) +
             ",\"scanned\":" + std::to_string(p.scanned) + ",\"converted\":" + std::to_string(p.converted) +
             ",\"unconvertible\":" + std::to_string(unconvertible_) + ",\"younger_than_min_age\":" +
             std::to_string(young) + ",\"v1_remaining\":" + std::to_string(remaining) + ",\"retries\":" +
             std::to_string(retries_.load()) + ",\"elapsed_s\":" + secs_text + ",\"converted_per_s\":" + rate_text +
             "}",
         "apply: converted " + std::to_string(p.converted) + " of " + std::to_string(p.scanned) + " v1 rows in " +
             o_.table + (resumed ? " (resumed)" : "") + " in " + secs_text + " s (" + rate_text + " rows/s, " +
             jobs_text + " connection(s)); " + std::to_string(unconvertible_) +
             " cannot convert (listed above), " + std::to_string(young) + " younger than --min-age; " +
             std::to_string(remaining) + " v1 rows remain. Originals are in " + o_.archive_table + ".");
    return kExitOk;
  }

  // Takes ranges off the queue until none is left, the run is stopped or
  // a worker failed. An error is kept for Apply and stops the others after
  // their batch.
  void ApplyWorker(pq::Connection& c) {
    try {
      for (;;) {
        Range g;
        {
          std::lock_guard<std::mutex> l(mu_);
          if (queue_.empty() || Stopped()) return;
          g = std::move(queue_.front());
          queue_.pop_front();
        }
        if (!ApplyRange(c, g)) return;
      }
    } catch (...) {
      std::lock_guard<std::mutex> l(mu_);
      if (!worker_error_) worker_error_ = std::current_exception();
      failed_.store(true);
    }
  }

  // Converts one range in batches; false when stopped before its end.
  bool ApplyRange(pq::Connection& c, Range& g) {
    // One statement per batch writes the archive rows (the originals, read
    // from the same snapshot as the update, so before it), converts the rows
    // and saves the range's cursor. $1..$7: arrays of ctid, receipt_id, v2
    // body, hash, region, policy_version, kid; $8/$9: state key and cursor.
    const std::string write =
        "WITH u AS (SELECT * FROM unnest($1::tid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
        "$7::text[]) AS u(t, id, b, h, region, policy_version, kid)), "
        "a AS (INSERT INTO " + archive_ +
        " (receipt_id, version, body, content_hash, region, policy_version, kid, new_content_hash) "
        "SELECT r.receipt_id, r.version, r.body, r.content_hash, r.region, r.policy_version, r.kid, u.h FROM " +
        table_ + " r JOIN u ON r.ctid = u.t AND r.receipt_id = u.id WHERE r.version = 1 "
        "ON CONFLICT (receipt_id) DO NOTHING RETURNING 1), "
        "w AS (UPDATE " + table_ + " r SET version = 2, body = u.b::" + body_type_ +
        ", content_hash = u.h, region = u.region, policy_version = u.policy_version, kid = u.kid "
        "FROM u WHERE r.ctid = u.t AND r.receipt_id = u.id AND r.version = 1 RETURNING 1), "
        "c AS (INSERT INTO provledger_migrate_state (table_name, cursor, range_end) VALUES ($8, $9, $10) "
        "ON CONFLICT (table_name) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now() RETURNING 1) "
        "SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM a), (SELECT count(*) FROM c)";
    const std::string save_cursor =
        "INSERT INTO provledger_migrate_state (table_name, cursor, range_end) VALUES ($1, $2, $3) "
        "ON CONFLICT (table_name) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()";
    // v1 rows of the range older than the cutoff, in keyset order, locked.
    // $1/$2: cursor, $3: limit, $4: cutoff, $5/$6: the range's end.
    std::string select =
        "SELECT receipt_id, tenant_id, op_id, coalesce(region, ''), coalesce(policy_version, ''), "
        "coalesce(kid, ''), body::text, content_hash, (extract(epoch FROM created_at) * 1000000)::bigint, "
        "ctid::text FROM " + table_ + " WHERE version = 1 AND created_at < " + Epoch("$4");
    const std::string first_select = select + " AND $1::bigint IS NOT NULL AND $2::text IS NOT NULL";
    const std::string next_select = select + " AND (created_at, receipt_id) > (" + Epoch("$1") + ", $2::text)";
    const std::string end_cond = g.end ? " AND (created_at, receipt_id) <= (" + Epoch("$5") + ", $6::text)"
                                       : " AND $5::bigint IS NOT NULL AND $6::text IS NOT NULL";
    const std::string tail = end_cond + " ORDER BY created_at, receipt_id LIMIT $3 FOR UPDATE";
    const pq::Param end_param = g.end ? pq::Param(KeyText(g.end)) : pq::Param(nullptr);
    const std::int64_t end_us = g.end ? g.end->us : 0;
    const std::string end_id = g.end ? g.end->id : std::string();
    std::string ctids, ids, bodies, hashes, regions, policies, kids;
    for (;;) {
      std::int64_t rows = 0, conv = 0, skip = 0;
      Key last;
      std::vector<std::string> unconvertible_lines;
      Transaction(c, [&] {
        rows = conv = skip = 0;
        unconvertible_lines.clear();
        auto r = c.Exec((g.cursor ? next_select : first_select) + tail,
                        {g.cursor ? g.cursor->us : 0, g.cursor ? g.cursor->id : std::string(), o_.batch_size,
                         cutoff_, end_us, end_id});
        rows = r.rows();
        if (rows == 0) return;
        for (auto* s : {&ctids, &ids, &bodies, &hashes, &regions, &policies, &kids}) s->assign("{");
        for (int i = 0; i < r.rows(); ++i) {
          const V1Row row = ReadRow(r, i);
          auto cv = ConvertRow(row);
          if (!cv) {
            ++skip;
            unconvertible_lines.push_back(UnconvertibleLine(row, cv.code(), cv.error()));
            continue;
          }
          const auto model = receipt::ReadV2(cv.value().body);   // the columns the conversion filled
          AppendArrayElem(&ctids, r.text(i, 9));
          AppendArrayElem(&ids, row.receipt_id);
          AppendArrayElem(&bodies, cv.value().body);
          AppendArrayElem(&hashes, cv.value().hash);
          AppendArrayElem(&regions, model.value().region);
          AppendArrayElem(&policies, model.value().policy_version);
          AppendArrayElem(&kids, model.value().kid);
          ++conv;
        }
        for (auto* s : {&ctids, &ids, &bodies, &hashes, &regions, &policies, &kids}) s->push_back('}');
        last = Key{r.int64(r.rows() - 1, 8), std::string(r.text(r.rows() - 1, 0))};
        const std::string cursor_text = CursorText(last.us, last.id);
        if (conv > 0) {
          auto w = c.Exec(write, {ctids, ids, bodies, hashes, regions, policies, kids, g.state_key, cursor_text,
                                  end_param});
          // Every row is locked by this transaction since the SELECT: each
          // converts, and gets its archive row unless one is left from before.
          if (w.int64(0, 0) != conv) {
            throw pq::PqError(ErrorKind::kQuery, "",
                              "the batch updated " + std::string(w.text(0, 0)) + " rows, not " +
                                  std::to_string(conv) + " (rows changed under their lock?)");
          }
        } else {
          c.Exec(save_cursor, {g.state_key, cursor_text, end_param});
        }
      });
      if (rows == 0) break;
      g.cursor = last;
      const std::int64_t total_converted = converted_.fetch_add(conv) + conv;
      {
        std::lock_guard<std::mutex> l(mu_);
        for (const auto& line : unconvertible_lines) {
          if (bar_shown_) EndBar();
          io_.out << line << "\n";
        }
        progress_.scanned += rows;
        progress_.converted += conv;
        progress_.skipped += skip;
        unconvertible_ += skip;
        progress_.elapsed_us = io_.now_us() - apply_t0_;
        Report(progress_, false);
      }
      if (Stopped()) return false;
      const std::int64_t wait = ThrottleSleepUs(total_converted, o_.rows_per_second, io_.now_us() - apply_t0_);
      if (wait > 0) io_.sleep_us(wait);
    }
    c.Exec("DELETE FROM provledger_migrate_state WHERE table_name = $1", {g.state_key});
    return true;
  }

  int Verify() {
    KeysetSession(db());
    Progress p{"verify", 0, 0, 0, Count("true"), 0};
    const std::int64_t t0 = io_.now_us();
    std::int64_t v1 = 0, v2 = 0, archived = 0, problems = 0;
    auto problem = [&](std::string_view id, const std::string& why) {
      ++problems;
      if (problems > 100) return;
      if (bar_shown_) EndBar();
      Line("{\"event\":\"problem\",\"receipt_id\":" + Json(id) + ",\"problem\":" + Json(why) + "}",
           "problem " + Printable(id, 128) + ": " + why);
    };
    const std::string archive_cols =
        archive_exists_ ? "a.receipt_id IS NOT NULL, a.body::text, a.content_hash, coalesce(a.region, ''), "
                          "coalesce(a.policy_version, ''), coalesce(a.kid, ''), a.new_content_hash"
                        : "false, NULL, NULL, NULL, NULL, NULL, NULL";
    const std::string join = archive_exists_ ? " LEFT JOIN " + archive_ + " a USING (receipt_id)" : "";
    const std::string sql =
        "SELECT r.receipt_id, r.tenant_id, r.op_id, coalesce(r.region, ''), coalesce(r.policy_version, ''), "
        "coalesce(r.kid, ''), r.version, r.body::text, r.content_hash, "
        "(extract(epoch FROM r.created_at) * 1000000)::bigint, " + archive_cols + " FROM " + table_ + " r" + join +
        " WHERE ";
    const std::string order = " ORDER BY r.created_at, r.receipt_id LIMIT $3";
    // (created_at, receipt_id) keyset: receipts_created_idx, the heap in
    // the order the ledger appended it.
    const std::string first_sql = sql + "$1::bigint IS NOT NULL AND $2::text IS NOT NULL" + order;
    const std::string next_sql = sql + "(r.created_at, r.receipt_id) > (" + Epoch("$1") + ", $2::text)" + order;
    std::int64_t cursor_us = 0;
    std::string cursor_id;
    for (bool first = true;; first = false) {
      auto r = db().Exec(first ? first_sql : next_sql, {cursor_us, cursor_id, o_.batch_size});
      if (r.rows() == 0) break;
      for (int i = 0; i < r.rows(); ++i) {
        const std::string_view id = r.text(i, 0);
        const receipt::Columns cols{id, r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4), r.text(i, 5),
                                    r.int64(i, 9), r.text(i, 8)};
        const std::string_view version = r.text(i, 6), body = r.text(i, 7), hash = r.text(i, 8);
        ++p.scanned;
        if (version == "1") {
          ++v1;
          if (r.text(i, 10) == "t") problem(id, "row is v1 but has an archived original (half-done rollback?)");
          continue;
        }
        ++v2;
        const auto check = receipt::CheckBody(2, body, cols);
        if (check.first != receipt::Error::kNone) {
          problem(id, "v2 row does not pass the v2 contract: " + check.second);
          continue;
        }
        if (r.text(i, 10) != "t") continue;   // native v2: its hash is the writer's business
        ++archived;
        const auto h = receipt::ContentHash(body);
        if (!h.ok() || h.value() != hash) {
          problem(id, "content_hash is not the SHA-256 of the body's canonical form");
          continue;
        }
        if (hash != r.text(i, 16)) {
          problem(id, "content_hash differs from the one the migration wrote (changed since?)");
          continue;
        }
        // The archived original converts to exactly this body.
        const std::string a_region(r.text(i, 13)), a_policy(r.text(i, 14)), a_kid(r.text(i, 15));
        const receipt::Columns orig{id, cols.tenant_id, cols.op_id, a_region, a_policy, a_kid, cols.created_us,
                                    r.text(i, 12)};
        const auto again = receipt::ConvertV1(r.text(i, 11), orig);
        if (!again.ok() || receipt::Sha256Hex(again.value()) != hash) {
          problem(id, "the archived original does not convert to this row's body" +
                          (again.ok() ? std::string() : ": " + again.error()));
        }
      }
      cursor_us = r.int64(r.rows() - 1, 9);
      cursor_id = std::string(r.text(r.rows() - 1, 0));
      p.converted = archived;
      p.elapsed_us = io_.now_us() - t0;
      Report(p, false);
      if (Stopped()) return Interrupted(p);
    }
    std::int64_t orphans = 0, archive_rows = 0;
    if (archive_exists_) {
      orphans = db().Exec("SELECT count(*) FROM " + archive_ + " a WHERE NOT EXISTS (SELECT 1 FROM " + table_ +
                          " r WHERE r.receipt_id = a.receipt_id)").int64(0, 0);
      archive_rows = db().Exec("SELECT count(*) FROM " + archive_).int64(0, 0);
      if (orphans > 0) problem("", std::to_string(orphans) + " archived originals have no receipt row");
    }
    if (v1 + v2 != p.scanned) problem("", "row counts do not add up");
    p.elapsed_us = io_.now_us() - t0;
    Report(p, true);
    EndBar();
    Line("{\"event\":\"verify\",\"table\":" + Json(o_.table) + ",\"rows\":" + std::to_string(p.scanned) +
             ",\"v1\":" + std::to_string(v1) + ",\"v2\":" + std::to_string(v2) + ",\"migrated\":" +
             std::to_string(archived) + ",\"archive_rows\":" + std::to_string(archive_rows) + ",\"problems\":" +
             std::to_string(problems) + "}",
         "verify: " + std::to_string(p.scanned) + " rows in " + o_.table + ": " + std::to_string(v1) + " v1, " +
             std::to_string(v2) + " v2 (" + std::to_string(archived) + " migrated, each re-converted from its "
             "archived original; " + std::to_string(archive_rows) + " archive rows); " + std::to_string(problems) +
             " problems");
    return problems == 0 ? kExitOk : kExitProblems;
  }

  int Rollback() {
    if (!archive_exists_) {
      Line("{\"event\":\"rollback\",\"restored\":0,\"kept\":0}",
           "rollback: no archive table " + o_.archive_table + ": nothing to restore");
      return kExitOk;
    }
    Lock();
    if (!o_.synchronous_commit) db().Exec("SET synchronous_commit = off");
    Progress p{"rollback", 0, 0, 0, db().Exec("SELECT count(*) FROM " + archive_).int64(0, 0), 0};
    const std::string sql =
        "WITH a AS (SELECT * FROM " + archive_ + " WHERE receipt_id > $1 ORDER BY receipt_id LIMIT $2 FOR UPDATE), "
        "u AS (UPDATE " + table_ + " r SET version = a.version, body = a.body, content_hash = a.content_hash, "
        "region = a.region, policy_version = a.policy_version, kid = a.kid FROM a WHERE r.receipt_id = a.receipt_id "
        "AND r.version = 2 AND r.content_hash = a.new_content_hash RETURNING r.receipt_id), "
        "d AS (DELETE FROM " + archive_ + " x WHERE x.receipt_id IN (SELECT receipt_id FROM u) RETURNING 1) "
        "SELECT (SELECT max(receipt_id) FROM a), (SELECT count(*) FROM a), (SELECT count(*) FROM u), "
        "(SELECT count(*) FROM d)";
    const std::int64_t t0 = io_.now_us();
    std::string cursor;
    for (;;) {
      std::int64_t rows = 0, restored = 0;
      std::string last;
      Transaction(db(), [&] {
        auto r = db().Exec(sql, {cursor, o_.batch_size});
        rows = r.int64(0, 1);
        restored = r.int64(0, 2);
        if (rows > 0) last = std::string(r.text(0, 0));
        db().Exec("DELETE FROM provledger_migrate_state WHERE table_name = $1 OR left(table_name, length($1) + 2) "
                  "= $1 || ' #'", {o_.table});
      });
      if (rows == 0) break;
      cursor = last;
      p.scanned += rows;
      p.converted += restored;
      p.skipped += rows - restored;
      p.elapsed_us = io_.now_us() - t0;
      Report(p, false);
      if (Stopped()) return Interrupted(p);
      const std::int64_t wait = ThrottleSleepUs(p.converted, o_.rows_per_second, io_.now_us() - t0);
      if (wait > 0) io_.sleep_us(wait);
    }
    p.elapsed_us = io_.now_us() - t0;
    Report(p, true);
    EndBar();
    Line("{\"event\":\"rollback\",\"table\":" + Json(o_.table) + ",\"restored\":" + std::to_string(p.converted) +
             ",\"kept\":" + std::to_string(p.skipped) + "}",
         "rollback: restored " + std::to_string(p.converted) + " v1 originals into " + o_.table + "; " +
             std::to_string(p.skipped) + " kept in " + o_.archive_table +
             " because their row changed since the migration");
    return kExitOk;
  }

  const Options& o_;
  Io& io_;
  std::optional<pq::Connection> conn_;
  std::string table_, archive_, where_, database_, user_, body_type_;
  bool archive_exists_ = false;
  bool json_ = false, bar_ = false, bar_shown_ = false;
  std::int64_t last_report_us_ = INT64_MIN / 2;
  std::atomic<std::int64_t> retries_{0};
  pq::ConnectOptions connect_;
  // apply: the ranges not yet taken by a worker, the progress of all
  // workers (both under mu_, as is output to io_), rows converted (the
  // throttle's total), the first worker error.
  std::mutex mu_;
  std::deque<Range> queue_;
  Progress progress_;
  std::int64_t unconvertible_ = 0, apply_t0_ = 0, cutoff_ = 0, ranges_total_ = 0;
  std::atomic<std::int64_t> converted_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr worker_error_;
};

}  // namespace

int Run(const Options& options, Io& io) {
  Migration m(options, io);
  return m.Run();
}

}  // namespace provledger::migrate
