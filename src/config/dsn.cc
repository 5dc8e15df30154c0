// Password detection in libpq connection strings. It follows libpq's own
// parsing (conninfo_parse / conninfo_uri_parse_options) closely enough that a
// password libpq would use is found; when the keyword/value text cannot be
// tokenized it falls back to a plain "password =" search, erring on the side of
// rejecting the DSN.
#include <cctype>
#include <string>
#include <string_view>

#include "config/load.hh"

namespace provledger::config {
namespace {

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool IsUri(std::string_view s) {
  return StartsWith(s, "postgresql://") || StartsWith(s, "postgres://");
}

bool UriHasPassword(std::string_view uri) {
  std::string_view rest = uri.substr(uri.find("://") + 3);
  // Credentials: everything before '@', looked for up to the first '/', as libpq does.
  std::size_t stop = rest.find_first_of("@/");
  if (stop != std::string_view::npos && rest[stop] == '@') {
    if (rest.substr(0, stop).find(':') != std::string_view::npos) return true;
  }
  std::size_t query = rest.find('?');
  if (query == std::string_view::npos) return false;
  std::string_view params = rest.substr(query + 1);
  while (!params.empty()) {
    std::size_t amp = params.find('&');
    std::string_view param = params.substr(0, amp);
    std::string_view key = param.substr(0, param.find('='));
    if (key == "password") return true;
    if (key == "dbname") {
      // dbname may itself be a full connection string; percent-encoding aside, check it too.
      std::size_t eq = param.find('=');
      if (eq != std::string_view::npos && DsnHasPassword(param.substr(eq + 1))) return true;
    }
    if (amp == std::string_view::npos) break;
    params.remove_prefix(amp + 1);
  }
  return false;
}

// Conservative fallback: any "password" word followed by optional spaces and '='.
bool LooseSearch(std::string_view s) {
  for (std::size_t at = s.find("password"); at != std::string_view::npos;
       at = s.find("password", at + 1)) {
    if (at > 0 && !IsSpace(s[at - 1])) continue;
    std::size_t j = at + 8;
    while (j < s.size() && IsSpace(s[j])) ++j;
    if (j < s.size() && s[j] == '=') return true;
  }
  return false;
}

bool KeywordValueHasPassword(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (true) {
    while (i < n && IsSpace(s[i])) ++i;
    if (i >= n) return false;
    std::size_t key_start = i;
    while (i < n && !IsSpace(s[i]) && s[i] != '=') ++i;
    std::string_view key = s.substr(key_start, i - key_start);
    while (i < n && IsSpace(s[i])) ++i;
    if (i >= n || s[i] != '=') return LooseSearch(s);
    ++i;
    while (i < n && IsSpace(s[i])) ++i;
    std::string value;
    if (i < n && s[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (s[i] == '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
        } else if (s[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          value += s[i++];
        }
      }
      if (!closed) return LooseSearch(s);
    } else {
      while (i < n && !IsSpace(s[i])) {
        if (s[i] == '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
        } else {
          value += s[i++];
        }
      }
    }
    if (key == "password") return true;
    // libpq expands a dbname that is itself a connection string or URI.
    if (key == "dbname" && (IsUri(value) || value.find('=') != std::string::npos) &&
        DsnHasPassword(value)) {
      return true;
    }
  }
}

}  // namespace

bool DsnHasPassword(std::string_view dsn) {
  while (!dsn.empty() && IsSpace(dsn.front())) dsn.remove_prefix(1);
  if (IsUri(dsn)) return UriHasPassword(dsn);
  return KeywordValueHasPassword(dsn);
}

}  // namespace provledger::config
