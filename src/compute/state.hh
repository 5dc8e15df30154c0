// What survives a restart (the state file): a consistent picture of counters,
// the settled-up-to point and cursors. Pure data; src/state serializes it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compute/snapshot.hh"
#include "core/file_position.hh"
#include "core/rows.hh"

namespace provledger::compute {

struct StreamPosition {
  Micros ts = kMinMicros;
  std::string id;
  bool operator==(const StreamPosition&) const = default;
};

struct PersistentState {
  static constexpr int kVersion = 1;
  int version = kVersion;
  Micros saved_at = 0;                     // exporter clock
  Micros window_end = kMinMicros;          // operations starting at or before this were settled and counted
  std::map<std::string, StreamPosition> anchored_cursors;   // ledger name -> anchored stream position
  std::map<std::string, SettledCounts> settled;            // tenant ->
  std::map<std::string, std::uint64_t> divergence;         // tenant ->
  std::vector<double> latency_bounds_ms;
  bool latency_per_tenant = true;
  std::map<std::pair<std::string, std::string>, HistogramData> anchor_latency;   // (region, tenant)
  std::vector<std::pair<std::uint64_t, Micros>> counted_receipt_divergences;    // receipt key, created
  std::uint64_t tenants_dropped = 0;
  std::vector<std::uint64_t> dropped_tenants;                                   // fingerprints refused by the cap
  std::map<std::string, FileCursors> file_cursors;   // otlp_file trace store name -> position (optional in the file)
};

}  // namespace provledger::compute
