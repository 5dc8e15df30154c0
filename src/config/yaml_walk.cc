#include "config/yaml_walk.hh"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "compute/tenants.hh"
#include "config/load.hh"

namespace provledger::config {
namespace {
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
}  // namespace



Pos PosOf(const YAML::Mark& m) {
  if (m.line < 0 || m.column < 0) return {};
  return {m.line + 1, m.column + 1};
}


std::string Join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

std::string Quote(std::string_view s) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

bool IsQuoted(const YAML::Node& n) { return n.Tag() == "!"; }

// "a list", "a mapping", "null", "\"abc\"", "a quoted string \"5\"".
std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null (no value)";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return IsQuoted(n) ? "a quoted string " + Quote(n.Scalar()) : Quote(n.Scalar());
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// Optimal string alignment distance (Levenshtein plus adjacent transposition).
// Three rolling rows: memory is O(|b|), not O(|a| x |b|) (a 1 MiB unknown key
// once made this allocate a million rows); on the stack for short names (the
// known keys), which every unknown key is compared with.
//
// Early exit: every cell of row i is at least min(min of row i-1, min of row
// i-2 + 1) (each of its four predecessors lies in one of those rows), and a
// row's min is at most the previous row's min + 1 (a deletion); so once a row
// is above the limit, no later row comes back under it. Under ASan, the
// unbounded version with three heap rows per call was half of the config
// loader's time on fuzzed input full of unknown keys.
std::size_t EditDistance(std::string_view a, std::string_view b, std::size_t limit) {
  const std::size_t n = a.size(), m = b.size();
  const std::size_t over = limit + 1;
  constexpr std::size_t kStackRow = 64;
  std::array<std::size_t, 3 * kStackRow> stack_rows;
  std::vector<std::size_t> heap_rows;
  std::size_t* rows = stack_rows.data();
  if (m + 1 > kStackRow) {
    heap_rows.resize(3 * (m + 1));
    rows = heap_rows.data();
  }
  std::size_t* prev2 = rows;
  std::size_t* prev = rows + (m + 1);
  std::size_t* cur = rows + 2 * (m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    std::size_t cur_min = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, prev2[j - 2] + 1);
      }
      cur[j] = v;
      cur_min = std::min(cur_min, v);
    }
    if (cur_min > limit) return over;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], over);
}

Mapping YamlWalker::ReadMapping(const YAML::Node& node, Pos where, const std::string& path,
                            std::span<const std::string_view> known) {
  Mapping m;
  m.path = path;
  m.pos = ValuePos(node, where);
  if (!node.IsMap()) {
    Report(m.pos, (path.empty() ? std::string("top level") : path) +
                      ": expected a mapping, got " + Describe(node));
    return m;
  }
  m.ok = true;
  // Key -> position of its first occurrence: a hash lookup per key, so a
  // mapping of 80,000 keys is checked in linear time (a linear scan per key
  // took a minute on a 1 MiB file).
  std::unordered_map<std::string, Pos> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: the iterator proxy dies at the end of this statement
    Pos key_pos = ValuePos(key, m.pos);
    if (!key.IsScalar()) {
      Report(key_pos, (path.empty() ? std::string("top level") : path) +
                          ": mapping keys must be plain strings, got " + Describe(key));
      continue;
    }
    std::string name = key.Scalar();
    auto [first, inserted] = seen.try_emplace(name, key_pos);
    if (!inserted) {
      Report(key_pos, "duplicate key " + Quote(Join(path, name)) + " (first set at line " +
                          std::to_string(first->second.line) + ", column " +
                          std::to_string(first->second.col) + ")");
      continue;
    }
    Entry e{name, it->second, key_pos, ValuePos(it->second, key_pos)};
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string msg = "unknown key " + Quote(name) +
                        (path.empty() ? std::string(" at top level") : " in " + path);
      std::string_view best;
      std::size_t best_distance = 3;
      for (std::string_view k : known) {
        // The distance is at least the length difference: skip names that
        // cannot be closer than the best so far (keeps a huge key cheap).
        const std::size_t diff =
            name.size() > k.size() ? name.size() - k.size() : k.size() - name.size();
        if (diff >= best_distance) continue;
        std::size_t d = EditDistance(name, k, best_distance - 1);
        if (d < best_distance) {
          best_distance = d;
          best = k;
        }
      }
      if (!best.empty()) msg += "; did you mean \"" + std::string(best) + "\"?";
      // yaml-cpp 0.7 has no merge keys; say so instead of a bare "unknown key".
      if (name == "<<") msg += "; YAML merge keys are not supported, repeat the keys instead";
      Report(key_pos, std::move(msg));
      continue;
    }
    m.entries.push_back(std::move(e));
  }
  return m;
}

Mapping YamlWalker::ReadSubMapping(const Mapping& parent, std::string_view key,
                               std::span<const std::string_view> known) {
  const Entry* e = parent.Find(key);
  if (e == nullptr) return Mapping{};
  return ReadMapping(e->value, e->key_pos, Join(parent.path, key), known);
}

bool YamlWalker::GetString(const Mapping& m, std::string_view key, std::string& out, bool required) {
  const Entry* e = m.Find(key);
  if (e == nullptr) {
    if (required && m.ok) Missing(m, key);
    return false;
  }
  if (!e->value.IsScalar()) {
    Report(e->value_pos, Join(m.path, key) + ": expected a string, got " + Describe(e->value));
    return false;
  }
  out = e->value.Scalar();
  return true;
}

bool YamlWalker::GetInt(const Mapping& m, std::string_view key, std::int64_t& out, std::int64_t min,
                    std::int64_t max) {
  const Entry* e = m.Find(key);
  if (e == nullptr) return false;
  const std::string path = Join(m.path, key);
  if (!e->value.IsScalar() || IsQuoted(e->value)) {
    Report(e->value_pos, path + ": expected an integer, got " + Describe(e->value));
    return false;
  }
  const std::string& s = e->value.Scalar();
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    Report(e->value_pos, path + ": integer out of range: " + s);
    return false;
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    Report(e->value_pos, path + ": expected an integer, got " + Describe(e->value));
    return false;
  }
  if (v < min || v > max) {
    std::string range = max == kInt64Max ? "must be at least " + std::to_string(min)
                                         : "must be between " + std::to_string(min) + " and " +
                                               std::to_string(max);
    Report(e->value_pos, path + ": " + range + ", got " + s);
    return false;
  }
  out = v;
  return true;
}

bool YamlWalker::GetDuration(const Mapping& m, std::string_view key, std::int64_t& out_ms,
                         std::int64_t min_ms, std::int64_t max_ms) {
  const Entry* e = m.Find(key);
  if (e == nullptr) return false;
  const std::string path = Join(m.path, key);
  if (!e->value.IsScalar()) {
    Report(e->value_pos, path + ": expected a duration such as \"15s\", got " + Describe(e->value));
    return false;
  }
  const std::string& s = e->value.Scalar();
  bool numeric = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+';
  }) && std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (numeric) {
    Report(e->value_pos, path + ": duration needs a unit, e.g. \"" + s +
                             "s\" (units: ms, s, m, h, d)");
    return false;
  }
  std::optional<std::int64_t> ms = ParseDurationMs(s);
  if (!ms) {
    Report(e->value_pos, path + ": invalid duration " + Quote(s) +
                             "; write e.g. 500ms, 15s, 2m, 1h30m (units ms, s, m, h, d, largest "
                             "first, no spaces)");
    return false;
  }
  if (*ms < min_ms) {
    Report(e->value_pos, path + ": must be " +
                             (min_ms == 1 ? std::string("greater than 0")
                                          : "at least " + FormatDurationMs(min_ms)) +
                             ", got " + s);
    return false;
  }
  if (*ms > max_ms) {
    Report(e->value_pos, path + ": must be at most " + FormatDurationMs(max_ms) + ", got " + s);
    return false;
  }
  out_ms = *ms;
  return true;
}

bool YamlWalker::GetBool(const Mapping& m, std::string_view key, bool& out) {
  const Entry* e = m.Find(key);
  if (e == nullptr) return false;
  if (e->value.IsScalar() && !IsQuoted(e->value)) {
    const std::string& s = e->value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      out = true;
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      out = false;
      return true;
    }
  }
  Report(e->value_pos, Join(m.path, key) + ": expected true or false, got " + Describe(e->value));
  return false;
}

void YamlWalker::GetRegexList(const Mapping& m, std::string_view key, std::vector<std::string>& out) {
  const Entry* e = m.Find(key);
  if (e == nullptr) return;
  const std::string path = Join(m.path, key);
  if (!e->value.IsSequence()) {
    Report(e->value_pos,
           path + ": expected a list of regular expressions, got " + Describe(e->value));
    return;
  }
  std::vector<std::string> patterns;
  std::size_t i = 0;
  for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
    const YAML::Node& item = *it;
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    Pos pos = ValuePos(item, e->value_pos);
    if (!item.IsScalar()) {
      Report(pos, item_path + ": expected a regular expression string, got " + Describe(item));
      continue;
    }
    const std::string why = compute::TenantPatternError(item.Scalar());
    if (why.empty()) {
      patterns.push_back(item.Scalar());
    } else {
      Report(pos, item_path + ": " + why + ": " + Quote(item.Scalar()));
    }
  }
  out = std::move(patterns);
}

// A plain (unquoted) decimal number within [min, max].
bool YamlWalker::GetNumber(const Mapping& m, std::string_view key, double& out, double min,
                       double max) {
  const Entry* e = m.Find(key);
  if (e == nullptr) return false;
  const std::string path = Join(m.path, key);
  if (!e->value.IsScalar() || IsQuoted(e->value)) {
    Report(e->value_pos, path + ": expected a number, got " + Describe(e->value));
    return false;
  }
  const std::string& s = e->value.Scalar();
  const char* begin = s.data();
  if (!s.empty() && s[0] == '+') ++begin;
  double v = 0;
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    Report(e->value_pos, path + ": expected a number, got " + Describe(e->value));
    return false;
  }
  if (v < min || v > max) {
    std::ostringstream range;
    range << "must be between " << min << " and " << max;
    Report(e->value_pos, path + ": " + range.str() + ", got " + s);
    return false;
  }
  out = v;
  return true;
}

// Ramp steps: a non-empty list of percents, strictly increasing, in (0, 100].
void YamlWalker::GetSteps(const Mapping& m, std::string_view key, std::vector<double>& out) {
  const Entry* e = m.Find(key);
  if (e == nullptr) return;
  const std::string path = Join(m.path, key);
  if (!e->value.IsSequence() || e->value.size() == 0) {
    Report(e->value_pos, path + ": expected a non-empty list of percents, got " + Describe(e->value));
    return;
  }
  std::vector<double> steps;
  bool all_ok = true;
  std::size_t i = 0;
  for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
    const YAML::Node& item = *it;
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    Pos pos = ValuePos(item, e->value_pos);
    double v = 0;
    std::string s = item.IsScalar() ? item.Scalar() : std::string();
    const char* begin = s.data();
    if (!s.empty() && s[0] == '+') ++begin;
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (!item.IsScalar() || IsQuoted(item) || ec != std::errc() || ptr != s.data() + s.size() ||
        !std::isfinite(v)) {
      Report(pos, item_path + ": expected a number, got " + Describe(item));
      all_ok = false;
      continue;
    }
    if (v <= 0 || v > 100) {
      Report(pos, item_path + ": a step must be greater than 0 and at most 100, got " + s);
      all_ok = false;
      continue;
    }
    if (!steps.empty() && v <= steps.back()) {
      Report(pos, item_path + ": steps must be strictly increasing, got " + s);
      all_ok = false;
      continue;
    }
    steps.push_back(v);
  }
  if (all_ok) out = std::move(steps);
}


std::vector<std::string> YamlWalker::Formatted() const {
  std::vector<Problem> sorted = problems_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.pos.line, a.pos.col) < std::pair(b.pos.line, b.pos.col);
  });
  std::vector<std::string> out;
  const std::size_t shown = std::min(sorted.size(), kMaxFormattedProblems);
  out.reserve(shown + 1);
  for (std::size_t i = 0; i < shown; ++i) {
    const Problem& p = sorted[i];
    if (p.pos.line == 0) {
      out.push_back(file_ + ": " + p.text);
    } else {
      out.push_back(file_ + ":" + std::to_string(p.pos.line) + ":" + std::to_string(p.pos.col) +
                    ": " + p.text);
    }
  }
  if (sorted.size() > shown) {
    out.push_back(file_ + ": " + std::to_string(sorted.size() - shown) +
                  " more problems not shown (the first " + std::to_string(shown) +
                  " are above)");
  }
  return out;
}

}  // namespace provledger::config
