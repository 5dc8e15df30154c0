#include "config/dsn.hh"

#include <libpq-fe.h>

#include <cctype>
#include <memory>

namespace provledger::config {
namespace {

bool IsSecretKeyword(std::string_view k) { return k == "password" || k == "sslpassword"; }

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// libpq expands a dbname that is itself a connection string (it contains '='
// or starts with a URI scheme) when expand_dbname is set.
bool LooksLikeConninfo(std::string_view v) {
  return v.find('=') != std::string_view::npos || StartsWith(v, "postgresql://") || StartsWith(v, "postgres://");
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool IsLibpqKeywordNoCase(std::string_view word) {
  if (word.empty() || word.size() > 64) return false;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> defaults(PQconndefaults(), &PQconninfoFree);
  if (!defaults) return false;
  for (const PQconninfoOption* o = defaults.get(); o->keyword != nullptr; ++o) {
    if (EqualsNoCase(word, o->keyword)) return true;
  }
  return false;
}

// libpq's message without the text it quotes from the DSN.
std::string SafeMessage(std::string msg) {
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.pop_back();
  std::string out;
  std::size_t i = 0;
  while (i < msg.size()) {
    const std::size_t open = msg.find('"', i);
    if (open == std::string::npos) {
      out.append(msg, i, std::string::npos);
      break;
    }
    const std::size_t close = msg.find('"', open + 1);
    if (close == std::string::npos) {
      out.append(msg, i, open - i).append("\"...\"");
      break;
    }
    out.append(msg, i, open - i);
    const std::string_view quoted(msg.data() + open + 1, close - open - 1);
    out.append("\"").append(IsLibpqKeywordNoCase(quoted) ? quoted : std::string_view("...")).append("\"");
    i = close + 1;
  }
  if (out.empty()) out = "libpq cannot parse it";
  return out;
}

std::string QuoteValue(std::string_view v) {
  const bool plain = !v.empty() && v.find_first_of(" \t\r\n'\\") == std::string_view::npos;
  if (plain) return std::string(v);
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

void CollectSecrets(std::string_view dsn, std::vector<std::string>& out, int depth) {
  auto parsed = ParseDsn(dsn, nullptr);
  if (!parsed) return;
  for (const DsnOption& o : *parsed) {
    if (IsSecretKeyword(o.keyword) && !o.value.empty()) out.push_back(o.value);
    if (o.keyword == "dbname" && depth == 0 && LooksLikeConninfo(o.value)) CollectSecrets(o.value, out, depth + 1);
  }
}

std::string Redact(std::string_view dsn, int depth) {
  auto parsed = ParseDsn(dsn, nullptr);
  if (!parsed) return "<unparsable dsn>";
  std::string out;
  for (const DsnOption& o : *parsed) {
    if (!out.empty()) out.push_back(' ');
    out.append(o.keyword).push_back('=');
    if (IsSecretKeyword(o.keyword)) {
      out.append("***");
    } else if (o.keyword == "dbname" && LooksLikeConninfo(o.value)) {
      // libpq does not expand it twice; anything deeper is hidden whole.
      out.append(depth == 0 ? QuoteValue(Redact(o.value, depth + 1)) : "***");
    } else {
      out.append(QuoteValue(o.value));
    }
  }
  return out;
}

bool HasPassword(std::string_view dsn, int depth) {
  auto parsed = ParseDsn(dsn, nullptr);
  if (!parsed) return false;
  for (const DsnOption& o : *parsed) {
    if (IsSecretKeyword(o.keyword)) return true;
    // libpq expands dbname once; a deeper one is a plain database name.
    if (o.keyword == "dbname" && depth == 0 && LooksLikeConninfo(o.value) && HasPassword(o.value, 1)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::vector<DsnOption>> ParseDsn(std::string_view dsn, std::string* error) {
  const std::string text(dsn);
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(text.c_str(), &err);
  if (parsed == nullptr) {
    if (error != nullptr) *error = err != nullptr ? SafeMessage(err) : std::string("out of memory");
    if (err != nullptr) PQfreemem(err);
    return std::nullopt;
  }
  std::vector<DsnOption> out;
  for (const PQconninfoOption* p = parsed; p->keyword != nullptr; ++p) {
    if (p->val != nullptr) out.push_back({p->keyword, p->val});
  }
  PQconninfoFree(parsed);
  return out;
}

bool DsnHasPassword(std::string_view dsn) { return HasPassword(dsn, 0); }

std::string RedactDsn(std::string_view dsn) {
  try {
    return Redact(dsn, 0);
  } catch (...) {
    return "<dsn>";
  }
}

std::vector<std::string> DsnSecrets(std::string_view dsn) {
  std::vector<std::string> out;
  CollectSecrets(dsn, out, 0);
  return out;
}

}  // namespace provledger::config
