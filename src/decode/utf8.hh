// The UTF-8 check and Printable() live in core/utf8.hh (shared with
// src/receipt); decode:: keeps its names for its callers.
#pragma once

#include "core/utf8.hh"

namespace provledger::decode {

using provledger::IsValidUtf8;
using provledger::Printable;

}  // namespace provledger::decode
