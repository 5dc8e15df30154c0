#include "core/rows.hh"

namespace provledger {

const char* ErrorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::kConnect: return "connect";
    case ErrorKind::kQuery: return "query";
    case ErrorKind::kDecode: return "decode";
    case ErrorKind::kTimeout: return "timeout";
  }
  return "query";
}

const char* SourceKindName(SourceKind k) {
  switch (k) {
    case SourceKind::kLedger: return "ledger";
    case SourceKind::kTraces: return "traces";
    case SourceKind::kFlags: return "flags";
  }
  return "ledger";
}

}  // namespace provledger
