// Reads what a bundle needs from the configured ledgers and trace stores
// (same config file, src/pq connections with the configured timeouts,
// read-only transactions) and computes each operation's outcome with the
// exporter's rule (compute/outcome.hh). Reference schema only: a source
// whose queries are overridden is refused with a clear error.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hh"
#include "evidence/model.hh"

namespace provledger::pq {
class Connection;
}

namespace provledger::evidence {

// provledger_migrate's default archive table (src/migrate, --archive-table):
// where a migrated receipt's v1 original is kept.
inline constexpr const char* kMigrationArchive = "receipts_v1_archive";

struct CollectError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CollectOptions {
  std::size_t max_operations = 100000;
  // Progress: (phase, done, total); may be empty.
  // It may throw to abandon the export (the exception propagates).
  std::function<void(const std::string&, std::size_t, std::size_t)> progress;
  // Each connection's statement_timeout (and lock_timeout): -1 = the
  // source's configured statement_timeout.
  std::int64_t statement_timeout_ms = -1;
  std::string application_name;   // "" = the pq default
  // Called with each connection right after it opened (e.g. to take its
  // CancelHandle); may be empty.
  std::function<void(const pq::Connection&)> on_connect;
};

struct Collected {
  std::vector<OpEvidence> ops;                 // sorted by op_id
  std::vector<std::string> mask;               // pointers applied (global + tenant)
  std::vector<std::string> warnings;           // e.g. an anchor whose root does not match its members
};

// Throws CollectError (config problems, too many operations) or pq::PqError
// (database); `now` decides `settled`.
Collected Collect(const config::Config& cfg, const Query& q, Micros now, const CollectOptions& opt);

// The masks that apply to `tenant`: evidence.mask + evidence.mask_by_tenant[tenant].
std::vector<std::string> MasksFor(const config::Config& cfg, const std::string& tenant);

// PostgreSQL text[] literal of `items`.
std::string TextArray(const std::vector<std::string>& items);

// Fills outcome, reason, settled, span_start, attested_hash and each
// receipt's `counts` from spans and receipts (pure).
void DecideOutcome(OpEvidence& op, Micros grace, Micros now);

}  // namespace provledger::evidence
