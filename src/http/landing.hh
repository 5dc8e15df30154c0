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

// Optional links on the landing page (config web.prometheus_url,
// web.grafana_url; validated http(s) URLs). Empty: not shown.
struct LandingLinks {
  std::string prometheus_url;  // linked as is, plus its /classic/alerts page
  std::string grafana_url;     // linked to the shipped dashboards by uid: <url>/d/provledger-tenants, ...
};

// The thresholds the page highlights: those of the governance alerts in
// alerts/rules.yml (CoverageBelow100: coverage < 100 %; DivergenceDetected:
// any divergence; AnchorLatencySLO: p95 > 30 ms; NotaryLag: newest proof
// older than 60 s), plus any missing operation. The page's windows are its
// own (coverage window, last hour, last 5 minutes), not the rules'.
inline constexpr double kLandingCoverageMinPct = 100.0;
inline constexpr double kLandingLatencyP95MaxMs = 30.0;
inline constexpr double kLandingNotaryMaxAgeSeconds = 60.0;
// Healthy tenants listed at most (every tenant in trouble is always listed).
inline constexpr std::size_t kLandingHealthyRows = 200;

// The page: tenants in trouble first (coverage below 100 %, divergence or
// missing operations in the last hour, anchor latency p95 above 30 ms),
// worst first: lowest coverage, then most divergence, then most missing;
// then healthy tenants by name. A per-region block (queue depth, notary
// age, anchor latency p50/p95 over the last 5 minutes). Values past a
// threshold are marked class="bad" (highlighted). No script, no external
// asset.
std::string RenderLandingPage(const render::Published& published, const render::BuildInfo& build,
                              std::string_view telemetry_path, const LandingLinks& links = {});

}  // namespace provledger::http
