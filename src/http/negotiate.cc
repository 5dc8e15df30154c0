#include "http/negotiate.hh"

#include <cstddef>

namespace provledger::http {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ). Returns the
// value in thousandths, or -1 if malformed.
int ParseQ(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int whole = v[0] - '0';
  int frac = 0;
  if (v.size() > 1) {
    if (v[1] != '.' || v.size() > 5) return -1;
    int scale = 100;
    for (std::size_t i = 2; i < v.size(); ++i) {
      if (v[i] < '0' || v[i] > '9') return -1;
      frac += (v[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (whole == 1 && frac != 0) return -1;
  return whole * 1000 + frac;
}

}  // namespace

bool AcceptsGzip(std::string_view header) {
  int gzip_q = -1;  // -1: not listed
  int star_q = -1;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view entry = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);

    const std::size_t semi = entry.find(';');
    const std::string_view coding = Trim(entry.substr(0, semi));
    if (coding.empty()) continue;
    int q = 1000;
    bool malformed = false;
    std::string_view params = semi == std::string_view::npos ? std::string_view{} : entry.substr(semi + 1);
    while (!params.empty()) {
      const std::size_t next = params.find(';');
      const std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      const std::size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      if (IEquals(Trim(param.substr(0, eq)), "q")) {
        q = ParseQ(Trim(param.substr(eq + 1)));
        if (q < 0) malformed = true;
      }
    }
    if (malformed) continue;
    if (IEquals(coding, "gzip") || IEquals(coding, "x-gzip")) {
      gzip_q = gzip_q < 0 ? q : (q > gzip_q ? q : gzip_q);
    } else if (coding == "*") {
      star_q = q;
    }
  }
  if (gzip_q >= 0) return gzip_q > 0;
  return star_q > 0;
}

}  // namespace provledger::http
