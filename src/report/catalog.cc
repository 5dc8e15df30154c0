#include "report/catalog.hh"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "config/yaml_document.hh"   // the one reader of a YAML file: one document, size cap
#include "config/yaml_walk.hh"       // positioned problems, duplicate keys, capped output

namespace provledger::report {
namespace {

using config::Describe;   // the config loader's wording for a YAML value
using config::PosOf;
using config::YamlWalker;

bool ValidKind(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A list of kinds; `mark` is where the value is (the key's mark for null).
void ReadKinds(const YAML::Node& node, config::Pos where, const std::string& path,
               std::set<std::string>& out, YamlWalker& p) {
  if (!node.IsSequence()) {
    p.Report(p.ValuePos(node, where), path + ": expected a list of operation kinds (span names), got " + Describe(node));
    return;
  }
  std::size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const YAML::Node item = *it;
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    if (!item.IsScalar() || !ValidKind(item.Scalar())) {
      const config::Pos item_pos = PosOf(item.Mark());
      p.Report(item_pos.line != 0 ? item_pos : where,
               item_path + ": expected a non-empty kind name (at most 256 bytes, no control characters), got " + Describe(item));
      continue;
    }
    if (!out.insert(item.Scalar()).second) {
      p.Report(PosOf(item.Mark()), item_path + ": duplicate kind \"" + item.Scalar() + "\"");
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
  YamlWalker p(filename);
  config::YamlDocument doc = config::LoadSingleYamlDocument(yaml_text, config::kMaxConfigBytes);
  if (!doc.ok) {
    p.Report({doc.line, doc.column}, doc.message);
    throw CatalogError(p.Formatted());
  }
  const YAML::Node& root = doc.root;
  if (root.IsNull()) {
    p.Report({1, 1}, "catalog is empty; list operation kinds under \"kinds\" or \"tenants\"");
    throw CatalogError(p.Formatted());
  }
  if (!root.IsMap()) {
    p.Report(p.ValuePos(root, {1, 1}),
             "top level: expected a mapping with \"kinds\" and/or \"tenants\", got " + Describe(root));
    throw CatalogError(p.Formatted());
  }
  static constexpr std::array<std::string_view, 2> kKeys{"kinds", "tenants"};
  const config::Mapping top = p.ReadMapping(root, {1, 1}, "", kKeys);
  if (const config::Entry* e = top.Find("kinds")) {
    ReadKinds(e->value, e->key_pos, "kinds", cat.kinds, p);
  }
  if (const config::Entry* e = top.Find("tenants")) {
    const YAML::Node& vnode = e->value;
    if (!vnode.IsMap()) {
      p.Report(e->value_pos, "tenants: expected a mapping of tenant -> list of kinds, got " + Describe(vnode));
    } else {
      for (auto jt = vnode.begin(); jt != vnode.end(); ++jt) {
        // Copies: jt-> returns a temporary proxy (a reference into it would dangle).
        const YAML::Node tkey = jt->first;
        const YAML::Node tval = jt->second;
        const config::Pos tpos = p.ValuePos(tkey, e->value_pos);
        if (!tkey.IsScalar() || tkey.Scalar().empty()) {
          p.Report(tpos, "tenants: tenant names must be non-empty strings, got " + Describe(tkey));
          continue;
        }
        const std::string& tenant = tkey.Scalar();
        if (cat.tenants.count(tenant) != 0) {
          p.Report(tpos, "tenants: duplicate tenant \"" + tenant + "\"");
          continue;
        }
        ReadKinds(tval, tpos, "tenants." + tenant, cat.tenants[tenant], p);
      }
    }
  }
  if (p.HasProblems()) throw CatalogError(p.Formatted());
  return cat;
}

Catalog LoadCatalog(const std::string& path) {
  std::string text;
  if (std::string why = config::ReadBoundedFile(path, config::kMaxConfigBytes, text, "catalog file");
      !why.empty()) {
    throw CatalogError({path + ": " + why});
  }
  return ParseCatalog(text, path);
}

}  // namespace provledger::report
