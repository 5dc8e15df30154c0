// The settlement outcome rule, in one place: the engine (engine.cc, Settle)
// and the evidence exporter (src/evidence) both use it.
//
// An operation whose earliest span starts at `start` is judged on the
// receipts created by start + grace (the receipt flush delay); later
// receipts do not count. attested: a receipt whose content hash equals the
// span's attested hash, or any counted receipt when the spans recorded no
// hash; divergent: counted receipts, none matching; missing: none counted.
#pragma once

#include <cstdint>

#include "core/rows.hh"

namespace provledger::compute {

enum class Outcome { kAttested, kDivergent, kMissing };

inline const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kAttested: return "attested";
    case Outcome::kDivergent: return "divergent";
    case Outcome::kMissing: return "missing";
  }
  return "missing";
}

class OutcomeRule {
 public:
  OutcomeRule(Micros start, Micros grace, bool has_attested_hash)
      : deadline_(start + grace), has_attested_(has_attested_hash) {}

  Micros deadline() const { return deadline_; }
  // Whether a receipt created at `created` counts at all.
  bool Counts(Micros created) const { return created <= deadline_; }
  // One receipt; `hash_matches` = its content hash equals the attested hash
  // (ignored when the spans recorded none). Returns whether it counted.
  bool Consider(Micros created, bool hash_matches) {
    if (!Counts(created)) return false;
    with_receipt_ = true;
    matched_ = matched_ || !has_attested_ || hash_matches;
    return true;
  }
  bool with_receipt() const { return with_receipt_; }
  Outcome result() const {
    if (!with_receipt_) return Outcome::kMissing;
    return matched_ ? Outcome::kAttested : Outcome::kDivergent;
  }

 private:
  Micros deadline_;
  bool has_attested_;
  bool with_receipt_ = false;
  bool matched_ = false;
};

}  // namespace provledger::compute
