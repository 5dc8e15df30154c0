#include "source/plan_check.hh"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace provledger::source {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }

// `word` occurs in `text` (both lower case) as a whole identifier.
bool HasWord(std::string_view text, std::string_view word) {
  if (word.empty()) return false;
  for (std::size_t at = text.find(word); at != std::string_view::npos; at = text.find(word, at + 1)) {
    const bool left = at == 0 || !IdentChar(text[at - 1]);
    const bool right = at + word.size() >= text.size() || !IdentChar(text[at + word.size()]);
    if (left && right) return true;
  }
  return false;
}

void Walk(const nlohmann::json& node, std::string_view key, bool& indexed) {
  if (!node.is_object()) return;
  for (const char* field : {"Index Cond", "Recheck Cond"}) {
    auto it = node.find(field);
    if (it != node.end() && it->is_string()) {
      if (key.empty() || HasWord(Lower(it->get<std::string>()), key)) indexed = true;
    }
  }
  if (auto p = node.find("Plans"); p != node.end() && p->is_array()) {
    for (const auto& child : *p) Walk(child, key, indexed);
  }
}

std::string NodeText(const nlohmann::json& node) {
  std::string s = node.value("Node Type", std::string("?"));
  if (auto i = node.find("Index Name"); i != node.end() && i->is_string()) s += " using " + i->get<std::string>();
  if (auto r = node.find("Relation Name"); r != node.end() && r->is_string()) s += " on " + r->get<std::string>();
  return s;
}

// ---- a small SQL tokenizer: enough to find the outer clauses ----

struct Token {
  enum Kind { kWord, kQuoted, kString, kOther } kind;
  std::string text;   // words lower case; quoted identifiers without quotes
  int depth;          // parenthesis depth
};

std::vector<Token> Tokenize(std::string_view sql) {
  std::vector<Token> out;
  int depth = 0;
  std::size_t i = 0;
  const std::size_t n = sql.size();
  while (i < n) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      const auto end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? n : end + 2;
    } else if (c == '\'' || c == '"') {
      std::string text;
      ++i;
      while (i < n) {
        if (sql[i] == c) {
          if (i + 1 < n && sql[i + 1] == c) {
            text += c;
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        text += sql[i++];
      }
      out.push_back({c == '"' ? Token::kQuoted : Token::kString, std::move(text), depth});
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const std::size_t b = i;
      while (i < n && IdentChar(sql[i])) ++i;
      out.push_back({Token::kWord, Lower(sql.substr(b, i - b)), depth});
    } else if (c == '(') {
      out.push_back({Token::kOther, "(", depth});
      ++depth;
      ++i;
    } else if (c == ')') {
      depth = std::max(0, depth - 1);
      out.push_back({Token::kOther, ")", depth});
      ++i;
    } else {
      out.push_back({Token::kOther, std::string(1, c), depth});
      ++i;
    }
  }
  return out;
}

bool IsWord(const Token& t, std::string_view w) { return t.kind == Token::kWord && t.text == w; }
bool IsName(const Token& t) { return t.kind == Token::kWord || t.kind == Token::kQuoted; }

bool EndsClause(const std::vector<Token>& t, std::size_t i) {
  if (t[i].depth != 0 || t[i].kind != Token::kWord) return t[i].depth == 0 && t[i].text == ";";
  static constexpr std::string_view kEnds[] = {"where", "group", "having", "window", "order", "limit",
                                               "offset", "fetch", "for", "union", "intersect", "except"};
  return std::find(std::begin(kEnds), std::end(kEnds), t[i].text) != std::end(kEnds);
}

// [qualifier .] name -> name, over tokens [b, e); "" when not that shape.
std::string PlainColumn(const std::vector<Token>& t, std::size_t b, std::size_t e) {
  if (e == b + 1 && IsName(t[b])) return t[b].text;
  if (e == b + 3 && IsName(t[b]) && t[b + 1].text == "." && IsName(t[b + 2])) return t[b + 2].text;
  return {};
}

std::string QuoteIdent(const std::string& name) {
  const bool plain = !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                              c == '_';
                     });
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string JoinColumns(const std::vector<std::string>& cols) {
  std::string out;
  for (const auto& c : cols) out += (out.empty() ? "" : ", ") + QuoteIdent(c);
  return out;
}

}  // namespace

PlanVerdict JudgePlan(std::string_view json, std::string_view key_column) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_array() || doc.empty() || !doc[0].is_object() || !doc[0].contains("Plan")) {
    throw std::invalid_argument("not an EXPLAIN (FORMAT JSON) document");
  }
  const nlohmann::json& root = doc[0]["Plan"];
  PlanVerdict v;
  Walk(root, Lower(key_column), v.indexed);
  const nlohmann::json* node = &root;
  for (int guard = 0; guard < 64; ++guard) {
    v.path += (v.path.empty() ? "" : " -> ") + NodeText(*node);
    if (node->contains("Relation Name")) break;
    auto p = node->find("Plans");
    if (p == node->end() || !p->is_array() || p->empty()) break;
    node = &(*p)[0];
  }
  return v;
}

KeysetShape ParseKeysetShape(std::string_view sql) {
  const std::vector<Token> t = Tokenize(sql);
  KeysetShape s;
  std::size_t from = t.size(), where = t.size(), order = t.size();
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i].depth != 0) continue;
    if (from == t.size() && IsWord(t[i], "from")) from = i;
    if (from != t.size() && where == t.size() && IsWord(t[i], "where")) where = i;
    if (IsWord(t[i], "order") && i + 1 < t.size() && IsWord(t[i + 1], "by")) order = i;
  }
  if (from == t.size()) return s;
  // FROM [schema.]table [[AS] alias]
  std::size_t e = from + 1;
  while (e < t.size() && !EndsClause(t, e)) ++e;
  {
    std::size_t b = from + 1, name_end = b;
    if (b < e && IsName(t[b])) {
      name_end = b + 1;
      if (name_end + 1 < e && t[name_end].text == "." && IsName(t[name_end + 1])) name_end += 2;
      std::size_t rest = name_end;
      if (rest < e && IsWord(t[rest], "as")) ++rest;
      if (rest < e && IsName(t[rest])) ++rest;
      if (rest == e) {
        for (std::size_t k = b; k < name_end; ++k) s.table += t[k].text == "." ? "." : QuoteIdent(t[k].text);
      }
    }
  }
  // WHERE: top-level AND terms "col IS NOT NULL".
  if (where < t.size()) {
    std::size_t end = where + 1;
    while (end < t.size() && !EndsClause(t, end)) ++end;
    std::size_t b = where + 1;
    for (std::size_t k = where + 1; k <= end; ++k) {
      if (k == end || (t[k].depth == 0 && IsWord(t[k], "and"))) {
        if (k >= b + 4 && IsWord(t[k - 3], "is") && IsWord(t[k - 2], "not") && IsWord(t[k - 1], "null")) {
          std::string col = PlainColumn(t, b, k - 3);
          if (!col.empty()) s.not_null.push_back(col);
        }
        b = k + 1;
      }
    }
  }
  // ORDER BY items, each a plain column with an optional direction.
  if (order < t.size()) {
    std::size_t end = order + 2;
    while (end < t.size() && !(t[end].depth == 0 && (IsWord(t[end], "limit") || IsWord(t[end], "offset") ||
                                                      IsWord(t[end], "fetch") || IsWord(t[end], "for") ||
                                                      t[end].text == ";"))) {
      ++end;
    }
    std::vector<std::string> cols;
    std::size_t b = order + 2;
    for (std::size_t k = order + 2; k <= end; ++k) {
      if (k == end || (t[k].depth == 0 && t[k].text == ",")) {
        std::size_t item_end = k;
        if (item_end > b && (IsWord(t[item_end - 1], "asc") || IsWord(t[item_end - 1], "desc"))) --item_end;
        std::string col = PlainColumn(t, b, item_end);
        if (col.empty()) return KeysetShape{s.table, {}, s.not_null};
        cols.push_back(col);
        b = k + 1;
      }
    }
    s.order_by = std::move(cols);
  }
  return s;
}

std::string IndexAdvice(const KeysetShape& shape) {
  if (shape.order_by.empty()) {
    return "create an index on the query's ORDER BY columns (its keyset: timestamp, then id) of the table it reads";
  }
  if (shape.table.empty()) {
    return "create an index on (" + JoinColumns(shape.order_by) + ") of the table the query reads";
  }
  std::string sql = "CREATE INDEX CONCURRENTLY ON " + shape.table + " (" + JoinColumns(shape.order_by) + ")";
  if (!shape.not_null.empty()) {
    sql += " WHERE ";
    for (std::size_t i = 0; i < shape.not_null.size(); ++i) {
      sql += (i ? " AND " : "") + QuoteIdent(shape.not_null[i]) + " IS NOT NULL";
    }
  }
  return sql + ";";
}

PlanFinding CheckStreamPlan(pq::Connection& c, std::string_view query, std::string_view sql, Micros now_us,
                            std::int64_t limit) {
  const KeysetShape shape = ParseKeysetShape(sql);
  constexpr Micros kSecond = 1000000;
  const Micros after = (now_us - 60 * kSecond) / kSecond * kSecond;
  const std::vector<pq::Param> params = {after, std::string(), now_us, limit};
  const std::string explain = "EXPLAIN (FORMAT JSON) " + std::string(sql);
  auto judge = [&](pq::Result r) {
    if (r.rows() < 1 || r.cols() < 1) throw pq::PqError(ErrorKind::kQuery, "", "EXPLAIN returned no plan");
    try {
      return JudgePlan(r.text(0, 0), shape.key_column());
    } catch (const std::invalid_argument& e) {
      throw pq::PqError(ErrorKind::kQuery, "", std::string("EXPLAIN: ") + e.what());
    }
  };
  PlanFinding f;
  f.query = std::string(query);
  const PlanVerdict chosen = judge(c.Exec(explain, params));
  f.plan = chosen.path;
  if (chosen.indexed) return f;
  // Is there an index the planner merely does not prefer at this size?
  c.Exec("BEGIN");
  PlanVerdict forced;
  try {
    c.Exec("SET LOCAL enable_seqscan = off");
    forced = judge(c.Exec(explain, params));
  } catch (...) {
    try {
      c.Exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
  c.Exec("ROLLBACK");
  if (forced.indexed) return f;
  f.unindexed = true;
  f.advice = IndexAdvice(shape);
  return f;
}

}  // namespace provledger::source
