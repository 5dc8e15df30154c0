// YAML -> Config. The loader walks the document once, checks every key it
// meets against the table of keys for that mapping, converts values to the
// types of config.hh and records problems instead of throwing, so a user sees
// every mistake in one run. Cross-field rules (unique names, flags shape) run
// after the walk. yaml-cpp's own converters (as<T>) are not used: they accept
// quoted numbers, hex and yes/no booleans, and their errors carry no context.
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "compute/tenants.hh"
#include "config/dsn.hh"
#include "config/listen_address.hh"
#include "config/load.hh"
#include "config/yaml_document.hh"
#include "config/yaml_walk.hh"

namespace provledger::config {
namespace {

// ---- key tables: the single list of accepted keys (also feeds KnownKeyPaths) ----

constexpr std::array<std::string_view, 14> kRootKeys = {
    "web",      "poll_interval", "state_file", "state_max_divergence_keys",
    "log_bad_rows_per_minute", "max_rows_per_poll", "coverage", "tenants", "histogram",
    "recommend", "ledgers",  "trace_stores",  "flags", "evidence"};
constexpr std::array<std::string_view, 6> kRecommendKeys = {
    "advance_min_coverage", "min_operations", "rollback_below_coverage", "rollback_drop_points",
    "rollback_on_new_divergence", "steps"};
constexpr std::array<std::string_view, 3> kEvidenceKeys = {"mask", "mask_by_tenant", "api"};
constexpr std::array<std::string_view, 14> kEvidenceApiKeys = {
    "enabled", "tokens_file", "tokens_credential", "signing_key_file", "signing_key_credential", "job_dir",
    "max_concurrent_jobs", "max_queued_jobs", "max_operations", "max_request_bytes", "retention",
    "max_disk_bytes", "statement_timeout", "retry_after"};
constexpr std::array<std::string_view, 5> kWebKeys = {"listen_address", "telemetry_path",
                                                      "max_requests", "prometheus_url", "grafana_url"};
constexpr std::array<std::string_view, 2> kCoverageKeys = {"window", "grace"};
constexpr std::array<std::string_view, 5> kTenantsKeys = {"max", "allow", "deny",
                                                          "max_name_bytes", "shard"};
constexpr std::array<std::string_view, 2> kShardKeys = {"index", "total"};
constexpr std::array<std::string_view, 2> kHistogramKeys = {"anchor_latency_buckets_ms",
                                                            "anchor_latency_per_tenant"};
// Connection keys shared by ledgers, trace stores and the SQL flags source.
constexpr std::array<std::string_view, 6> kConnectionKeys = {
    "dsn", "password_file", "password_env", "connect_timeout", "statement_timeout", "prepared_statements"};
constexpr std::array<std::string_view, 13> kLedgerKeys = {
    "name",            "region",       "dsn",        "password_file", "password_env",
    "connect_timeout", "statement_timeout", "prepared_statements", "out_of_order", "batch_size",
    "queue_depth_interval", "queries", "anchor_root"};
constexpr std::array<std::string_view, 5> kLedgerQueryKeys = {"clock", "receipts", "anchored",
                                                              "queue_depth", "proofs_last"};
constexpr std::array<std::string_view, 18> kTraceKeys = {
    "name",            "kind",         "dsn",        "password_file", "password_env",
    "connect_timeout", "statement_timeout", "prepared_statements", "out_of_order", "batch_size", "queries",
    // kind: otlp_file
    "path", "compression", "tenant_attribute", "op_id_attribute", "attested_hash_attribute", "span_names",
    "max_line_bytes"};
// Keys of one trace store kind only (the others take none of them).
constexpr std::array<std::string_view, 7> kPostgresOnlyTraceKeys = {
    "dsn", "password_file", "password_env", "connect_timeout", "statement_timeout", "prepared_statements",
    "queries"};
constexpr std::array<std::string_view, 7> kOtlpOnlyTraceKeys = {
    "path", "compression", "tenant_attribute", "op_id_attribute", "attested_hash_attribute", "span_names",
    "max_line_bytes"};
constexpr std::array<std::string_view, 2> kTraceQueryKeys = {"clock", "spans"};
constexpr std::array<std::string_view, 9> kFlagsKeys = {
    "name",          "file",            "dsn",   "password_file", "password_env",
    "connect_timeout", "statement_timeout", "prepared_statements", "query"};

constexpr std::string_view kSupportedTraceKinds = "postgres, otlp_file";

// Bounds. statement_timeout is a PostgreSQL int (milliseconds).
constexpr std::int64_t kMaxBatchSize = 1000000;
constexpr std::int64_t kMaxRequests = 1024;
constexpr std::int64_t kMaxStatementTimeoutMs = INT_MAX;
constexpr std::int64_t kMinPollIntervalMs = 100;
constexpr std::int64_t kMinWindowMs = 60 * 1000;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

bool IsSourceName(std::string_view s) {
  if (s.empty()) return false;
  auto head = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!head(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(), [&](char c) {
    return head(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

bool IsEnvName(std::string_view s) {
  if (s.empty()) return false;
  auto head = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!head(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return head(c) || (c >= '0' && c <= '9'); });
}

// web.prometheus_url / web.grafana_url: an absolute http(s) URL with a host,
// printable ASCII without spaces, quotes, '<', '>' or '`' (it goes into an
// href), at most 2048 bytes.
bool ValidLinkUrl(std::string_view url, std::string* why) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
  } else {
    *why = "must start with http:// or https://";
    return false;
  }
  if (url.size() > 2048) {
    *why = "longer than 2048 bytes";
    return false;
  }
  for (const char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' || c == '\\') {
      *why = "must be printable ASCII without spaces, quotes, backslashes, '<', '>' or '`' (percent-encode them)";
      return false;
    }
  }
  const std::size_t host_end = rest.find_first_of("/?#");
  const std::string_view host = rest.substr(0, host_end);
  if (host.empty() || host[0] == ':' || host.find('@') != std::string_view::npos) {
    *why = host.find('@') != std::string_view::npos ? "must not hold credentials (user@host)" : "has no host";
    return false;
  }
  return true;
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// ---- the document walk ----

struct NameUse {
  std::string name;
  Pos pos;
  std::string path;
};

class Loader : public YamlWalker {
 public:
  Loader(std::string file, LoadOptions options) : YamlWalker(std::move(file)), options_(options) {}

  Config Run(const std::string& text);

 private:
  void GetStringList(const Mapping& m, std::string_view key, std::vector<std::string>& out);
  void LoadOtlpFile(const Mapping& m, const std::string& path, OtlpFile& otlp);
  void GetBuckets(const Mapping& m, std::string_view key, std::vector<double>& out);
  void GetQuery(const Mapping& m, std::string_view key, std::string& out);
  void GetName(const Mapping& m, std::string& out, bool required);
  // Records where `m` and its keys `keys` (those present) are.
  static void Record(const Mapping& m, std::initializer_list<std::string_view> keys, Positions& out);

  void LoadWeb(const Mapping& root, Web& web);
  void LoadCoverage(const Mapping& root, Coverage& coverage);
  void LoadTenants(const Mapping& root, Tenants& tenants);
  void LoadHistogram(const Mapping& root, Histogram& histogram);
  void LoadRecommend(const Mapping& root, Recommend& recommend);
  void LoadConnection(const Mapping& m, Connection& conn, bool dsn_required);
  void LoadLedgers(const Mapping& root, std::vector<Ledger>& ledgers);
  void LoadTraceStores(const Mapping& root, std::vector<TraceStore>& stores);
  void LoadFlags(const Mapping& root, Flags& flags);
  void LoadEvidence(const Mapping& root, Evidence& evidence);
  void LoadEvidenceApi(const Mapping& evidence, Evidence::Api& api);
  bool GetPointerList(const YAML::Node& node, Pos pos, const std::string& path, std::vector<std::string>& out);
  void CheckUniqueNames();

  LoadOptions options_;
  std::vector<NameUse> names_;  // every source name, in file order
};

void Loader::GetStringList(const Mapping& m, std::string_view key, std::vector<std::string>& out) {
  const Entry* e = m.Find(key);
  if (e == nullptr) return;
  const std::string path = Join(m.path, key);
  if (!e->value.IsSequence()) {
    Report(e->value_pos, path + ": expected a list of strings, got " + Describe(e->value));
    return;
  }
  std::vector<std::string> items;
  std::size_t i = 0;
  for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
    const YAML::Node& item = *it;
    Pos pos = ValuePos(item, e->value_pos);
    if (!item.IsScalar() || item.Scalar().empty()) {
      Report(pos, path + "[" + std::to_string(i) + "]: expected a non-empty string, got " + Describe(item));
      continue;
    }
    items.push_back(item.Scalar());
  }
  out = std::move(items);
}

void Loader::GetBuckets(const Mapping& m, std::string_view key, std::vector<double>& out) {
  const Entry* e = m.Find(key);
  if (e == nullptr) return;
  const std::string path = Join(m.path, key);
  if (!e->value.IsSequence()) {
    Report(e->value_pos, path + ": expected a list of numbers, got " + Describe(e->value));
    return;
  }
  if (e->value.size() == 0) {
    Report(e->value_pos, path + ": must list at least one bucket bound");
    return;
  }
  std::vector<double> bounds;
  std::string previous;  // text of the last accepted bound, for messages
  bool all_ok = true;
  std::size_t i = 0;
  for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
    const YAML::Node& item = *it;
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    Pos pos = ValuePos(item, e->value_pos);
    if (!item.IsScalar() || IsQuoted(item)) {
      Report(pos, item_path + ": expected a number, got " + Describe(item));
      all_ok = false;
      continue;
    }
    std::string s = item.Scalar();
    double v = 0;
    std::string lower = s;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == ".inf" || lower == "+.inf") {
      v = std::numeric_limits<double>::infinity();
    } else if (lower == "-.inf") {
      v = -std::numeric_limits<double>::infinity();
    } else if (lower == ".nan") {
      v = std::numeric_limits<double>::quiet_NaN();
    } else {
      const char* begin = s.data();
      if (!s.empty() && s[0] == '+') ++begin;
      auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
      if (ec != std::errc() || ptr != s.data() + s.size()) {
        Report(pos, item_path + ": expected a number, got " + Describe(item));
        all_ok = false;
        continue;
      }
    }
    if (!std::isfinite(v)) {
      Report(pos, item_path + ": bucket bound must be finite, got " + s +
                      " (the +Inf bucket is always added)");
      all_ok = false;
      continue;
    }
    if (v <= 0) {
      Report(pos, item_path + ": bucket bound must be greater than 0, got " + s);
      all_ok = false;
      continue;
    }
    if (!bounds.empty() && v <= bounds.back()) {
      Report(pos, item_path + ": bucket bounds must be strictly increasing, got " + s +
                      " after " + previous);
      all_ok = false;
      continue;
    }
    bounds.push_back(v);
    previous = s;
  }
  if (all_ok) out = std::move(bounds);
}

void Loader::GetQuery(const Mapping& m, std::string_view key, std::string& out) {
  std::string sql;
  if (!GetString(m, key, sql, false)) return;
  if (IsBlank(sql)) {
    Report(m.Find(key)->value_pos, Join(m.path, key) +
                                       ": query must not be empty; remove the key to use the "
                                       "built-in default");
    return;
  }
  out = std::move(sql);
}

void Loader::Record(const Mapping& m, std::initializer_list<std::string_view> keys, Positions& out) {
  if (m.path.find("queries") == std::string::npos) out[""] = {m.pos.line, m.pos.col};
  for (std::string_view k : keys) {
    if (const Entry* e = m.Find(k)) out[std::string(k)] = {e->value_pos.line, e->value_pos.col};
  }
}

void Loader::GetName(const Mapping& m, std::string& out, bool required) {
  std::string name;
  if (!GetString(m, "name", name, required)) return;
  const Entry* e = m.Find("name");
  if (!IsSourceName(name)) {
    Report(e->value_pos, Join(m.path, "name") + ": invalid source name " + Quote(name) +
                             "; must match [a-zA-Z_][a-zA-Z0-9_.-]*");
    return;
  }
  out = name;
  names_.push_back({name, e->value_pos, m.path});
}

void Loader::LoadWeb(const Mapping& root, Web& web) {
  Mapping m = ReadSubMapping(root, "web", kWebKeys);
  if (!m.ok) return;
  std::string addr;
  if (GetString(m, "listen_address", addr, false)) {
    std::string why;
    if (ParseListenAddress(addr, options_.ipv6_listen, &why)) {
      web.listen_address = addr;
    } else {
      Report(m.Find("listen_address")->value_pos,
             "web.listen_address: " + why + ", got " + Quote(addr));
    }
  }
  std::string path;
  if (GetString(m, "telemetry_path", path, false)) {
    const Pos pos = m.Find("telemetry_path")->value_pos;
    if (path.empty() || path[0] != '/') {
      Report(pos, "web.telemetry_path: must start with '/', got " + Quote(path));
    } else if (path == "/" || path == "/-/healthy" || path == "/-/ready") {
      Report(pos, "web.telemetry_path: " + Quote(path) +
                      " is reserved for the landing page or health endpoints");
    } else if (path.find_first_of("?# \t\r\n") != std::string::npos) {
      Report(pos, "web.telemetry_path: must be a plain path without '?', '#' or spaces, got " +
                      Quote(path));
    } else {
      web.telemetry_path = path;
    }
  }
  GetInt(m, "max_requests", web.max_requests, 1, kMaxRequests);
  for (const auto& [key, out] : {std::pair<const char*, std::string*>{"prometheus_url", &web.prometheus_url},
                                 std::pair<const char*, std::string*>{"grafana_url", &web.grafana_url}}) {
    std::string url;
    if (!GetString(m, key, url, false)) continue;
    std::string why;
    if (ValidLinkUrl(url, &why)) {
      *out = url;
    } else {
      Report(m.Find(key)->value_pos, std::string("web.") + key + ": " + why + ", got " + Quote(url));
    }
  }
}

void Loader::LoadCoverage(const Mapping& root, Coverage& coverage) {
  Mapping m = ReadSubMapping(root, "coverage", kCoverageKeys);
  if (!m.ok) return;
  GetDuration(m, "window", coverage.window_ms, kMinWindowMs, kInt64Max);
  GetDuration(m, "grace", coverage.grace_ms, 0, kInt64Max);
}

void Loader::LoadTenants(const Mapping& root, Tenants& tenants) {
  Mapping m = ReadSubMapping(root, "tenants", kTenantsKeys);
  if (!m.ok) return;
  GetInt(m, "max", tenants.max, 1, kInt64Max);
  GetRegexList(m, "allow", tenants.allow);
  GetRegexList(m, "deny", tenants.deny);
  GetInt(m, "max_name_bytes", tenants.max_name_bytes, 1, kInt64Max);
  Mapping shard = ReadSubMapping(m, "shard", kShardKeys);
  if (!shard.ok) return;
  std::int64_t total = tenants.shard_total;
  bool total_ok = GetInt(shard, "total", total, 1, kInt64Max) || shard.Find("total") == nullptr;
  std::int64_t index = tenants.shard_index;
  bool index_ok = GetInt(shard, "index", index, 0, kInt64Max) || shard.Find("index") == nullptr;
  if (total_ok && index_ok) {
    if (index >= total) {
      const Entry* e = shard.Find("index");
      Report(e != nullptr ? e->value_pos : shard.pos,
             "tenants.shard.index: must be less than tenants.shard.total (" +
                 std::to_string(total) + "), got " + std::to_string(index));
    } else {
      tenants.shard_index = index;
      tenants.shard_total = total;
    }
  }
}

void Loader::LoadHistogram(const Mapping& root, Histogram& histogram) {
  Mapping m = ReadSubMapping(root, "histogram", kHistogramKeys);
  if (!m.ok) return;
  GetBuckets(m, "anchor_latency_buckets_ms", histogram.anchor_latency_buckets_ms);
  GetBool(m, "anchor_latency_per_tenant", histogram.anchor_latency_per_tenant);
}

void Loader::LoadRecommend(const Mapping& root, Recommend& r) {
  Mapping m = ReadSubMapping(root, "recommend", kRecommendKeys);
  if (!m.ok) return;
  r.line = root.Find("recommend")->key_pos.line;
  GetNumber(m, "advance_min_coverage", r.advance_min_coverage_pct, 0, 100);
  GetInt(m, "min_operations", r.min_operations, 0, kInt64Max);
  GetNumber(m, "rollback_below_coverage", r.rollback_below_coverage_pct, 0, 100);
  GetNumber(m, "rollback_drop_points", r.rollback_drop_points, -1, 100);
  GetBool(m, "rollback_on_new_divergence", r.rollback_on_new_divergence);
  GetSteps(m, "steps", r.steps);
  if (r.rollback_below_coverage_pct > r.advance_min_coverage_pct) {
    const Entry* e = m.Find("rollback_below_coverage");
    if (e == nullptr) e = m.Find("advance_min_coverage");
    std::ostringstream msg;
    msg << "recommend.rollback_below_coverage (" << r.rollback_below_coverage_pct
        << ") must not exceed recommend.advance_min_coverage (" << r.advance_min_coverage_pct << ")";
    Report(e != nullptr ? e->value_pos : m.pos, msg.str());
  }
}

void Loader::LoadConnection(const Mapping& m, Connection& conn, bool dsn_required) {
  std::string dsn;
  if (GetString(m, "dsn", dsn, dsn_required)) {
    const Pos pos = m.Find("dsn")->value_pos;
    // Never quote the DSN: it may hold the very password being rejected.
    // Judged by what libpq parses (config/dsn.hh), as the connection will.
    std::string why;
    if (IsBlank(dsn)) {
      Report(pos, Join(m.path, "dsn") + ": must not be empty");
    } else if (!ParseDsn(dsn, &why)) {
      Report(pos, Join(m.path, "dsn") + ": not a valid libpq connection string or URI: " + why);
    } else if (DsnHasPassword(dsn)) {
      Report(pos, Join(m.path, "dsn") +
                      ": must not contain a password; put the password in a file named by "
                      "password_file or in an environment variable named by password_env");
    } else {
      conn.dsn = dsn;
    }
  }
  std::string file;
  bool has_file = GetString(m, "password_file", file, false);
  if (has_file) {
    if (file.empty()) {
      Report(m.Find("password_file")->value_pos,
             Join(m.path, "password_file") + ": must not be empty; remove the key instead");
    } else {
      conn.password_file = file;
    }
  }
  std::string env;
  bool has_env = GetString(m, "password_env", env, false);
  if (has_env) {
    if (!IsEnvName(env)) {
      Report(m.Find("password_env")->value_pos,
             Join(m.path, "password_env") + ": invalid environment variable name " +
                 Quote(env) + "; must match [A-Za-z_][A-Za-z0-9_]*");
    } else {
      conn.password_env = env;
    }
  }
  if (m.Find("password_file") != nullptr && m.Find("password_env") != nullptr) {
    Report(m.Find("password_env")->key_pos,
           (m.path.empty() ? std::string("top level") : m.path) +
               ": password_file and password_env are mutually exclusive; set only one");
  }
  GetDuration(m, "connect_timeout", conn.connect_timeout_ms, 1, kInt64Max);
  GetDuration(m, "statement_timeout", conn.statement_timeout_ms, 1, kMaxStatementTimeoutMs);
  GetBool(m, "prepared_statements", conn.prepared_statements);
}

void Loader::LoadLedgers(const Mapping& root, std::vector<Ledger>& ledgers) {
  const Entry* e = root.Find("ledgers");
  if (e == nullptr) {
    Report(root.pos, "top level: missing required key \"ledgers\" (at least one ledger is "
                     "required)");
    return;
  }
  if (!e->value.IsSequence()) {
    Report(e->value_pos, "ledgers: expected a list of ledgers, got " + Describe(e->value));
    return;
  }
  if (e->value.size() == 0) {
    Report(e->value_pos, "ledgers: at least one ledger is required");
    return;
  }
  std::size_t i = 0;
  for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
    const std::string path = "ledgers[" + std::to_string(i) + "]";
    Mapping m = ReadMapping(*it, e->value_pos, path, kLedgerKeys);
    if (!m.ok) continue;
    Ledger ledger;
    ledger.line = m.pos.line;
    GetName(m, ledger.name, true);
    if (GetString(m, "region", ledger.region, true) && IsBlank(ledger.region)) {
      Report(m.Find("region")->value_pos, path + ".region: must not be empty");
    }
    LoadConnection(m, ledger.conn, true);
    Record(m, {"dsn"}, ledger.positions);
    GetDuration(m, "out_of_order", ledger.out_of_order_ms, 1, kInt64Max);
    GetInt(m, "batch_size", ledger.batch_size, 1, kMaxBatchSize);
    GetDuration(m, "queue_depth_interval", ledger.queue_depth_interval_ms, 0, kInt64Max);
    std::string anchor_root;
    if (GetString(m, "anchor_root", anchor_root, false)) {
      if (anchor_root == "rfc6962") {
        ledger.anchor_root = Ledger::AnchorRoot::kRfc6962;
      } else if (anchor_root == "opaque") {
        ledger.anchor_root = Ledger::AnchorRoot::kOpaque;
      } else {
        Report(m.Find("anchor_root")->value_pos,
               path + ".anchor_root: expected \"rfc6962\" or \"opaque\", got " + Quote(anchor_root));
      }
    }
    Mapping q = ReadSubMapping(m, "queries", kLedgerQueryKeys);
    if (q.ok) {
      GetQuery(q, "clock", ledger.queries.clock);
      GetQuery(q, "receipts", ledger.queries.receipts);
      GetQuery(q, "anchored", ledger.queries.anchored);
      GetQuery(q, "queue_depth", ledger.queries.queue_depth);
      GetQuery(q, "proofs_last", ledger.queries.proofs_last);
      Record(q, {"clock", "receipts", "anchored", "queue_depth", "proofs_last"}, ledger.positions);
    }
    ledgers.push_back(std::move(ledger));
  }
}

void Loader::LoadTraceStores(const Mapping& root, std::vector<TraceStore>& stores) {
  const Entry* e = root.Find("trace_stores");
  if (e == nullptr) return;
  if (!e->value.IsSequence()) {
    Report(e->value_pos, "trace_stores: expected a list of trace stores, got " +
                             Describe(e->value));
    return;
  }
  std::size_t i = 0;
  for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
    const std::string path = "trace_stores[" + std::to_string(i) + "]";
    Mapping m = ReadMapping(*it, e->value_pos, path, kTraceKeys);
    if (!m.ok) continue;
    TraceStore store;
    store.line = m.pos.line;
    GetName(m, store.name, true);
    std::string kind = "postgres";
    bool kind_ok = true;
    if (GetString(m, "kind", kind, false) && kind != "postgres" && kind != "otlp_file") {
      Report(m.Find("kind")->value_pos, path + ".kind: unsupported trace store kind " +
                                            Quote(kind) + "; supported kinds: " +
                                            std::string(kSupportedTraceKinds));
      kind_ok = false;
    }
    const bool otlp = kind == "otlp_file";
    store.kind = otlp ? TraceKind::kOtlpFile : TraceKind::kPostgres;
    if (kind_ok) {
      for (std::string_view key : otlp ? std::vector<std::string_view>(kPostgresOnlyTraceKeys.begin(),
                                                                       kPostgresOnlyTraceKeys.end())
                                       : std::vector<std::string_view>(kOtlpOnlyTraceKeys.begin(),
                                                                       kOtlpOnlyTraceKeys.end())) {
        if (const Entry* k = m.Find(key)) {
          Report(k->key_pos, path + "." + std::string(key) + ": not a setting of trace store kind " + kind);
        }
      }
    }
    if (otlp) {
      LoadOtlpFile(m, path, store.otlp);
      Record(m, {"path"}, store.positions);
    } else {
      // An unknown kind may not take a dsn at all; do not pile "missing dsn" on top.
      LoadConnection(m, store.conn, kind_ok);
      Record(m, {"dsn"}, store.positions);
    }
    GetDuration(m, "out_of_order", store.out_of_order_ms, 1, kInt64Max);
    GetInt(m, "batch_size", store.batch_size, 1, kMaxBatchSize);
    Mapping q = ReadSubMapping(m, "queries", kTraceQueryKeys);
    if (q.ok && !otlp) {
      GetQuery(q, "clock", store.queries.clock);
      GetQuery(q, "spans", store.queries.spans);
      Record(q, {"clock", "spans"}, store.positions);
    }
    stores.push_back(std::move(store));
  }
}

void Loader::LoadOtlpFile(const Mapping& m, const std::string& path, OtlpFile& otlp) {
  if (GetString(m, "path", otlp.path, true) && IsBlank(otlp.path)) {
    Report(m.Find("path")->value_pos, path + ".path: must not be empty");
  }
  std::string compression;
  if (GetString(m, "compression", compression, false)) {
    if (compression == "zstd") {
      otlp.compression = compression;
    } else if (compression != "none" && !compression.empty()) {
      Report(m.Find("compression")->value_pos,
             path + ".compression: unsupported compression " + Quote(compression) +
                 "; supported: zstd (the file exporter's per-message zstd), none");
    }
  }
  for (auto [key, out] : {std::pair<const char*, std::string*>{"tenant_attribute", &otlp.tenant_attribute},
                          {"op_id_attribute", &otlp.op_id_attribute},
                          {"attested_hash_attribute", &otlp.attested_hash_attribute}}) {
    if (GetString(m, key, *out, false) && out->empty()) {
      Report(m.Find(key)->value_pos, path + "." + key + ": must not be empty");
    }
  }
  GetStringList(m, "span_names", otlp.span_names);
  GetInt(m, "max_line_bytes", otlp.max_line_bytes, 1024, std::int64_t{1} << 30);
}

void Loader::LoadFlags(const Mapping& root, Flags& flags) {
  Mapping m = ReadSubMapping(root, "flags", kFlagsKeys);
  if (!m.ok) return;
  const bool has_file = m.Find("file") != nullptr;
  const bool has_sql = m.Find("dsn") != nullptr || m.Find("query") != nullptr;
  if (has_file && has_sql) {
    Report(m.pos, "flags: set either file or dsn+query, not both");
    return;
  }
  if (!has_file && !has_sql) {
    Report(m.pos, "flags: set either file (a flags.spec path) or dsn and query");
    return;
  }
  std::string name = flags.name;
  if (m.Find("name") != nullptr) {
    GetName(m, name, false);
  } else {
    names_.push_back({flags.name, m.pos, "flags"});
  }
  flags.name = name;
  if (has_file) {
    flags.kind = FlagsKind::kFile;
    if (GetString(m, "file", flags.file, false) && flags.file.empty()) {
      Report(m.Find("file")->value_pos, "flags.file: must not be empty");
    }
    for (std::string_view key : kConnectionKeys) {
      if (const Entry* e = m.Find(key)) {
        Report(e->key_pos, Join("flags", key) + ": only valid with flags.dsn, not with flags.file");
      }
    }
    return;
  }
  flags.kind = FlagsKind::kSql;
  LoadConnection(m, flags.conn, true);
  Record(m, {"dsn", "query"}, flags.positions);
  if (m.Find("query") == nullptr) {
    Missing(m, "query");
  } else {
    GetQuery(m, "query", flags.query);
  }
}

bool Loader::GetPointerList(const YAML::Node& node, Pos pos, const std::string& path,
                            std::vector<std::string>& out) {
  if (!node.IsSequence()) {
    Report(pos, path + ": expected a list of JSON pointers, got " + Describe(node));
    return false;
  }
  bool ok = true;
  std::size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    const Pos p = ValuePos(*it, pos);
    if (!it->IsScalar()) {
      Report(p, item_path + ": expected a JSON pointer string, got " + Describe(*it));
      ok = false;
      continue;
    }
    const std::string& ptr = it->Scalar();
    // RFC 6901: "/" then reference tokens; "~" only as "~0" or "~1". The
    // whole document ("") cannot be masked: nothing would be left to show.
    bool valid = !ptr.empty() && ptr[0] == '/';
    for (std::size_t k = 0; valid && k < ptr.size(); ++k) {
      if (ptr[k] == '~') valid = k + 1 < ptr.size() && (ptr[k + 1] == '0' || ptr[k + 1] == '1');
    }
    if (!valid) {
      Report(p, item_path + ": " + Quote(ptr) +
                    " is not a JSON pointer to a field (RFC 6901: \"/field/sub\", \"~0\" for ~, \"~1\" for /)");
      ok = false;
      continue;
    }
    out.push_back(ptr);
  }
  return ok;
}

void Loader::LoadEvidence(const Mapping& root, Evidence& evidence) {
  Mapping m = ReadSubMapping(root, "evidence", kEvidenceKeys);
  if (!m.ok) return;
  if (const Entry* e = m.Find("mask")) GetPointerList(e->value, e->value_pos, "evidence.mask", evidence.mask);
  if (const Entry* e = m.Find("mask_by_tenant")) {
    if (!e->value.IsMap()) {
      Report(e->value_pos, "evidence.mask_by_tenant: expected a mapping of tenant to a list of JSON pointers, got " +
                               Describe(e->value));
      return;
    }
    for (auto it = e->value.begin(); it != e->value.end(); ++it) {
      if (!it->first.IsScalar()) {
        Report(ValuePos(it->first, e->value_pos), "evidence.mask_by_tenant: tenant names must be strings");
        continue;
      }
      std::vector<std::string> ptrs;
      const std::string tenant = it->first.Scalar();
      if (GetPointerList(it->second, ValuePos(it->second, ValuePos(it->first, e->value_pos)),
                         "evidence.mask_by_tenant." + tenant, ptrs)) {
        evidence.mask_by_tenant.emplace_back(tenant, std::move(ptrs));
      }
    }
  }
  LoadEvidenceApi(m, evidence.api);
}

void Loader::LoadEvidenceApi(const Mapping& evidence, Evidence::Api& api) {
  Mapping m = ReadSubMapping(evidence, "api", kEvidenceApiKeys);
  if (!m.ok) return;
  api.line = m.pos.line;
  GetBool(m, "enabled", api.enabled);
  GetString(m, "tokens_file", api.tokens_file, false);
  GetString(m, "tokens_credential", api.tokens_credential, false);
  GetString(m, "signing_key_file", api.signing_key_file, false);
  GetString(m, "signing_key_credential", api.signing_key_credential, false);
  GetString(m, "job_dir", api.job_dir, false);
  GetInt(m, "max_concurrent_jobs", api.max_concurrent_jobs, 1, 64);
  GetInt(m, "max_queued_jobs", api.max_queued_jobs, 0, 100000);
  GetInt(m, "max_operations", api.max_operations, 1, 10000000);
  // The HTTP server refuses bodies over 1 MiB before any route sees them.
  GetInt(m, "max_request_bytes", api.max_request_bytes, 64, 1 << 20);
  GetDuration(m, "retention", api.retention_ms, 1000, kInt64Max);
  GetInt(m, "max_disk_bytes", api.max_disk_bytes, 1, kInt64Max);
  GetDuration(m, "statement_timeout", api.statement_timeout_ms, 1, kInt64Max);
  GetDuration(m, "retry_after", api.retry_after_ms, 1000, 86400LL * 1000);
  // A credential name is a file name inside $CREDENTIALS_DIRECTORY.
  for (const char* key : {"tokens_credential", "signing_key_credential"}) {
    const Entry* e = m.Find(key);
    const std::string& v = std::string_view(key) == "tokens_credential" ? api.tokens_credential
                                                                          : api.signing_key_credential;
    if (e && !v.empty() && (v.find('/') != std::string::npos || v == "." || v == "..")) {
      Report(e->value_pos, "evidence.api." + std::string(key) + ": " + Quote(v) +
                               " is not a credential name (a file name in $CREDENTIALS_DIRECTORY, no \"/\")");
    }
  }
  if (!api.enabled) return;
  auto one_of = [&](const char* file_key, const std::string& file, const char* cred_key, const std::string& cred) {
    if (file.empty() == cred.empty()) {
      Report(m.pos, std::string("evidence.api: enabled needs exactly one of ") + file_key + " and " + cred_key +
                        (file.empty() ? " (neither is set)" : " (both are set)"));
    }
  };
  one_of("tokens_file", api.tokens_file, "tokens_credential", api.tokens_credential);
  one_of("signing_key_file", api.signing_key_file, "signing_key_credential", api.signing_key_credential);
  if (api.job_dir.empty()) Missing(m, "job_dir");
}

void Loader::CheckUniqueNames() {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (names_[i].name == names_[j].name) {
        Report(names_[i].pos, names_[i].path + ": source name " + Quote(names_[i].name) +
                                  " is already used by " + names_[j].path + " (line " +
                                  std::to_string(names_[j].pos.line) +
                                  "); names must be unique across ledgers, trace stores and "
                                  "flags");
        break;
      }
    }
  }
}

Config Loader::Run(const std::string& text) {
  Config cfg;
  cfg.path = file();
  YamlDocument doc = LoadSingleYamlDocument(text, kMaxConfigBytes);
  if (!doc.ok) {
    Report({doc.line, doc.column}, doc.message);
    return cfg;
  }
  if (doc.root.IsNull()) {
    Report({1, 1}, "configuration is empty; at least one ledger must be configured");
    return cfg;
  }
  Mapping root = ReadMapping(doc.root, {1, 1}, "", kRootKeys);
  if (!root.ok) return cfg;
  LoadWeb(root, cfg.web);
  GetDuration(root, "poll_interval", cfg.poll_interval_ms, kMinPollIntervalMs, kInt64Max);
  GetString(root, "state_file", cfg.state_file, false);
  GetInt(root, "state_max_divergence_keys", cfg.state_max_divergence_keys, 1, kInt64Max);
  GetInt(root, "log_bad_rows_per_minute", cfg.log_bad_rows_per_minute, 0, kInt64Max);
  GetInt(root, "max_rows_per_poll", cfg.max_rows_per_poll, 0, kInt64Max);
  LoadCoverage(root, cfg.coverage);
  LoadTenants(root, cfg.tenants);
  LoadHistogram(root, cfg.histogram);
  LoadRecommend(root, cfg.recommend);
  LoadLedgers(root, cfg.ledgers);
  LoadTraceStores(root, cfg.trace_stores);
  LoadFlags(root, cfg.flags);
  LoadEvidence(root, cfg.evidence);
  CheckUniqueNames();
  return cfg;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

void AddPaths(std::vector<std::string>& out, const std::string& prefix,
              std::span<const std::string_view> keys,
              std::initializer_list<std::string_view> skip = {}) {
  for (std::string_view k : keys) {
    if (std::find(skip.begin(), skip.end(), k) != skip.end()) continue;
    out.push_back(prefix + std::string(k));
  }
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(JoinLines(problems)), problems_(std::move(problems)) {}

Config ParseConfig(const std::string& yaml_text, const std::string& filename, const LoadOptions& options) {
  Loader loader(filename, options);
  Config cfg = loader.Run(yaml_text);
  std::vector<std::string> problems = loader.Formatted();
  if (!problems.empty()) throw ConfigError(std::move(problems));
  return cfg;
}

Config LoadConfig(const std::string& path, const LoadOptions& options) {
  std::string text;
  if (std::string why = ReadBoundedFile(path, kMaxConfigBytes, text, "configuration file");
      !why.empty()) {
    throw ConfigError({path + ": " + why});
  }
  return ParseConfig(text, path, options);
}

std::vector<std::string> KnownKeyPaths() {
  std::vector<std::string> out;
  AddPaths(out, "", kRootKeys,
           {"web", "coverage", "tenants", "histogram", "recommend", "ledgers", "trace_stores",
            "flags", "evidence"});
  AddPaths(out, "web.", kWebKeys);
  AddPaths(out, "coverage.", kCoverageKeys);
  AddPaths(out, "tenants.", kTenantsKeys, {"shard"});
  AddPaths(out, "tenants.shard.", kShardKeys);
  AddPaths(out, "histogram.", kHistogramKeys);
  AddPaths(out, "recommend.", kRecommendKeys);
  AddPaths(out, "ledgers[].", kLedgerKeys, {"queries"});
  AddPaths(out, "ledgers[].queries.", kLedgerQueryKeys);
  AddPaths(out, "trace_stores[].", kTraceKeys, {"queries"});
  AddPaths(out, "trace_stores[].queries.", kTraceQueryKeys);
  AddPaths(out, "flags.", kFlagsKeys);
  AddPaths(out, "evidence.", kEvidenceKeys, {"api"});
  AddPaths(out, "evidence.api.", kEvidenceApiKeys);
  return out;
}

int CheckConfigFile(const std::string& path, std::ostream& out, std::ostream& err, const LoadOptions& options) {
  try {
    Config cfg = LoadConfig(path, options);
    out << "config OK: " << cfg.ledgers.size() << " ledgers, " << cfg.trace_stores.size()
        << " trace stores\n";
    return 0;
  } catch (const ConfigError& e) {
    for (const std::string& p : e.problems()) err << p << '\n';
  } catch (const std::exception& e) {
    err << path << ": " << e.what() << '\n';
  }
  return 1;
}

}  // namespace provledger::config
