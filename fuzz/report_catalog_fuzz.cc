// libFuzzer target: the coverage report's mapper catalog (report::ParseCatalog,
// YAML) on any bytes. Contract checked: it returns a Catalog or throws
// CatalogError; nothing else escapes, nothing crashes, memory stays bounded.
// A returned catalog names the file, has at least one kind list and only valid
// kinds (non-empty, at most 256 bytes, no control characters); every problem of
// a CatalogError is positioned, "c.yml:LINE:COLUMN: message" with LINE and
// COLUMN >= 1, at most 100 of them plus one "c.yml: N more problems not shown"
// line (the config's cap); parsing is deterministic. (Inputs are far below the
// 1 MiB cap, whose error has no position.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "report/catalog.hh"

namespace {

bool ValidKind(const std::string& k) {
  if (k.empty() || k.size() > 256) return false;
  for (char c : k) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// "c.yml:L:C: text" with L, C positive decimal numbers and some text.
bool Positioned(const std::string& p) {
  const std::string_view prefix = "c.yml:";
  if (p.rfind(prefix, 0) != 0) return false;
  std::size_t i = prefix.size();
  for (int field = 0; field < 2; ++field) {
    const std::size_t start = i;
    while (i < p.size() && p[i] >= '0' && p[i] <= '9') ++i;
    if (i == start || p[start] == '0' || i >= p.size() || p[i] != ':') return false;
    ++i;
  }
  return i + 1 < p.size() && p[i] == ' ';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using provledger::report::Catalog;
  using provledger::report::CatalogError;
  using provledger::report::ParseCatalog;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string first;
  try {
    const Catalog c = ParseCatalog(text, "c.yml");
    if (c.file != "c.yml") __builtin_trap();
    for (const auto& k : c.kinds) {
      if (!ValidKind(k)) __builtin_trap();
    }
    for (const auto& [tenant, kinds] : c.tenants) {
      if (tenant.empty()) __builtin_trap();
      for (const auto& k : kinds) {
        if (!ValidKind(k)) __builtin_trap();
      }
    }
    first = "ok";
    for (const auto& k : c.kinds) first += "\n" + k;
    for (const auto& [tenant, kinds] : c.tenants) {
      first += "\n@" + tenant;
      for (const auto& k : kinds) first += "\n" + k;
    }
  } catch (const CatalogError& e) {
    if (e.problems().empty()) __builtin_trap();
    // Every problem positioned, except a last "N more problems not shown"
    // line after the first config::kMaxFormattedProblems (100).
    const auto& ps = e.problems();
    if (ps.size() > 101) __builtin_trap();
    for (std::size_t i = 0; i < ps.size(); ++i) {
      if (i == 100 && ps[i].rfind("c.yml: ", 0) == 0 &&
          ps[i].find(" more problems not shown") != std::string::npos) {
        continue;
      }
      if (!Positioned(ps[i])) __builtin_trap();
    }
    first = e.what();
  }
  // Deterministic: the same bytes give the same catalog or the same problems.
  std::string second;
  try {
    const Catalog c = ParseCatalog(text, "c.yml");
    second = "ok";
    for (const auto& k : c.kinds) second += "\n" + k;
    for (const auto& [tenant, kinds] : c.tenants) {
      second += "\n@" + tenant;
      for (const auto& k : kinds) second += "\n" + k;
    }
  } catch (const CatalogError& e) {
    second = e.what();
  }
  if (first != second) __builtin_trap();
  return 0;
}
