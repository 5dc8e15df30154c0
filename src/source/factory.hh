// MakeSources: one Source per configured source, in config order: ledgers,
// then trace stores, then the flags source (if flags.kind != kNone).
// Constructing a source does no I/O (connections open at the first poll),
// so this never fails because a database is down. Throws
// std::invalid_argument only for a kind it does not know.
//
// Positions go through Source (StartFrom, saved_cursors, RestoreCursors,
// durable_position, fingerprint), so the caller needs no concrete class. The
// classes: LedgerSource (ledger_source.hh), TraceSource (trace_source.hh),
// FlagsFileSource and FlagsSqlSource (flags_source.hh).
#pragma once

#include <memory>
#include <vector>

#include "config/config.hh"
#include "source/log.hh"
#include "source/options.hh"
#include "source/source.hh"

namespace provledger::source {

std::vector<std::unique_ptr<Source>> MakeSources(const config::Config& config, LogFn log = {});

// Same, with explicit options (tests, tools).
std::vector<std::unique_ptr<Source>> MakeSources(const config::Config& config,
                                                 const SourceOptions& options);

}  // namespace provledger::source
