// flags.spec as the controller writes it: one line per tenant, in flow style,
// tenants and features in the order of the file it read (new pairs are never
// added), a header comment:
//
//   # written by provledger_ramp; tenant: {feature: percent}
//   acme: {new_checkout: 50, fast_anchor: 100}
//
// Names that YAML would read as something else (true, null, 1e3, "a: b", ...)
// are double-quoted. source::ParseFlagsSpec reads the text back to the same
// rows (pinned by the unit tests). Pure.
#pragma once

#include <string>
#include <vector>

#include "core/rows.hh"

namespace provledger::ramp {

std::string RenderFlagsSpec(const std::vector<FlagRow>& rows);

// One line per tenant whose line differs, unified-diff style ("-old", "+new"),
// in the order of `before`. Empty when nothing changed.
std::string FlagsDiff(const std::vector<FlagRow>& before, const std::vector<FlagRow>& after);

}  // namespace provledger::ramp
