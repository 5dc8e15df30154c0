// `provledger_sim init` and the schema helpers the loader shares.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.hh"
#include "commands.hh"

#ifndef PROVLEDGER_SIM_SCHEMA_DIR
#define PROVLEDGER_SIM_SCHEMA_DIR "config/schema"
#endif

namespace provledger::sim {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string FindSchemaDir(const std::string& flag) {
  namespace fs = std::filesystem;
  if (!flag.empty()) {
    if (!fs::exists(fs::path(flag) / "ledger.sql")) {
      throw std::runtime_error("--schema-dir " + flag + " has no ledger.sql");
    }
    return flag;
  }
  for (const char* dir : {PROVLEDGER_SIM_SCHEMA_DIR, "/usr/share/provledger_exporter/schema"}) {
    if (fs::exists(fs::path(dir) / "ledger.sql") && fs::exists(fs::path(dir) / "traces.sql")) return dir;
  }
  throw std::runtime_error(std::string("schema files not found in ") + PROVLEDGER_SIM_SCHEMA_DIR +
                           " or /usr/share/provledger_exporter/schema; pass --schema-dir");
}

DroppedSchema DropForLoad(Conn& c, const std::vector<std::string>& tables, bool indexes) {
  DroppedSchema out;
  std::vector<std::string> drops_fk, drops_key, drops_index;
  std::vector<std::string> add_key, add_index, add_fk;
  for (const auto& table : tables) {
    // Constraints: foreign keys always (we write receipts before anchors);
    // primary/unique keys only with indexes.
    Result cons = c.Query(
        "SELECT quote_ident(conname), pg_get_constraintdef(oid), contype::text "
        "FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p','u','f') "
        "ORDER BY conname",
        {table});
    for (int r = 0; r < PQntuples(cons.get()); ++r) {
      const std::string name = PQgetvalue(cons.get(), r, 0);
      const std::string def = PQgetvalue(cons.get(), r, 1);
      const std::string type = PQgetvalue(cons.get(), r, 2);
      const std::string drop = "ALTER TABLE " + table + " DROP CONSTRAINT " + name;
      const std::string add = "ALTER TABLE " + table + " ADD CONSTRAINT " + name + " " + def;
      if (type == "f") {
        drops_fk.push_back(drop);
        add_fk.push_back(add);
      } else if (indexes) {
        drops_key.push_back(drop);
        add_key.push_back(add);
      }
    }
    if (!indexes) continue;
    Result idx = c.Query(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(i.relname), pg_get_indexdef(x.indexrelid) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_namespace n ON n.oid = i.relnamespace "
        "WHERE x.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
        "WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p','u','x')) "
        "ORDER BY i.relname",
        {table});
    for (int r = 0; r < PQntuples(idx.get()); ++r) {
      drops_index.push_back(std::string("DROP INDEX ") + PQgetvalue(idx.get(), r, 0));
      add_index.push_back(PQgetvalue(idx.get(), r, 1));
    }
  }
  for (const auto* list : {&drops_fk, &drops_key, &drops_index}) {
    for (const auto& s : *list) c.Exec(s);
  }
  for (const auto* list : {&add_key, &add_index, &add_fk}) {
    out.recreate.insert(out.recreate.end(), list->begin(), list->end());
  }
  return out;
}

void Recreate(Conn& c, const DroppedSchema& s) {
  for (const auto& stmt : s.recreate) c.Exec(stmt);
}

int CmdInit(int argc, char** argv) {
  try {
    const Args a(argc, argv, 2, {"ledger-dsn", "ledger", "traces-dsn", "schema-dir"}, {"reset"});
    std::vector<std::string> ledgers = a.GetAll("ledger-dsn");
    for (const auto& l : a.GetAll("ledger")) ledgers.push_back(SplitRegionDsn(l).second);
    const std::string traces = a.Get("traces-dsn");
    if (ledgers.empty() && traces.empty()) {
      throw std::invalid_argument("give at least one --ledger-dsn DSN or --traces-dsn DSN");
    }
    const std::string dir = FindSchemaDir(a.Get("schema-dir"));
    const std::string ledger_sql = ReadFile(dir + "/ledger.sql");
    const std::string traces_sql = ReadFile(dir + "/traces.sql");
    const bool reset = a.Has("reset");
    int n = 0;
    for (const auto& dsn : ledgers) {
      Conn c(dsn, "ledger #" + std::to_string(++n));
      c.Exec("SET client_min_messages = warning");
      if (reset) c.Exec("DROP TABLE IF EXISTS notary_proofs, receipts, anchors CASCADE");
      c.Exec(ledger_sql);
    }
    if (!traces.empty()) {
      Conn c(traces, "traces");
      c.Exec("SET client_min_messages = warning");
      if (reset) c.Exec("DROP TABLE IF EXISTS spans CASCADE");
      c.Exec(traces_sql);
    }
    nlohmann::ordered_json j;
    j["command"] = "init";
    j["ledgers"] = ledgers.size();
    j["traces"] = traces.empty() ? 0 : 1;
    j["schema_dir"] = dir;
    j["reset"] = reset;
    std::cout << j.dump() << std::endl;
    return 0;
  } catch (const std::invalid_argument& e) {
    std::cerr << "provledger_sim init: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "provledger_sim init: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace provledger::sim
