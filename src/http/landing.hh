// The HTML landing page at "/". Pure: built from a published snapshot on each
// request (it is not the hot path). Self-contained: inline CSS, no external
// assets, no scripts. Every value from the snapshot or config is HTML-escaped.
#pragma once

#include <string>
#include <string_view>

#include "render/families.hh"
#include "render/publisher.hh"

namespace provledger::http {

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view s);

// "YYYY-MM-DDTHH:MM:SSZ" (UTC) for Unix seconds; "never" for <= 0.
std::string FormatUnixSeconds(double seconds);

std::string RenderLandingPage(const render::Published& published, const render::BuildInfo& build,
                              std::string_view telemetry_path);

}  // namespace provledger::http
