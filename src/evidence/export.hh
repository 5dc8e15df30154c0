// One export: collect from the databases (collect.hh), build the signed
// bundle (bundle.hh) and write the zip (zip.hh). The one implementation used
// by `provledger_evidence export` and by the exporter's async API
// (src/evidence_api).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "config/config.hh"
#include "evidence/collect.hh"
#include "evidence/keys.hh"
#include "evidence/model.hh"

namespace provledger::evidence {

struct ExportSummary {
  std::size_t operations = 0;
  std::size_t receipts = 0;
  std::size_t inclusion_proofs = 0;
  std::map<std::string, int> outcomes;   // attested / divergent / missing / untraced -> count
  std::size_t files = 0;                 // zip entries
  std::vector<std::string> warnings;
};

// Collects `q` with `opt`, signs with `key`, writes `out_path` (through a
// temp file renamed when complete). `now` (Unix microseconds) decides
// settlement and gives generated_at. Throws as Collect and WriteZip do.
// opt.progress also gets ("writing bundle", 0, 1) before the zip is written.
ExportSummary ExportBundle(const config::Config& cfg, const Query& q, const SigningKey& key,
                           const std::string& out_path, Micros now, const CollectOptions& opt);

}  // namespace provledger::evidence
