// The HTML landing page at "/". Pure: built from a published snapshot on each
// request (it is not the hot path). Self-contained: inline CSS, no external
// assets, no scripts. Every value from the snapshot or config is HTML-escaped.
#pragma once

#include <string>
#include <string_view>

#include "render/families.hh"
#include "render/publisher.hh"

namespace provledger::http {

// Escapes & < > " ' for HTML text and attribute values, and shows control
// characters (C0, DEL, C1) and bidirectional formatting characters (U+061C,
// U+200E/F, U+202A-E, U+2066-9) as the visible text "[U+XXXX]" instead of
// emitting them (issue 9, item 8); a byte that is not UTF-8 becomes "[0xXX]".
std::string HtmlEscape(std::string_view s);

// "YYYY-MM-DDTHH:MM:SSZ" (UTC) for Unix seconds; "never" for <= 0.
std::string FormatUnixSeconds(double seconds);

std::string RenderLandingPage(const render::Published& published, const render::BuildInfo& build,
                              std::string_view telemetry_path);

}  // namespace provledger::http
