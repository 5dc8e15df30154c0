// The mapper catalog: which operation kinds (span names) must produce
// receipts, for every tenant and per tenant. YAML, validated like the config
// file (every problem as "FILE:LINE:COLUMN: message", all reported at once).
//
//   kinds: [checkout.create, payment.capture]   # expected for every tenant
//   tenants:                                     # further kinds per tenant
//     acme: [refund.issue]
//
// Both keys are optional; a kind is a non-empty string without control
// characters; duplicates within one list are errors. Pure (no file I/O in
// ParseCatalog). Thread-safe.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace provledger::report {

struct Catalog {
  std::string file;                                  // where it was read from
  std::set<std::string> kinds;                       // every tenant
  std::map<std::string, std::set<std::string>> tenants;   // tenant -> further kinds

  // Kinds expected for `tenant`: kinds + tenants[tenant].
  std::set<std::string> ExpectedFor(const std::string& tenant) const;
  std::size_t size() const;   // distinct kinds over all lists
};

class CatalogError : public std::runtime_error {
 public:
  explicit CatalogError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// Throws CatalogError.
Catalog ParseCatalog(std::string_view yaml_text, const std::string& filename);
// Reads the file, then ParseCatalog. Throws CatalogError (also when unreadable).
Catalog LoadCatalog(const std::string& path);

}  // namespace provledger::report
