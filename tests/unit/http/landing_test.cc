// Landing page: content and HTML escaping of everything that comes from a
// database or the config.
#include <boost/test/unit_test.hpp>

#include <cstdio>

#include "http/landing.hh"

namespace provledger::http {
namespace {

BOOST_AUTO_TEST_CASE(html_escape) {
  BOOST_TEST(HtmlEscape("<a href=\"x\">'&'</a>") ==
             "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  BOOST_TEST(HtmlEscape("plain Z\xC3\xBCrich") == "plain Z\xC3\xBCrich");
}

// Issue 9, item 8: control and bidi characters in tenant names never reach
// the page raw.
BOOST_AUTO_TEST_CASE(html_escape_shows_controls_and_bidi_characters) {
  BOOST_TEST(HtmlEscape(std::string("a\0b", 3)) == "a[U+0000]b");
  BOOST_TEST(HtmlEscape("tab\there\nline\x1b[31m\x7f") == "tab[U+0009]here[U+000A]line[U+001B][31m[U+007F]");
  BOOST_TEST(HtmlEscape("c1\xC2\x85") == "c1[U+0085]");                      // NEL
  BOOST_TEST(HtmlEscape("acme\xE2\x80\xAE" "evil") == "acme[U+202E]evil");     // RIGHT-TO-LEFT OVERRIDE
  BOOST_TEST(HtmlEscape("\xE2\x81\xA6x\xE2\x81\xA9") == "[U+2066]x[U+2069]");  // LRI ... PDI
  BOOST_TEST(HtmlEscape("\xE2\x80\x8F\xD8\x9C") == "[U+200F][U+061C]");     // RLM, ALM
  BOOST_TEST(HtmlEscape("\xE2\x80\x8B") == "\xE2\x80\x8B");                 // ZWSP is not bidi: kept
  BOOST_TEST(HtmlEscape("\xff\xC3") == "[0xFF][0xC3]");                        // not UTF-8
  BOOST_TEST(HtmlEscape("\xE6\x97\xA5\xF0\x9F\x98\x80") == "\xE6\x97\xA5\xF0\x9F\x98\x80");
}

BOOST_AUTO_TEST_CASE(page_shows_bidi_tenant_escaped) {
  render::Published p;
  p.snapshot.coverage = {{"acme\xE2\x80\xAE\x1b[2Jevil", 4, 3, 75}};
  const std::string page = RenderLandingPage(p, render::BuildInfo{"1", "r"}, "/metrics");
  BOOST_TEST(page.find("acme[U+202E][U+001B][2Jevil") != std::string::npos);
  BOOST_TEST(page.find("\xE2\x80\xAE") == std::string::npos);
  BOOST_TEST(page.find('\x1b') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(format_unix_seconds) {
  BOOST_TEST(FormatUnixSeconds(1700000000.9) == "2023-11-14T22:13:20Z");
  BOOST_TEST(FormatUnixSeconds(0) == "never");
  BOOST_TEST(FormatUnixSeconds(-5) == "never");
}

BOOST_AUTO_TEST_CASE(page_lists_sources_and_coverage_escaped) {
  render::Published p;
  p.snapshot.now = 1700000000000000;
  p.exposition.text = "x 1\n";
  p.exposition.gzip = "zz";
  p.exposition.series = 1;
  compute::SourceHealth ok;
  ok.name = "ledger-eu";
  ok.up = true;
  ok.polled = true;
  ok.last_success_seconds = 1700000000;
  ok.rows_read = 42;
  compute::SourceHealth bad;
  bad.name = "traces<b>";
  bad.kind = SourceKind::kTraces;
  bad.polled = true;
  bad.last_error = "could not connect: <script>alert(1)</script> & \"quoted\"";
  p.snapshot.sources = {ok, bad};
  p.snapshot.coverage = {{"<script>alert('x')</script>", 200, 197, 98.5}, {"beta", 10, 10, 100}};
  const std::string page =
      RenderLandingPage(p, render::BuildInfo{"1.2.3<", "rev\"1"}, "/metrics?a=<b>");

  BOOST_TEST(page.rfind("<!DOCTYPE html>", 0) == 0);
  BOOST_TEST(page.find("<title>provledger_exporter</title>") != std::string::npos);
  BOOST_TEST(page.find("1.2.3&lt;") != std::string::npos);
  BOOST_TEST(page.find("rev&quot;1") != std::string::npos);
  BOOST_TEST(page.find("href=\"/metrics?a=&lt;b&gt;\"") != std::string::npos);
  BOOST_TEST(page.find("1 series, 4 bytes (2 gzipped)") != std::string::npos);
  BOOST_TEST(page.find("<td>ledger-eu</td>") != std::string::npos);
  BOOST_TEST(page.find("<td>traces&lt;b&gt;</td>") != std::string::npos);
  BOOST_TEST(page.find("2023-11-14T22:13:20Z") != std::string::npos);
  BOOST_TEST(page.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;") != std::string::npos);
  BOOST_TEST(page.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != std::string::npos);
  BOOST_TEST(page.find("<td class=\"num\">197</td>") != std::string::npos);
  BOOST_TEST(page.find("98.50") != std::string::npos);
  BOOST_TEST(page.find("<script") == std::string::npos);  // nothing executable got through
  BOOST_TEST(page.find("http://") == std::string::npos);  // no external assets
  BOOST_TEST(page.find("https://") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(page_before_first_poll) {
  render::Published p;
  const std::string page = RenderLandingPage(p, render::BuildInfo{"v", "r"}, "/metrics");
  BOOST_TEST(page.find("No poll has finished yet.") != std::string::npos);
  BOOST_TEST(page.find("No settled operations in the coverage window.") != std::string::npos);
}

// Issue 16: tenants in trouble first (worst first), values past the alert
// thresholds highlighted, per-region block, configured links.
BOOST_AUTO_TEST_CASE(trouble_first_highlighted_regions_and_links) {
  render::Published p;
  p.snapshot.now = 1700000000000000;
  p.recent.hour_since = p.snapshot.now - 3600LL * 1000000;
  p.recent.latency_since = p.snapshot.now - 300LL * 1000000;
  p.snapshot.coverage = {{"alpha", 100, 100, 100}, {"bravo", 100, 90, 90}, {"charlie", 100, 99, 99},
                         {"delta", 50, 50, 100}, {"echo", 10, 10, 100}};
  p.recent.tenants["alpha"] = {0, 0, 12.5};
  p.recent.tenants["delta"] = {3, 0, 14.0};   // full coverage, divergence in the last hour
  p.recent.tenants["echo"] = {0, 0, 31.0};    // p95 above 30 ms
  p.recent.tenants["foxtrot"] = {0, 2, {}};   // missing ops, no coverage sample
  p.snapshot.queue_depth = {{"eu-west", 17}, {"us-east", 2}};
  p.snapshot.proofs_last_ts = {{"eu-west", 1700000000.0 - 61}, {"us-east", 1700000000.0 - 3}};
  p.recent.regions["eu-west"] = {11.0, 35.5, 400};
  const std::string page = RenderLandingPage(p, render::BuildInfo{"1", "r"}, "/metrics",
                                             {"http://127.0.0.1:9090/", "https://grafana.example.org"});
  auto at = [&](const std::string& s) { return page.find(s); };
  // Order: bravo (90 %), charlie (99 %), delta (divergence), echo (slow), foxtrot (missing), then alpha.
  const std::vector<std::string> order = {"<td>bravo</td>", "<td>charlie</td>", "<td>delta</td>",
                                          "<td>echo</td>", "<td>foxtrot</td>", "<td>alpha</td>"};
  for (std::size_t i = 0; i < order.size(); ++i) {
    BOOST_TEST_REQUIRE(at(order[i]) != std::string::npos, order[i]);
    if (i > 0) BOOST_TEST(at(order[i - 1]) < at(order[i]), order[i - 1] << " before " << order[i]);
  }
  BOOST_TEST(page.find("5 of 6 tenants in trouble") != std::string::npos);
  BOOST_TEST(page.find("<tr class=\"trouble\"><td>bravo</td><td class=\"num bad\">90.00</td>") != std::string::npos);
  BOOST_TEST(page.find("<tr><td>alpha</td><td class=\"num\">100.00</td>") != std::string::npos);
  BOOST_TEST(page.find("<td class=\"num bad\">3</td>") != std::string::npos);     // delta's divergence
  BOOST_TEST(page.find("<td class=\"num bad\">31.0</td>") != std::string::npos);  // echo's p95
  BOOST_TEST(page.find("<td class=\"num\">14.0</td>") != std::string::npos);      // 14 ms: fine
  BOOST_TEST(page.find("<td class=\"num bad\">2</td>") != std::string::npos);     // foxtrot's missing
  BOOST_TEST(page.find("Divergence (last hour)") != std::string::npos);
  // Regions: eu-west notary 61 s old (> 60: bad), p95 35.5 (bad); us-east fine.
  BOOST_TEST(page.find("<tr><td>eu-west</td><td class=\"num\">17</td><td class=\"num bad\">61</td>"
                       "<td class=\"num\">11.0</td><td class=\"num bad\">35.5</td><td class=\"num\">400</td></tr>") !=
             std::string::npos);
  BOOST_TEST(page.find("<tr><td>us-east</td><td class=\"num\">2</td><td class=\"num\">3</td>") != std::string::npos);
  // Links.
  BOOST_TEST(page.find("href=\"http://127.0.0.1:9090/\">Prometheus</a>") != std::string::npos);
  BOOST_TEST(page.find("href=\"http://127.0.0.1:9090/classic/alerts\"") != std::string::npos);
  BOOST_TEST(page.find("href=\"https://grafana.example.org/d/provledger-tenants\"") != std::string::npos);
  BOOST_TEST(page.find("<script") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(healthy_rows_are_capped_trouble_never) {
  render::Published p;
  for (int i = 0; i < 300; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "t%03d", i);
    p.snapshot.coverage.push_back({name, 10, static_cast<std::uint64_t>(i < 250 ? 10 : 9), i < 250 ? 100.0 : 90.0});
  }
  const std::string page = RenderLandingPage(p, render::BuildInfo{"1", "r"}, "/metrics");
  BOOST_TEST(page.find("50 of 300 tenants in trouble") != std::string::npos);
  BOOST_TEST(page.find("<td>t299</td>") != std::string::npos);
  BOOST_TEST(page.find("<td>t199</td>") != std::string::npos);
  BOOST_TEST(page.find("<td>t200</td>") == std::string::npos);  // 200 healthy shown, 50 left
  BOOST_TEST(page.find("and 50 more healthy tenants") != std::string::npos);
  BOOST_TEST(page.find("id=\"prometheus\"") == std::string::npos);  // no link configured
}

}  // namespace
}  // namespace provledger::http
