// The provledger_sim subcommands. Each returns the process exit code and
// prints its own errors; usage text is in main.cc and docs/simulator.md.
#pragma once

#include <string>
#include <vector>

#include "pg.hh"

namespace provledger::sim {

int CmdInit(int argc, char** argv);
int CmdLoad(int argc, char** argv);
int CmdRun(int argc, char** argv);

// Schema objects dropped around a bulk load and recreated after it, in the
// load's transaction. Foreign keys are always dropped (receipts are copied
// before the anchors they reference); indexes and primary keys only when
// `indexes` is true.
struct DroppedSchema {
  std::vector<std::string> recreate;  // statements, in the order to run them
};
DroppedSchema DropForLoad(Conn& c, const std::vector<std::string>& tables, bool indexes);
void Recreate(Conn& c, const DroppedSchema& s);

// Directory holding ledger.sql and traces.sql: --schema-dir if given, else
// the source tree's config/schema, else /usr/share/provledger_exporter/schema.
std::string FindSchemaDir(const std::string& flag);

}  // namespace provledger::sim
