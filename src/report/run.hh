// Reading one UTC day through the exporter's own layers: the config's
// sources (src/source over src/pq), the Engine (src/compute: the one
// implementation of settlement) and a DayAggregator listening to it.
//
// Trace stores are read from day_start - window - grace (so operations that
// began before the day are recognised as the exporter does), ledgers'
// receipts from there - grace, both up to the day's end (spans) and the day's
// end + grace (receipts), and each ledger's anchored stream over the day. The
// day is read in rounds (two pages of spans from every trace store, then every
// ledger up to the slowest store + grace) and the Engine advances after each
// round, so memory follows the coverage window's traffic plus tenants x kinds,
// not the day's operations. Each stream source is read on its own thread and
// connection, a few rounds ahead; the Engine applies the pages on the calling
// thread in round order (report/readers.hh), so thread timing changes nothing.
//
// Throws RunError when a source fails (connect, query, timeout: the text
// names the source and never holds a password), when no trace store is
// configured or one is an otlp_file store, or when a source has not yet been
// read up to the point the day needs (the day is not complete: run after
// day end + grace + out_of_order).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hh"
#include "core/rows.hh"
#include "report/day.hh"
#include "source/log.hh"

namespace provledger::report {

class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DayRead {
  std::map<std::string, TenantDay> days;
  std::vector<FlagRow> flags;          // the current ramps (empty without a flags source)
  std::uint64_t rows_read = 0;
  std::uint64_t decode_errors = 0;     // bad rows skipped (logged by the sources)
};

struct ReadOptions {
  Micros day_start = 0;
  Micros day_end = 0;                  // exclusive
  std::function<void(double)> progress;   // fraction 0..1 of the span stream read
  source::LogFn log;                   // empty: spdlog
};

DayRead ReadDay(const config::Config& cfg, const ReadOptions& options);

}  // namespace provledger::report
