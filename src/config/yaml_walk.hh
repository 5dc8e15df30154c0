// The positioned-problem machinery of the config loader, shared by every
// loader of a YAML file in the project (config/load.cc, the ramp plan in
// ramp/plan.cc): walk a document once, check each mapping's keys against a
// table (unknown keys get "did you mean ...?"), convert scalars strictly (no
// quoted numbers, hex or yes/no), and collect every problem with its 1-based
// position instead of throwing, then format them as "FILE:LINE:COLUMN: msg"
// sorted by position.
//
// This header exposes yaml-cpp types on purpose: it is for loaders inside
// src/, not for the public contract (config.hh and load.hh carry none).
// Not thread-safe per instance; instances share nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// yaml-cpp 0.7's node/impl.h trips GCC 12's -Wdangling-pointer (a false
// positive on its node_ref temporaries); silence it for that header only.
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <yaml-cpp/yaml.h>
#pragma GCC diagnostic pop

namespace provledger::config {

struct Pos {
  int line = 0;  // 1-based; 0 = no position
  int col = 0;
};

// yaml-cpp mark -> 1-based position ({0,0} when the mark is null).
Pos PosOf(const YAML::Mark& m);

inline constexpr std::size_t kMaxFormattedProblems = 100;

struct Problem {
  Pos pos;
  std::string text;
};

// "a.b" from path "a" and key "b" ("b" at top level).
std::string Join(const std::string& path, std::string_view key);
// Double-quoted, escaped, cut at 60 characters.
std::string Quote(std::string_view s);
// True for a quoted scalar ("5" is a string, 5 a number).
bool IsQuoted(const YAML::Node& n);
// "a list", "a mapping", "null (no value)", "\"abc\"", "a quoted string \"5\"".
std::string Describe(const YAML::Node& n);
// Optimal string alignment distance (Levenshtein plus adjacent transposition).
// With a limit, the result is exact when it is <= limit and is limit + 1
// otherwise; the computation stops as soon as the distance must exceed the
// limit ("did you mean" only wants names within two edits).
std::size_t EditDistance(std::string_view a, std::string_view b,
                         std::size_t limit = static_cast<std::size_t>(-1) - 1);

struct Entry {
  std::string key;
  YAML::Node value;
  Pos key_pos;
  Pos value_pos;  // key_pos when the value is null (yaml-cpp marks the next token)
};

struct Mapping {
  bool ok = false;  // the node was a mapping
  Pos pos;
  std::string path;
  std::vector<Entry> entries;  // known keys, first occurrence, in file order

  const Entry* Find(std::string_view key) const {
    for (const Entry& e : entries) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }
};


class YamlWalker {
 public:
  explicit YamlWalker(std::string file) : file_(std::move(file)) {}

  // Problems as "FILE:LINE:COLUMN: message" ("FILE: message" without a
  // position), sorted by position (stable). At most kMaxFormattedProblems of
  // them, then one "FILE: N more problems not shown" line: a 1 MiB file of
  // 80,000 unknown keys gives 101 lines, not 80,000.
  std::vector<std::string> Formatted() const;
  bool HasProblems() const { return !problems_.empty(); }
  const std::string& file() const { return file_; }

  void Report(Pos pos, std::string message) { problems_.push_back({pos, std::move(message)}); }

  Pos ValuePos(const YAML::Node& value, Pos fallback) const {
    if (!value.IsDefined() || value.IsNull()) return fallback;
    Pos p = PosOf(value.Mark());
    return p.line == 0 ? fallback : p;
  }

  // Checks that `node` is a mapping whose keys all come from `known`; unknown,
  // duplicate and non-string keys are reported. `where` is used when the node
  // itself has no usable position (null value).
  Mapping ReadMapping(const YAML::Node& node, Pos where, const std::string& path,
                      std::span<const std::string_view> known);
  Mapping ReadSubMapping(const Mapping& parent, std::string_view key,
                         std::span<const std::string_view> known);

  void Missing(const Mapping& m, std::string_view key) {
    Report(m.pos, (m.path.empty() ? std::string("top level") : m.path) +
                      ": missing required key \"" + std::string(key) + "\"");
  }

  // Getters: false when the key is absent or its value was reported as bad.
  bool GetString(const Mapping& m, std::string_view key, std::string& out, bool required);
  bool GetInt(const Mapping& m, std::string_view key, std::int64_t& out, std::int64_t min,
              std::int64_t max);
  // A plain (unquoted) finite decimal number within [min, max].
  bool GetNumber(const Mapping& m, std::string_view key, double& out, double min, double max);
  // Ramp steps: a non-empty list of percents, strictly increasing, in (0, 100].
  void GetSteps(const Mapping& m, std::string_view key, std::vector<double>& out);
  bool GetDuration(const Mapping& m, std::string_view key, std::int64_t& out_ms,
                   std::int64_t min_ms, std::int64_t max_ms);
  bool GetBool(const Mapping& m, std::string_view key, bool& out);
  void GetRegexList(const Mapping& m, std::string_view key, std::vector<std::string>& out);

 private:
  std::string file_;
  std::vector<Problem> problems_;
};

}  // namespace provledger::config
