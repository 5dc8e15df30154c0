#include "http/landing.hh"

#include <cmath>
#include <cstdio>
#include <ctime>

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

std::string RenderLandingPage(const render::Published& published, const render::BuildInfo& build,
                              std::string_view telemetry_path) {
  const compute::Snapshot& s = published.snapshot;
  const std::string path = E(telemetry_path);
  std::string h;
  h.reserve(4096 + 128 * (s.sources.size() + s.coverage.size()));
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<title>provledger_exporter</title>\n<style>\n"
       "body{font-family:sans-serif;margin:2em;color:#222}"
       "table{border-collapse:collapse;margin-bottom:2em}"
       "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}"
       "th{background:#f0f0f0}td.num{text-align:right}"
       ".up{color:#080;font-weight:bold}.down{color:#b00;font-weight:bold}"
       "</style>\n</head>\n<body>\n<h1>provledger_exporter</h1>\n";
  h += "<p>Version " + E(build.version) + " (revision " + E(build.revision) +
       ")</p>\n";
  h += "<p><a href=\"" + path + "\">" + path + "</a> &mdash; " +
       std::to_string(published.exposition.series) + " series, " +
       std::to_string(published.exposition.text.size()) + " bytes (" +
       std::to_string(published.exposition.gzip.size()) +
       " gzipped), rendered once per poll</p>\n";
  h += "<p>Last poll: " + E(FormatUnixSeconds(static_cast<double>(s.now) / 1e6));
  if (s.window_end != kMinMicros) {
    h += "; coverage window ends " +
         E(FormatUnixSeconds(static_cast<double>(s.window_end) / 1e6));
  }
  h += "</p>\n";

  h += "<h2>Sources</h2>\n";
  if (s.sources.empty()) {
    h += "<p>No poll has finished yet.</p>\n";
  } else {
    h += "<table>\n<tr><th>Source</th><th>Kind</th><th>State</th><th>Last success</th>"
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

  h += "<h2>Coverage per tenant</h2>\n";
  if (s.coverage.empty()) {
    h += "<p>No settled operations in the coverage window.</p>\n";
  } else {
    h += "<table>\n<tr><th>Tenant</th><th>Settled in window</th><th>With receipt</th>"
         "<th>Coverage (%)</th></tr>\n";
    for (const auto& c : s.coverage) {
      h += "<tr><td>" + E(c.tenant) + "</td><td class=\"num\">" +
           std::to_string(c.settled_in_window) + "</td><td class=\"num\">" +
           std::to_string(c.with_receipt) + "</td><td class=\"num\">" + Number(c.pct) +
           "</td></tr>\n";
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
