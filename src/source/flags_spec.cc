#include "source/flags_spec.hh"

#include <set>

#include "config/yaml_document.hh"  // yaml-cpp, with its GCC 12 pragma
#include "decode/decode.hh"
#include "decode/utf8.hh"

namespace provledger::source {

namespace {
// `prefix"tenant"/"feature"`, printable. Built with append: GCC 12 at -O3
// reports a false -Wrestrict on chains of std::string operator+.
std::string Quoted(std::string_view prefix, std::string_view tenant, std::string_view feature) {
  std::string s(prefix);
  s.append("\"").append(decode::Printable(tenant)).append("\"/\"").append(decode::Printable(feature)).append("\"");
  return s;
}
}  // namespace
namespace {

class Parser {
 public:
  Parser(std::string_view file, std::size_t max_name_bytes, FlagsSpec* out)
      : file_(file), limits_{max_name_bytes}, out_(out) {}

  void Error(const YAML::Mark& m, std::string message) {
    FlagsSpecError e;
    e.file = file_;
    if (!m.is_null()) {
      e.line = m.line + 1;
      e.column = m.column + 1;
    }
    e.message = std::move(message);
    out_->errors.push_back(std::move(e));
  }

  void Fatal(const YAML::Mark& m, std::string message) {
    Error(m, std::move(message));
    out_->fatal = true;
    out_->rows.clear();
  }

  static bool IsWrapper(const YAML::Node& root) {
    const YAML::Node t = root["tenants"];
    if (!t || !t.IsMap()) return false;
    if (t.size() == 0 && root.size() != 1) return false;
    for (auto it = t.begin(); it != t.end(); ++it) {
      if (!it->second.IsMap() && !it->second.IsNull()) return false;
    }
    return true;
  }

  void Tenants(const YAML::Node& map) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        Error(key.Mark(), "tenant name must be a string");
        continue;
      }
      const std::string& tenant = key.Scalar();
      const std::string why = decode::ValidateTenant(tenant, limits_.max_tenant_bytes);
      if (!why.empty()) {
        Error(key.Mark(), why);
        continue;
      }
      if (!seen.insert(tenant).second) {
        Error(key.Mark(), "duplicate tenant \"" + decode::Printable(tenant) + "\"");
        continue;
      }
      if (!value.IsMap()) {
        Error(value.Mark(), "tenant \"" + decode::Printable(tenant) +
                                "\" must map feature names to percents");
        continue;
      }
      Features(tenant, value);
    }
  }

  void Features(const std::string& tenant, const YAML::Node& map) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        Error(key.Mark(), "feature name must be a string");
        continue;
      }
      const std::string& feature = key.Scalar();
      if (!seen.insert(feature).second) {
        Error(key.Mark(), "duplicate feature \"" + decode::Printable(feature) + "\" for tenant \"" +
                              decode::Printable(tenant) + "\"");
        continue;
      }
      decode::FlagColumns cols{decode::Field{tenant, false}, decode::Field{feature, false},
                               decode::Field::Null()};
      if (value.IsScalar()) {
        cols.pct = decode::Field{value.Scalar(), false};
      } else if (!value.IsNull()) {
        Error(value.Mark(), Quoted("percent of ", tenant, feature) + " must be a number");
        continue;
      }
      auto d = decode::DecodeFlag(cols, limits_);
      if (!d.ok()) {
        // A null value has no position of its own: point at its key.
        const bool at_value = d.error().rfind("pct", 0) == 0 && !value.IsNull();
        const YAML::Mark m = at_value ? value.Mark() : key.Mark();
        Error(m, Quoted("", tenant, feature) + ": " + d.error());
        continue;
      }
      out_->rows.push_back(std::move(d.value()));
    }
  }

  void Run(std::string_view text) {
    config::YamlDocument doc = config::LoadSingleYamlDocument(text, kMaxFlagsSpecBytes);
    if (!doc.ok) {
      YAML::Mark m = YAML::Mark::null_mark();
      if (doc.line > 0) {
        m.line = doc.line - 1;
        m.column = doc.column - 1;
      }
      Fatal(m, doc.message);
      return;
    }
    const YAML::Node root = doc.root;
    if (!root || root.IsNull()) return;
    if (!root.IsMap()) {
      Fatal(root.Mark(), "top level must be a mapping tenant -> feature -> percent");
      return;
    }
    try {
      const YAML::Node& croot = root;
      Tenants(IsWrapper(croot) ? croot["tenants"] : croot);
    } catch (const YAML::Exception& e) {
      Fatal(e.mark, e.msg);
    }
  }

 private:
  std::string file_;
  decode::Limits limits_;
  FlagsSpec* out_;
};

}  // namespace

std::string FlagsSpecError::str() const {
  std::string s = file;
  if (line > 0) s.append(":").append(std::to_string(line)).append(":").append(std::to_string(column));
  return s.append(": ").append(message);
}

FlagsSpec ParseFlagsSpec(std::string_view text, std::string_view filename,
                         std::size_t max_name_bytes) {
  FlagsSpec out;
  Parser(filename, max_name_bytes, &out).Run(text);
  return out;
}

}  // namespace provledger::source
