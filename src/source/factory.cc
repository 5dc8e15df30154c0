#include "source/factory.hh"

#include <stdexcept>

#include "source/flags_source.hh"
#include "source/ledger_source.hh"
#include "source/otlp_file_source.hh"
#include "source/trace_source.hh"

namespace provledger::source {

std::vector<std::unique_ptr<Source>> MakeSources(const config::Config& config, LogFn log) {
  return MakeSources(config, SourceOptions::FromConfig(config, std::move(log)));
}

std::vector<std::unique_ptr<Source>> MakeSources(const config::Config& config,
                                                 const SourceOptions& options) {
  std::vector<std::unique_ptr<Source>> out;
  for (const config::Ledger& l : config.ledgers) {
    out.push_back(std::make_unique<LedgerSource>(l, options));
  }
  for (const config::TraceStore& t : config.trace_stores) {
    switch (t.kind) {
      case config::TraceKind::kPostgres:
        out.push_back(std::make_unique<TraceSource>(t, options));
        break;
      case config::TraceKind::kOtlpFile:
        out.push_back(std::make_unique<OtlpFileSource>(t, options));
        break;
      default:
        throw std::invalid_argument("trace store " + t.name + ": unsupported kind");
    }
  }
  switch (config.flags.kind) {
    case config::FlagsKind::kNone: break;
    case config::FlagsKind::kFile:
      out.push_back(std::make_unique<FlagsFileSource>(config.flags, options));
      break;
    case config::FlagsKind::kSql:
      out.push_back(std::make_unique<FlagsSqlSource>(config.flags, options));
      break;
  }
  return out;
}

}  // namespace provledger::source
