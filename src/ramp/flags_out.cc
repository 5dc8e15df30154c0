#include "ramp/flags_out.hh"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <string_view>
#include <utility>

#include "ramp/decide.hh"

namespace provledger::ramp {
namespace {

bool NeedsQuotes(std::string_view s) {
  if (s.empty()) return true;
  auto first = static_cast<unsigned char>(s[0]);
  if (!(std::isalpha(first) || first == '_')) return true;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == '/')) return true;
  }
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* w : {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}) {
    if (lower == w) return true;
  }
  return false;
}

std::string Scalar(std::string_view s) {
  if (!NeedsQuotes(s)) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// tenant -> its line, tenants in first-seen order.
std::vector<std::pair<std::string, std::string>> Lines(const std::vector<FlagRow>& rows) {
  std::vector<std::pair<std::string, std::string>> lines;
  std::map<std::string, std::size_t> index;
  for (const FlagRow& r : rows) {
    auto [it, fresh] = index.emplace(r.tenant, lines.size());
    if (fresh) lines.emplace_back(r.tenant, Scalar(r.tenant) + ": {");
    std::string& line = lines[it->second].second;
    if (line.back() != '{') line += ", ";
    line += Scalar(r.feature) + ": " + FormatPct(r.pct);
  }
  for (auto& [tenant, line] : lines) line += "}";
  return lines;
}

}  // namespace

std::string RenderFlagsSpec(const std::vector<FlagRow>& rows) {
  std::string out = "# written by provledger_ramp; tenant: {feature: percent}\n";
  for (const auto& [tenant, line] : Lines(rows)) out += line + "\n";
  return out;
}

std::string FlagsDiff(const std::vector<FlagRow>& before, const std::vector<FlagRow>& after) {
  auto a = Lines(before);
  auto b = Lines(after);
  std::map<std::string, std::string> bmap(b.begin(), b.end());
  std::string out;
  for (const auto& [tenant, line] : a) {
    auto it = bmap.find(tenant);
    const std::string now = it == bmap.end() ? std::string() : it->second;
    if (now == line) continue;
    out += "-" + line + "\n";
    if (!now.empty()) out += "+" + now + "\n";
  }
  return out;
}

}  // namespace provledger::ramp
