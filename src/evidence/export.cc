#include "evidence/export.hh"

#include <utility>

#include "build_info.hh"
#include "evidence/bundle.hh"
#include "evidence/zip.hh"

namespace provledger::evidence {

ExportSummary ExportBundle(const config::Config& cfg, const Query& q, const SigningKey& key,
                           const std::string& out_path, Micros now, const CollectOptions& opt) {
  Collected c = Collect(cfg, q, now, opt);
  BundleInput in;
  in.query = q;
  in.ops = std::move(c.ops);
  in.generated_at = now / 1000000;
  in.exporter_version = PROVLEDGER_VERSION;
  in.grace = cfg.coverage.grace_ms * 1000;
  in.mask = c.mask;
  if (opt.progress) opt.progress("writing bundle", 0, 1);
  const auto files = BuildBundle(in, key);
  WriteZip(out_path, files);
  ExportSummary s;
  s.operations = in.ops.size();
  for (const auto& op : in.ops) {
    ++s.outcomes[op.outcome];
    s.receipts += op.receipts.size();
    for (const auto& r : op.receipts) s.inclusion_proofs += r.proof ? 1 : 0;
  }
  s.files = files.size();
  s.warnings = std::move(c.warnings);
  return s;
}

}  // namespace provledger::evidence
