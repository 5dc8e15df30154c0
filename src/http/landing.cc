#include "http/landing.hh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <vector>

namespace provledger::http {

namespace {

// Escaped and valid UTF-8, whatever a database or config handed us.
std::string E(std::string_view s) { return HtmlEscape(render::SanitizeUtf8(s)); }

std::string Number(double v, const char* fmt = "%.2f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

}  // namespace

namespace {

// Code points that must not reach the page raw: C0 controls, DEL, C1
// controls, and the bidirectional formatting characters (which can reorder
// what an operator reads: "Trojan Source").
bool IsInvisibleOrBidi(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// Decodes one UTF-8 sequence at s[i]; returns its length (0: not valid UTF-8).
std::size_t DecodeUtf8(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  return len;
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += "&#39;"; ++i; continue;
      default: break;
    }
    char32_t cp = 0;
    const std::size_t len = DecodeUtf8(s, i, cp);
    if (len == 0) {  // not UTF-8 (callers sanitise first): keep the byte visible
      char hex[8];
      std::snprintf(hex, sizeof hex, "[0x%02X]", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += hex;
      ++i;
      continue;
    }
    if (IsInvisibleOrBidi(cp)) {
      char esc[16];
      std::snprintf(esc, sizeof esc, "[U+%04X]", static_cast<unsigned>(cp));
      out += esc;
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string FormatUnixSeconds(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds)) return "never";
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "never";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string Opt(const std::optional<double>& v, const char* fmt = "%.1f") {
  return v ? Number(*v, fmt) : std::string("&ndash;");
}

// One tenant row's data.
struct TenantRow {
  std::string tenant;
  const compute::TenantCoverage* coverage = nullptr;
  std::uint64_t divergence = 0;
  std::uint64_t missing = 0;
  std::optional<double> p95;
  bool low_coverage() const { return coverage && coverage->pct < kLandingCoverageMinPct; }
  bool slow() const { return p95 && *p95 > kLandingLatencyP95MaxMs; }
  bool trouble() const { return low_coverage() || divergence > 0 || missing > 0 || slow(); }
};

// Worst first: in trouble, lowest coverage, most divergence, most missing,
// slowest p95 (as shown, 0.1 ms), then name; healthy tenants by name.
bool WorseFirst(const TenantRow& a, const TenantRow& b) {
  if (a.trouble() != b.trouble()) return a.trouble();
  if (!a.trouble()) return a.tenant < b.tenant;
  const double ca = a.coverage ? a.coverage->pct : 101.0;
  const double cb = b.coverage ? b.coverage->pct : 101.0;
  if (ca != cb) return ca < cb;
  if (a.divergence != b.divergence) return a.divergence > b.divergence;
  if (a.missing != b.missing) return a.missing > b.missing;
  const double pa = a.p95 ? std::round(*a.p95 * 10) : -1, pb = b.p95 ? std::round(*b.p95 * 10) : -1;
  if (pa != pb) return pa > pb;
  return a.tenant < b.tenant;
}

std::string Td(const std::string& text, bool bad, bool num = true) {
  std::string cls = num ? "num" : "";
  if (bad) cls += cls.empty() ? "bad" : " bad";
  return (cls.empty() ? std::string("<td>") : "<td class=\"" + cls + "\">") + text + "</td>";
}

std::string Span(std::int64_t us) {
  const std::int64_t sec = std::max<std::int64_t>(0, us / 1000000);
  return sec < 120 ? std::to_string(sec) + " s" : std::to_string(sec / 60) + " min";
}

}  // namespace

std::string RenderLandingPage(const render::Published& published, const render::BuildInfo& build,
                              std::string_view telemetry_path, const LandingLinks& links) {
  const compute::Snapshot& s = published.snapshot;
  const render::Recent& rc = published.recent;
  const std::string path = E(telemetry_path);
  std::string h;
  h.reserve(8192 + 160 * (s.sources.size() + s.coverage.size()));
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<title>provledger_exporter</title>\n<style>\n"
       "body{font-family:sans-serif;margin:2em;color:#222}"
       "table{border-collapse:collapse;margin-bottom:2em}"
       "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}"
       "th{background:#f0f0f0}td.num{text-align:right}td:first-child{white-space:nowrap}"
       ".up{color:#080;font-weight:bold}.down{color:#b00;font-weight:bold}"
       "td.bad{background:#fdd;color:#900;font-weight:bold}"
       "tr.trouble td:first-child{border-left:4px solid #c00}"
       "nav a{margin-right:1.5em}.note{color:#555;font-size:90%}"
       "</style>\n</head>\n<body>\n<h1>provledger_exporter</h1>\n";
  h += "<p>Version " + E(build.version) + " (revision " + E(build.revision) +
       ")</p>\n";
  h += "<nav id=\"links\"><a href=\"" + path + "\">" + path + "</a>";
  if (!links.prometheus_url.empty()) {
    const std::string u = E(links.prometheus_url);
    std::string base = links.prometheus_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    h += "<a id=\"prometheus\" href=\"" + u + "\">Prometheus</a>";
    h += "<a id=\"prometheus-alerts\" href=\"" + E(base + "/classic/alerts") + "\">Prometheus alerts</a>";
  }
  if (!links.grafana_url.empty()) {
    std::string base = links.grafana_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    h += "<a id=\"grafana-tenants\" href=\"" + E(base + "/d/provledger-tenants") + "\">Grafana: tenants</a>";
    h += "<a id=\"grafana-ledger\" href=\"" + E(base + "/d/provledger-ledger") + "\">Grafana: ledger and anchors</a>";
    h += "<a id=\"grafana-exporter\" href=\"" + E(base + "/d/provledger-exporter") + "\">Grafana: exporter health</a>";
  }
  if (s.evidence_jobs.enabled) {
    h += "<a id=\"evidence-api\" href=\"" + E(s.evidence_jobs.api_path) + "\">Evidence export API</a>";
  }
  h += "</nav>\n";
  h += "<p>" + std::to_string(published.exposition.series) + " series, " +
       std::to_string(published.exposition.text.size()) + " bytes (" +
       std::to_string(published.exposition.gzip.size()) +
       " gzipped), rendered once per poll</p>\n";
  h += "<p>Last poll: " + E(FormatUnixSeconds(static_cast<double>(s.now) / 1e6));
  if (s.window_end != kMinMicros) {
    h += "; coverage window ends " +
         E(FormatUnixSeconds(static_cast<double>(s.window_end) / 1e6));
  }
  h += "</p>\n";

  // ---- tenants, worst first
  std::map<std::string, TenantRow> rows;
  for (const auto& c : s.coverage) {
    rows[c.tenant].tenant = c.tenant;
    rows[c.tenant].coverage = &c;
  }
  for (const auto& [t, r] : rc.tenants) {
    auto& row = rows[t];
    row.tenant = t;
    row.divergence = r.divergence;
    row.missing = r.missing;
    row.p95 = r.latency_p95_ms;
  }
  std::vector<TenantRow> sorted;
  sorted.reserve(rows.size());
  std::size_t trouble = 0;
  for (auto& [t, r] : rows) {
    trouble += r.trouble() ? 1 : 0;
    sorted.push_back(std::move(r));
  }
  std::sort(sorted.begin(), sorted.end(), WorseFirst);

  const std::int64_t hour_span = s.now - rc.hour_since;
  const std::int64_t lat_span = s.now - rc.latency_since;
  const std::string hour_label = hour_span >= render::RecentTracker::kHourUs ? "last hour"
                                                                              : "last " + Span(hour_span) + " (since start)";
  const std::string lat_label = lat_span >= render::RecentTracker::kLatencyUs ? "last 5 min"
                                                                              : "last " + Span(lat_span) + " (since start)";
  h += "<h2>Tenants</h2>\n";
  h += "<p id=\"tenant-summary\">" + std::to_string(trouble) + " of " + std::to_string(sorted.size()) +
       " tenants in trouble, listed first (worst first).</p>\n";
  h += "<p class=\"note\">Highlighted: past the governance alerts' thresholds (alerts/rules.yml): "
       "coverage below 100&nbsp;% (CoverageBelow100), any divergence (DivergenceDetected), anchor "
       "latency p95 above 30&nbsp;ms (AnchorLatencySLO), any missing operation; notary proof older "
       "than 60&nbsp;s (NotaryLag, regions). The page's windows are its own: coverage over the "
       "exporter's coverage window, divergence and missing over the " + E(hour_label) + ", latency over the " +
       E(lat_label) + ".</p>\n";
  if (sorted.empty()) {
    h += "<p>No settled operations in the coverage window.</p>\n";
  } else {
    h += "<table id=\"tenants\">\n<tr><th>Tenant</th><th>Coverage (%)</th><th>Settled in window</th>"
         "<th>With receipt</th><th>Divergence (" + E(hour_label) + ")</th><th>Missing ops (" + E(hour_label) +
         ")</th><th>Anchor latency p95 (ms, " + E(lat_label) + ")</th></tr>\n";
    std::size_t healthy_shown = 0;
    std::size_t healthy_left = 0;
    for (const auto& r : sorted) {
      if (!r.trouble()) {
        if (healthy_shown >= kLandingHealthyRows) {
          ++healthy_left;
          continue;
        }
        ++healthy_shown;
      }
      h += r.trouble() ? "<tr class=\"trouble\">" : "<tr>";
      h += "<td>" + E(r.tenant) + "</td>";
      h += Td(r.coverage ? Number(r.coverage->pct) : std::string("&ndash;"), r.low_coverage());
      h += Td(r.coverage ? std::to_string(r.coverage->settled_in_window) : std::string("&ndash;"), false);
      h += Td(r.coverage ? std::to_string(r.coverage->with_receipt) : std::string("&ndash;"), false);
      h += Td(std::to_string(r.divergence), r.divergence > 0);
      h += Td(std::to_string(r.missing), r.missing > 0);
      h += Td(Opt(r.p95), r.slow());
      h += "</tr>\n";
    }
    h += "</table>\n";
    if (healthy_left > 0) {
      h += "<p id=\"tenants-more\">&hellip; and " + std::to_string(healthy_left) +
           " more healthy tenants (all series: <a href=\"" + path + "\">" + path + "</a>).</p>\n";
    }
  }

  // ---- regions
  std::map<std::string, int> regions;
  for (const auto& [r, v] : s.queue_depth) regions[r] = 1;
  for (const auto& [r, v] : s.proofs_last_ts) regions[r] = 1;
  for (const auto& [r, v] : rc.regions) regions[r] = 1;
  h += "<h2>Regions</h2>\n";
  if (regions.empty()) {
    h += "<p>No region measured yet.</p>\n";
  } else {
    h += "<table id=\"regions\">\n<tr><th>Region</th><th>Anchor queue depth</th><th>Notary proof age (s)</th>"
         "<th>Anchor latency p50 (ms, " + E(lat_label) + ")</th><th>Anchor latency p95 (ms, " + E(lat_label) +
         ")</th><th>Anchored (" + E(lat_label) + ")</th></tr>\n";
    for (const auto& [region, unused] : regions) {
      (void)unused;
      h += "<tr><td>" + E(region) + "</td>";
      const auto q = s.queue_depth.find(region);
      h += Td(q == s.queue_depth.end() ? std::string("&ndash;") : std::to_string(q->second), false);
      const auto p = s.proofs_last_ts.find(region);
      if (p == s.proofs_last_ts.end() || !(p->second > 0)) {
        h += Td("no proof yet", false);
      } else {
        const double age = static_cast<double>(s.now) / 1e6 - p->second;
        h += Td(Number(age, "%.0f"), age > kLandingNotaryMaxAgeSeconds);
      }
      const auto l = rc.regions.find(region);
      const render::RegionRecent none;
      const render::RegionRecent& rr = l == rc.regions.end() ? none : l->second;
      h += Td(Opt(rr.latency_p50_ms), false);
      h += Td(Opt(rr.latency_p95_ms), rr.latency_p95_ms && *rr.latency_p95_ms > kLandingLatencyP95MaxMs);
      h += Td(std::to_string(rr.anchored), false);
      h += "</tr>\n";
    }
    h += "</table>\n";
  }

  h += "<h2>Sources</h2>\n";
  if (s.sources.empty()) {
    h += "<p>No poll has finished yet.</p>\n";
  } else {
    h += "<table id=\"sources\">\n<tr><th>Source</th><th>Kind</th><th>State</th><th>Last success</th>"
         "<th>Last poll (s)</th><th>Rows read</th><th>Last error</th></tr>\n";
    for (const auto& src : s.sources) {
      const char* state = src.up ? "<span class=\"up\">up</span>"
                                 : (src.polled ? "<span class=\"down\">down</span>"
                                               : "<span class=\"down\">not polled yet</span>");
      h += "<tr><td>" + E(src.name) + "</td><td>" + E(SourceKindName(src.kind)) +
           "</td><td>" + state + "</td><td>" + E(FormatUnixSeconds(src.last_success_seconds)) +
           "</td><td class=\"num\">" + Number(src.last_poll_duration_seconds, "%.3f") +
           "</td><td class=\"num\">" + std::to_string(src.rows_read) + "</td><td>" +
           E(src.last_error) + "</td></tr>\n";
    }
    h += "</table>\n";
  }

  if (s.evidence_jobs.enabled) {
    const auto& e = s.evidence_jobs;
    const std::string api = E(e.api_path);
    h += "<h2>Evidence export API</h2>\n<p><a href=\"" + api + "\">" + api +
         "</a> (POST an export, then poll its status URL; bearer token required; docs/evidence.md)</p>\n";
    h += "<table>\n<tr><th>Queued</th><th>Running</th><th>Done</th><th>Failed</th><th>Rejected (queue full)</th></tr>\n"
         "<tr><td class=\"num\">" + std::to_string(e.queued) + "</td><td class=\"num\">" + std::to_string(e.running) +
         "</td><td class=\"num\">" + std::to_string(e.done) + "</td><td class=\"num\">" + std::to_string(e.failed) +
         "</td><td class=\"num\">" + std::to_string(e.rejected) + "</td></tr>\n</table>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace provledger::http
