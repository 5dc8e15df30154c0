#include "migrate/migrate.hh"

#include <algorithm>
#include <cstdio>

#include "config/load.hh"

namespace provledger::migrate {

std::string Usage() {
  return "Usage: provledger_migrate plan|apply|verify|rollback (--config FILE --ledger NAME | --dsn DSN) [options]\n"
         "  or:  provledger_migrate --version | --help\n"
         "\n"
         "Moves a ledger's stored v1 receipts to v2 online, while the ledger writes and the\n"
         "exporter polls (README \"Receipts v2 and migrating stored receipts\").\n"
         "\n"
         "Commands:\n"
         "  plan      count v1 rows, how many convert, list those that cannot (writes nothing)\n"
         "  apply     convert v1 rows to v2 in short keyset batches; resumable, idempotent\n"
         "  verify    every v2 row valid, every archived original re-converts to its row\n"
         "  rollback  restore the archived v1 originals\n"
         "\n"
         "Options:\n"
         "  --config FILE --ledger NAME  the ledger NAME of the exporter's configuration FILE\n"
         "  --dsn DSN                the ledger's libpq connection string (password from PGPASSWORD or ~/.pgpass)\n"
         "  --table NAME             the receipts table, [schema.]name (default receipts)\n"
         "  --archive-table NAME     where apply keeps the v1 originals (default receipts_v1_archive)\n"
         "  --batch-size N           rows per transaction, 1-100000 (default 2000)\n"
         "  --rows-per-second N      throttle, 0 = none (default 0); with --jobs, the total of all connections\n"
         "  --jobs N                 apply: N connections on disjoint (created_at, receipt_id) ranges,\n"
         "                           1-64 (default 1); a resumed apply keeps the ranges of the first run\n"
         "  --lock-timeout D         per batch (default 2s)\n"
         "  --statement-timeout D    per batch (default 30s)\n"
         "  --min-age D              leave rows younger than this for a later run (default 10m)\n"
         "  --retries N              retries of a batch that timed out (default 5)\n"
         "  --synchronous-commit on|off  off: apply/rollback commit without waiting for the WAL flush\n"
         "                           (safe to lose on a server crash: apply/rollback are resumable; default on)\n"
         "  --progress MODE          auto (a bar on a terminal, else JSON lines), bar or json\n"
         "  --version                print the version\n"
         "  -h, --help               this text\n"
         "\n"
         "Exit status: 0 done, 1 verify found problems, 2 usage or config error,\n"
         "3 database error (connect, table, permission, another apply running), 4 interrupted.\n";
}

std::variant<Options, std::string> ParseArgs(const std::vector<std::string>& args) {
  Options o;
  if (args.empty()) return std::string("missing command (plan, apply, verify or rollback)");
  const std::string& cmd = args[0];
  if (cmd == "plan") o.command = Command::kPlan;
  else if (cmd == "apply") o.command = Command::kApply;
  else if (cmd == "verify") o.command = Command::kVerify;
  else if (cmd == "rollback") o.command = Command::kRollback;
  else return "unknown command \"" + cmd + "\" (plan, apply, verify or rollback)";
  auto count = [](const std::string& flag, const std::string& v, std::int64_t min, std::int64_t* out) -> std::string {
    std::int64_t x = 0;
    std::size_t used = 0;
    try {
      x = std::stoll(v, &used);
    } catch (...) {
      used = 0;
    }
    if (used != v.size() || v.empty() || x < min) {
      return flag + " wants an integer >= " + std::to_string(min) + ", got \"" + v + "\"";
    }
    *out = x;
    return {};
  };
  auto duration = [](const std::string& flag, const std::string& v, std::int64_t* out) -> std::string {
    auto ms = config::ParseDurationMs(v);
    if (!ms) return flag + " wants a duration such as 2s, 500ms or 10m, got \"" + v + "\"";
    *out = *ms;
    return {};
  };
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i], value;
    const auto eq = flag.find('=');
    bool has_value = false;
    if (flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag.rfind("--", 0) != 0) return "unexpected argument \"" + flag + "\"";
    if (!has_value) {
      if (i + 1 >= args.size()) return flag + " needs a value";
      value = args[++i];
    }
    std::string e;
    if (flag == "--config") o.config_path = value;
    else if (flag == "--ledger") o.ledger = value;
    else if (flag == "--dsn") o.dsn = value;
    else if (flag == "--table") o.table = value;
    else if (flag == "--archive-table") o.archive_table = value;
    else if (flag == "--batch-size") e = count(flag, value, 1, &o.batch_size);
    else if (flag == "--rows-per-second") e = count(flag, value, 0, &o.rows_per_second);
    else if (flag == "--retries") e = count(flag, value, 0, &o.retries);
    else if (flag == "--jobs") e = count(flag, value, 1, &o.jobs);
    else if (flag == "--lock-timeout") e = duration(flag, value, &o.lock_timeout_ms);
    else if (flag == "--statement-timeout") e = duration(flag, value, &o.statement_timeout_ms);
    else if (flag == "--min-age") e = duration(flag, value, &o.min_age_ms);
    else if (flag == "--synchronous-commit") {
      if (value == "on") o.synchronous_commit = true;
      else if (value == "off") o.synchronous_commit = false;
      else e = "--synchronous-commit wants on or off, got \"" + value + "\"";
    } else if (flag == "--progress") {
      if (value == "auto") o.progress = ProgressMode::kAuto;
      else if (value == "bar") o.progress = ProgressMode::kBar;
      else if (value == "json") o.progress = ProgressMode::kJson;
      else e = "--progress wants auto, bar or json, got \"" + value + "\"";
    } else {
      return "unknown option " + flag;
    }
    if (!e.empty()) return e;
  }
  if (o.batch_size > 100000) return "--batch-size wants at most 100000 (short transactions)";
  if (o.jobs > 64) return "--jobs wants at most 64 (each job is a connection)";
  const bool by_config = !o.config_path.empty() || !o.ledger.empty();
  if (by_config && !o.dsn.empty()) return "give either --config and --ledger, or --dsn, not both";
  if (!by_config && o.dsn.empty()) return "which ledger? give --config FILE --ledger NAME, or --dsn DSN";
  if (by_config && (o.config_path.empty() || o.ledger.empty())) return "--config and --ledger go together";
  if (!QuoteTable(o.table)) return "--table \"" + o.table + "\" is not a plain [schema.]name";
  if (!QuoteTable(o.archive_table)) return "--archive-table \"" + o.archive_table + "\" is not a plain [schema.]name";
  if (o.table == o.archive_table) return "--archive-table must differ from --table";
  return o;
}

receipt::Result<Converted> ConvertRow(const V1Row& r) {
  const receipt::Columns c{r.receipt_id, r.tenant_id, r.op_id, r.region, r.policy_version, r.kid,
                           r.created_us, r.content_hash};
  auto v2 = receipt::ConvertV1(r.body, c);
  if (!v2) return receipt::Result<Converted>::Fail(v2.code(), v2.error());
  Converted out;
  out.hash = receipt::Sha256Hex(v2.value());   // ConvertV1's result is canonical
  out.body = std::move(v2.value());
  return out;
}

std::int64_t ThrottleSleepUs(std::int64_t done, std::int64_t rows_per_second, std::int64_t elapsed_us) {
  if (rows_per_second <= 0 || done <= 0) return 0;
  const long double due_us = static_cast<long double>(done) * 1e6L / static_cast<long double>(rows_per_second);
  const long double wait = due_us - static_cast<long double>(elapsed_us);
  return wait > 0 ? static_cast<std::int64_t>(wait) : 0;
}

namespace {

double Rate(const Progress& p) {
  return p.elapsed_us > 0 ? static_cast<double>(p.scanned) * 1e6 / static_cast<double>(p.elapsed_us) : 0.0;
}

std::string Hms(std::int64_t s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

}  // namespace

std::string ProgressBar(const Progress& p, int width) {
  const double frac = p.total > 0 ? std::min(1.0, static_cast<double>(p.scanned) / static_cast<double>(p.total)) : 0.0;
  const int filled = static_cast<int>(frac * width);
  std::string s = "\r[";
  s.append(static_cast<std::size_t>(filled), '#');
  s.append(static_cast<std::size_t>(width - filled), '.');
  char buf[256];
  const double rate = Rate(p);
  std::snprintf(buf, sizeof buf, "] %3d%% %lld/%lld rows  %s %lld  skipped %lld  %.0f rows/s",
                static_cast<int>(frac * 100), static_cast<long long>(p.scanned), static_cast<long long>(p.total),
                p.phase == "rollback" ? "restored" : "converted", static_cast<long long>(p.converted),
                static_cast<long long>(p.skipped), rate);
  s += buf;
  if (rate > 0 && p.total > p.scanned) {
    s += "  ETA " + Hms(static_cast<std::int64_t>(static_cast<double>(p.total - p.scanned) / rate));
  }
  return s;
}

std::string ProgressJson(const Progress& p) {
  char buf[384];
  std::snprintf(buf, sizeof buf,
                "{\"event\":\"progress\",\"phase\":\"%s\",\"scanned\":%lld,\"converted\":%lld,\"skipped\":%lld,"
                "\"total\":%lld,\"elapsed_s\":%.3f,\"rows_per_s\":%.1f}",
                p.phase.c_str(), static_cast<long long>(p.scanned), static_cast<long long>(p.converted),
                static_cast<long long>(p.skipped), static_cast<long long>(p.total),
                static_cast<double>(p.elapsed_us) / 1e6, Rate(p));
  return buf;
}

namespace {
// "name" (the caller checked the characters). Built with += : GCC 12 at -O3
// reports a false -Wrestrict for "\"" + std::string(...).
std::string Quoted(std::string_view name) {
  std::string q;
  q.reserve(name.size() + 2);
  q += '"';
  q += name;
  q += '"';
  return q;
}
}  // namespace

std::optional<std::string> QuoteTable(std::string_view name) {
  auto part = [](std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
  };
  const auto dot = name.find('.');
  if (dot == std::string_view::npos) {
    if (!part(name)) return std::nullopt;
    return Quoted(name);
  }
  const auto schema = name.substr(0, dot), table = name.substr(dot + 1);
  if (!part(schema) || !part(table)) return std::nullopt;
  return Quoted(schema) + "." + Quoted(table);
}

}  // namespace provledger::migrate
