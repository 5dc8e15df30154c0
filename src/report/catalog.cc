#include "report/catalog.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "config/yaml_walk.hh"   // yaml-cpp, with GCC 12's false positive silenced

namespace provledger::report {
namespace {

struct Problems {
  std::string file;
  std::vector<std::pair<std::pair<int, int>, std::string>> items;
  void Add(const YAML::Mark& m, std::string text) {
    int line = m.line >= 0 ? m.line + 1 : 0;
    int col = m.column >= 0 ? m.column + 1 : 0;
    items.push_back({{line, col}, std::move(text)});
  }
  std::vector<std::string> Formatted() const {
    auto sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (const auto& [pos, text] : sorted) {
      if (pos.first == 0) {
        out.push_back(file + ": " + text);
      } else {
        out.push_back(file + ":" + std::to_string(pos.first) + ":" + std::to_string(pos.second) + ": " + text);
      }
    }
    return out;
  }
};

using config::Describe;   // the config loader's wording for a YAML value

bool ValidKind(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A list of kinds; `mark` is where the value is (the key's mark for null).
void ReadKinds(const YAML::Node& node, const YAML::Mark& mark, const std::string& path,
               std::set<std::string>& out, Problems& p) {
  if (!node.IsSequence()) {
    p.Add(node.IsNull() ? mark : node.Mark(), path + ": expected a list of operation kinds (span names), got " + Describe(node));
    return;
  }
  std::size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    if (!item.IsScalar() || !ValidKind(item.Scalar())) {
      p.Add(item.Mark().line >= 0 ? item.Mark() : mark,
            item_path + ": expected a non-empty kind name (at most 256 bytes, no control characters), got " + Describe(item));
      continue;
    }
    if (!out.insert(item.Scalar()).second) {
      p.Add(item.Mark(), item_path + ": duplicate kind \"" + item.Scalar() + "\"");
    }
  }
}

}  // namespace

std::set<std::string> Catalog::ExpectedFor(const std::string& tenant) const {
  std::set<std::string> out = kinds;
  if (auto it = tenants.find(tenant); it != tenants.end()) out.insert(it->second.begin(), it->second.end());
  return out;
}

std::size_t Catalog::size() const {
  std::set<std::string> all = kinds;
  for (const auto& [t, k] : tenants) all.insert(k.begin(), k.end());
  return all.size();
}

static std::string JoinProblems(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}

CatalogError::CatalogError(std::vector<std::string> problems)
    : std::runtime_error(JoinProblems(problems)), problems_(std::move(problems)) {}

Catalog ParseCatalog(std::string_view yaml_text, const std::string& filename) {
  Catalog cat;
  cat.file = filename;
  Problems p{filename, {}};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    YAML::Mark m = e.mark;
    if (m.line < 0) m.line = 0, m.column = 0;
    p.Add(m, "YAML syntax error: " + e.msg);
    throw CatalogError(p.Formatted());
  }
  if (root.IsNull()) {
    p.Add(YAML::Mark(), "catalog is empty; list operation kinds under \"kinds\" or \"tenants\"");
    p.items.back().first = {1, 1};
    throw CatalogError(p.Formatted());
  }
  if (!root.IsMap()) {
    p.Add(root.Mark(), "top level: expected a mapping with \"kinds\" and/or \"tenants\", got " + Describe(root));
    throw CatalogError(p.Formatted());
  }
  std::set<std::string> seen_keys;
  for (auto it = root.begin(); it != root.end(); ++it) {
    // Copies: it-> returns a temporary proxy (a reference into it would dangle).
    const YAML::Node knode = it->first;
    const YAML::Node vnode = it->second;
    const std::string key = knode.IsScalar() ? knode.Scalar() : std::string();
    if (!seen_keys.insert(key).second) {
      p.Add(knode.Mark(), "duplicate key \"" + key + "\"");
      continue;
    }
    if (key == "kinds") {
      ReadKinds(vnode, knode.Mark(), "kinds", cat.kinds, p);
    } else if (key == "tenants") {
      if (!vnode.IsMap()) {
        p.Add(vnode.IsNull() ? knode.Mark() : vnode.Mark(),
              "tenants: expected a mapping of tenant -> list of kinds, got " + Describe(vnode));
        continue;
      }
      for (auto jt = vnode.begin(); jt != vnode.end(); ++jt) {
        const YAML::Node tkey = jt->first;
        const YAML::Node tval = jt->second;
        if (!tkey.IsScalar() || tkey.Scalar().empty()) {
          p.Add(tkey.Mark(), "tenants: tenant names must be non-empty strings, got " + Describe(tkey));
          continue;
        }
        const std::string tenant = tkey.Scalar();
        if (cat.tenants.count(tenant) != 0) {
          p.Add(tkey.Mark(), "tenants: duplicate tenant \"" + tenant + "\"");
          continue;
        }
        ReadKinds(tval, tkey.Mark(), "tenants." + tenant, cat.tenants[tenant], p);
      }
    } else {
      p.Add(knode.Mark(), "unknown key " + Describe(knode) + " at top level; expected \"kinds\" or \"tenants\"");
    }
  }
  if (!p.items.empty()) throw CatalogError(p.Formatted());
  return cat;
}

Catalog LoadCatalog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CatalogError({path + ": cannot read catalog file: " + std::strerror(errno)});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw CatalogError({path + ": cannot read catalog file: " + std::strerror(errno)});
  return ParseCatalog(text.str(), path);
}

}  // namespace provledger::report
