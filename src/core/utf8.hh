// UTF-8 validation and log-safe rendering of untrusted bytes. Pure, no I/O,
// never throws (except std::bad_alloc). Thread-safe (no state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace provledger {

// True when `s` is well-formed UTF-8 (RFC 3629): no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.
// U+0000 is well-formed UTF-8; callers that must refuse NUL check it apart.
bool IsValidUtf8(std::string_view s);

// `s` made safe for a log line: printable ASCII kept, `\` and `"` escaped,
// other bytes (control, non-ASCII, invalid) as \xNN, cut after `max_bytes`
// input bytes with a trailing "...(N bytes)". Never contains a newline.
std::string Printable(std::string_view s, std::size_t max_bytes = 64);

}  // namespace provledger
