// ParseFlagsSpec: the flags.spec YAML file the ramp controller writes,
// tenant -> feature -> percent, parsed into FlagRows. Pure (no file I/O);
// uses yaml-cpp. Never throws (only std::bad_alloc). Thread-safe.
//
// Format (either form):
//   acme: {new_checkout: 25, fast_anchor: 100}
//   globex:
//     new_checkout: 12.5
// or wrapped:
//   tenants:
//     acme: {new_checkout: 25}
// The wrapped form is recognised when the top level has a `tenants` key
// whose value is a mapping of mappings (non-empty, or the only key); other
// top-level keys beside it (e.g. `version`, `generated_at`) are ignored.
// An empty file (or `{}`/null document) is a valid, empty set. The file is
// one YAML document of at most kMaxFlagsSpecBytes (config/yaml_document.hh:
// a second document, or a larger file, is fatal).
//
// Entry errors (tenant name invalid or too long, tenant value not a
// mapping, duplicate tenant or feature, feature name invalid, pct not a
// finite number or outside [0, 100]) drop that entry only and are listed in
// `errors`. A YAML syntax error or a top level that is not a mapping makes
// the whole file unusable: `fatal` is set and `rows` is empty.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/rows.hh"

namespace provledger::source {

inline constexpr std::size_t kMaxFlagsSpecBytes = 16 << 20;

struct FlagsSpecError {
  std::string file;
  int line = 0;       // 1-based; 0 = unknown
  int column = 0;     // 1-based; 0 = unknown
  std::string message;
  // "file:line:column: message"
  std::string str() const;
};

struct FlagsSpec {
  std::vector<FlagRow> rows;            // in file order
  std::vector<FlagsSpecError> errors;
  bool fatal = false;                   // the file as a whole could not be used
};

FlagsSpec ParseFlagsSpec(std::string_view text, std::string_view filename,
                         std::size_t max_name_bytes = 128);

}  // namespace provledger::source
