#include "livecheck/livecheck.hh"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <vector>

#include "config/load.hh"
#include "decode/decode.hh"
#include "pq/connection.hh"
#include "source/plan_check.hh"
#include "source/queries.hh"

namespace provledger::livecheck {
namespace {

constexpr std::array<ColumnSpec, 1> kClock = {{{"now_us", ColKind::kMicros}}};
constexpr std::array<ColumnSpec, 10> kReceipts = {{{"receipt_id", ColKind::kText},
                                                   {"tenant_id", ColKind::kText},
                                                   {"op_id", ColKind::kText},
                                                   {"region", ColKind::kText},
                                                   {"policy_version", ColKind::kText},
                                                   {"kid", ColKind::kText},
                                                   {"version", ColKind::kAny},
                                                   {"body", ColKind::kText},
                                                   {"content_hash", ColKind::kHash},
                                                   {"created_us", ColKind::kMicros}}};
constexpr std::array<ColumnSpec, 4> kAnchored = {{{"receipt_id", ColKind::kText},
                                                  {"tenant_id", ColKind::kText},
                                                  {"created_us", ColKind::kMicros},
                                                  {"anchored_us", ColKind::kMicros}}};
constexpr std::array<ColumnSpec, 1> kQueueDepth = {{{"depth", ColKind::kInt}}};
constexpr std::array<ColumnSpec, 1> kProofsLast = {{{"proved_us", ColKind::kMicros}}};
// The 7th column (the span name, decode::kSpanColumnsWithName) is optional.
constexpr std::array<ColumnSpec, 7> kSpans = {{{"trace_id", ColKind::kText},
                                               {"span_id", ColKind::kText},
                                               {"tenant_id", ColKind::kText},
                                               {"op_id", ColKind::kText},
                                               {"start_us", ColKind::kMicros},
                                               {"attested_hash", ColKind::kHash},
                                               {"name", ColKind::kText}}};
constexpr std::array<ColumnSpec, 3> kFlags = {{{"tenant", ColKind::kText},
                                               {"feature", ColKind::kText},
                                               {"pct", ColKind::kNumber}}};

// pg_type OIDs (stable across PostgreSQL versions).
constexpr unsigned kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700,
                   kFloat8 = 701, kDate = 1082, kTimestamp = 1114, kTimestamptz = 1184, kNumeric = 1700;

bool IsInteger(unsigned oid) { return oid == kInt2 || oid == kInt4 || oid == kInt8; }

struct Problem {
  config::Position pos;
  bool warning = false;
  std::string text;
};

config::Position PosOf(const config::Positions& p, const std::string& key) {
  if (auto it = p.find(key); it != p.end() && it->second.line > 0) return it->second;
  if (auto it = p.find(""); it != p.end()) return it->second;
  return {};
}

// One source's checks, collecting problems.
class Checker {
 public:
  Checker(std::string label, const config::Positions& positions, std::vector<Problem>& problems)
      : label_(std::move(label)), positions_(positions), problems_(problems) {}

  void Report(const std::string& key, std::string text, bool warning = false) {
    problems_.push_back({PosOf(positions_, key), warning, label_ + ": " + std::move(text)});
  }

  // Describes `sql` and checks it against the contract of `query`; true when
  // it can be run (right parameters and columns).
  bool Describe(pq::Connection& c, const std::string& key, std::string_view query, std::string_view sql) {
    pq::Connection::Description d;
    try {
      d = c.Describe(sql);
    } catch (const pq::PqError& e) {
      Report(key, std::string(query) + " query does not prepare: " + e.what());
      return false;
    }
    bool ok = true;
    const int want_params = ContractParams(query);
    if (d.params != want_params) {
      Report(key, std::string(query) + " query takes " + std::to_string(d.params) + " parameter(s); the exporter passes " +
                      std::to_string(want_params) +
                      (want_params == 4 ? " ($1 after_us bigint, $2 after_id text, $3 upto_us bigint, $4 limit bigint)"
                                        : ""));
      ok = false;
    }
    auto contract = Contract(query);
    const bool optional_last = query == "spans";   // the span name may be left out
    if (optional_last && d.columns.size() + 1 == contract.size()) contract = contract.first(contract.size() - 1);
    if (d.columns.size() != contract.size()) {
      std::string want;
      for (const auto& s : contract) want += (want.empty() ? "" : ", ") + std::string(s.name);
      Report(key, std::string(query) + " query returns " + std::to_string(d.columns.size()) + " column(s); it must return " +
                      (optional_last ? std::to_string(contract.size() - 1) + " or " : "") +
                      std::to_string(contract.size()) + ": " + want + (optional_last ? " (the last one optional)" : ""));
      return false;
    }
    for (std::size_t i = 0; i < contract.size(); ++i) {
      const std::string why = CheckColumnType(contract[i], d.columns[i].type_oid, TypeName(c, d.columns[i].type_oid));
      if (!why.empty()) {
        Report(key, std::string(query) + " query column " + std::to_string(i + 1) + " (" + std::string(contract[i].name) +
                        ", returned as \"" + d.columns[i].name + "\") " + why);
        ok = false;
      }
    }
    return ok;
  }

  static std::string TypeName(pq::Connection& c, unsigned oid) {
    try {
      pq::Result r = c.Exec("SELECT format_type($1::oid, NULL)", {std::to_string(oid)});
      if (r.rows() == 1) return std::string(r.text(0, 0));
    } catch (const pq::PqError&) {
    }
    return "oid " + std::to_string(oid);
  }

  void Plan(pq::Connection& c, const std::string& key, std::string_view query, std::string_view sql, std::int64_t now_us,
            std::int64_t limit) {
    try {
      const source::PlanFinding f = source::CheckStreamPlan(c, query, sql, now_us, limit);
      if (f.unindexed) {
        Report(key,
               std::string(query) + " query cannot use an index on its keyset columns: every poll reads the whole table (plan: " +
                   f.plan + "); " + f.advice,
               true);
      }
    } catch (const pq::PqError& e) {
      Report(key, std::string(query) + " query: EXPLAIN failed: " + e.what(), true);
    }
  }

  // Rows of a stream query in [from, horizon], at most 50.
  std::optional<pq::Result> Sample(pq::Connection& c, const std::string& key, std::string_view query, std::string_view sql,
                                   std::int64_t from, std::int64_t horizon) {
    try {
      return c.Exec(sql, {from, std::string(), horizon, std::int64_t{50}});
    } catch (const pq::PqError& e) {
      Report(key, std::string(query) + " query fails when run: " + e.what());
      return std::nullopt;
    }
  }

  void CheckMicros(const std::string& key, std::string_view query, const pq::Result& r, int col, std::int64_t now_us) {
    for (int i = 0; i < r.rows(); ++i) {
      if (r.is_null(i, col)) continue;
      const auto ts = decode::ParseInt64(r.text(i, col));
      if (ts && LooksCoarserThanMicros(*ts, now_us)) {
        Report(key, std::string(query) + " query column " + std::to_string(col + 1) + " returned " + std::to_string(*ts) +
                        ", which is not epoch microseconds near the clock (" + std::to_string(now_us) +
                        "): milliseconds or seconds? multiply by 1000 (or 1000000)");
        return;
      }
    }
  }

  const std::string& label() const { return label_; }

 private:
  std::string label_;
  const config::Positions& positions_;
  std::vector<Problem>& problems_;
};

const char* Or(const std::string& s, const char* fallback) { return s.empty() ? fallback : s.c_str(); }

struct HashSample {
  std::string source;          // "ledger eu"
  std::string key;             // config key of the query
  const config::Positions* positions = nullptr;
  std::map<std::string, int> shapes;   // shape -> count
};

void CollectHashes(const pq::Result& r, int col, HashSample& out) {
  for (int i = 0; i < r.rows(); ++i) {
    if (r.is_null(i, col) || r.text(i, col).empty()) continue;
    ++out.shapes[HashShape(r.text(i, col))];
  }
}

std::string Shapes(const HashSample& h) {
  std::string s;
  for (const auto& [shape, n] : h.shapes) s += (s.empty() ? "" : ", ") + shape + " (" + std::to_string(n) + ")";
  return s;
}

std::optional<std::int64_t> Clock(Checker& ck, pq::Connection& c, const std::string& sql) {
  try {
    pq::Result r = c.Exec(sql);
    if (r.rows() == 1 && r.cols() == 1 && !r.is_null(0, 0)) {
      if (auto v = decode::ParseInt64(r.text(0, 0))) return v;
    }
    ck.Report("clock", "clock query did not return one bigint; returned \"" +
                           std::string(r.rows() > 0 && r.cols() > 0 ? r.text(0, 0) : "") + "\"");
  } catch (const pq::PqError& e) {
    ck.Report("clock", std::string("clock query fails when run: ") + e.what());
  }
  return std::nullopt;
}

std::unique_ptr<pq::Connection> Connect(Checker& ck, const config::Connection& conn) {
  try {
    pq::ConnectOptions o = pq::OptionsFromConfig(conn);
    return std::make_unique<pq::Connection>(o);
  } catch (const pq::PqError& e) {
    ck.Report("dsn", std::string("cannot connect: ") + e.what());
  }
  return nullptr;
}

}  // namespace

std::span<const ColumnSpec> Contract(std::string_view query) {
  if (query == "clock") return kClock;
  if (query == "receipts") return kReceipts;
  if (query == "anchored") return kAnchored;
  if (query == "queue_depth") return kQueueDepth;
  if (query == "proofs_last") return kProofsLast;
  if (query == "spans") return kSpans;
  if (query == "flags") return kFlags;
  return {};
}

int ContractParams(std::string_view query) {
  return query == "receipts" || query == "anchored" || query == "spans" ? 4 : 0;
}

std::string CheckColumnType(const ColumnSpec& spec, unsigned oid, std::string_view type_name) {
  const std::string is = "is " + std::string(type_name);
  switch (spec.kind) {
    case ColKind::kAny:
      return "";
    case ColKind::kText:
    case ColKind::kHash:
      if (oid == kBytea) {
        return is + ": its text form is \\x-escaped hex, which never equals a hash written as text; "
                    "use encode(<column>, 'hex')";
      }
      return "";
    case ColKind::kMicros:
      if (oid == kInt8) return "";
      if (oid == kTimestamptz || oid == kTimestamp || oid == kDate) {
        return is + ", not bigint epoch microseconds; use (extract(epoch FROM <column>) * 1000000)::bigint";
      }
      if (oid == kInt2 || oid == kInt4) return is + ": epoch microseconds need bigint; cast with ::bigint";
      if (oid == kNumeric || oid == kFloat4 || oid == kFloat8) {
        return is + ", not bigint; cast with ::bigint (epoch microseconds)";
      }
      return is + ", not bigint epoch microseconds";
    case ColKind::kInt:
      if (IsInteger(oid)) return "";
      return is + ", not an integer; cast with ::bigint";
    case ColKind::kNumber:
      if (IsInteger(oid) || oid == kFloat4 || oid == kFloat8 || oid == kNumeric) return "";
      if (oid == kBool) return is + ", not a number";
      return is + ", not a number; cast with ::double precision";
  }
  return "";
}

std::string HashShape(std::string_view v) {
  const auto all = [&](std::string_view s, auto pred) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
  };
  // Not "/" + std::to_string(...): GCC 12 at -O3 reports a false -Wrestrict there.
  std::string n = "/";
  n += std::to_string(v.size());
  if (v.size() > 2 && v[0] == '\\' && v[1] == 'x' && all(v.substr(2), ::isxdigit)) return "bytea-escape" + n;
  if (all(v, [](unsigned char c) { return std::isdigit(c) || (c >= 'a' && c <= 'f'); })) return "hex" + n;
  if (all(v, [](unsigned char c) { return std::isdigit(c) || (c >= 'A' && c <= 'F'); })) return "HEX" + n;
  if (all(v, [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '/' || c == '=' || c == '-' || c == '_'; })) {
    return "base64" + n;
  }
  return "other" + n;
}

bool LooksCoarserThanMicros(std::int64_t ts, std::int64_t now_us) {
  // Within the last ~30 years of a clock that itself is in microseconds, a
  // microsecond timestamp is > now/2; a millisecond one is ~now/1000.
  return now_us > 0 && ts > 0 && ts < now_us / 100;
}

int CheckConfigLive(const std::string& path, std::ostream& out, std::ostream& err) {
  config::Config cfg;
  try {
    cfg = config::LoadConfig(path);
  } catch (const config::ConfigError& e) {
    for (const std::string& p : e.problems()) err << p << '\n';
    return 1;
  }
  std::vector<Problem> problems;
  std::vector<HashSample> content, attested;
  const std::int64_t lookback_us = (cfg.coverage.window_ms + cfg.coverage.grace_ms) * 1000;

  for (std::size_t i = 0; i < cfg.ledgers.size(); ++i) {
    const config::Ledger& l = cfg.ledgers[i];
    Checker ck("ledgers[" + std::to_string(i) + "] " + l.name, l.positions, problems);
    auto c = Connect(ck, l.conn);
    if (!c) continue;
    const auto& q = l.queries;
    const std::string clock = Or(q.clock, source::kDefaultClockQuery);
    const std::string receipts = Or(q.receipts, source::kDefaultReceiptsQuery);
    const std::string anchored = Or(q.anchored, source::kDefaultAnchoredQuery);
    const bool clock_ok = ck.Describe(*c, "clock", "clock", clock);
    const bool receipts_ok = ck.Describe(*c, "receipts", "receipts", receipts);
    const bool anchored_ok = ck.Describe(*c, "anchored", "anchored", anchored);
    ck.Describe(*c, "queue_depth", "queue_depth", Or(q.queue_depth, source::kDefaultQueueDepthQuery));
    ck.Describe(*c, "proofs_last", "proofs_last", Or(q.proofs_last, source::kDefaultProofsLastQuery));
    const auto now = clock_ok ? Clock(ck, *c, clock) : std::nullopt;
    if (!now) continue;
    const std::int64_t from = (*now - lookback_us) / 1000000 * 1000000;
    const std::int64_t horizon = *now - l.out_of_order_ms * 1000;
    if (receipts_ok) {
      ck.Plan(*c, "receipts", "receipts", receipts, *now, l.batch_size);
      if (auto r = ck.Sample(*c, "receipts", "receipts", receipts, from, horizon)) {
        ck.CheckMicros("receipts", "receipts", *r, 9, *now);
        HashSample h{"ledger " + l.name, "receipts", &l.positions, {}};
        CollectHashes(*r, 8, h);
        content.push_back(std::move(h));
      }
    }
    if (anchored_ok) {
      ck.Plan(*c, "anchored", "anchored", anchored, *now, l.batch_size);
      if (auto r = ck.Sample(*c, "anchored", "anchored", anchored, from, horizon)) {
        ck.CheckMicros("anchored", "anchored", *r, 2, *now);
        ck.CheckMicros("anchored", "anchored", *r, 3, *now);
      }
    }
  }
  for (std::size_t i = 0; i < cfg.trace_stores.size(); ++i) {
    const config::TraceStore& t = cfg.trace_stores[i];
    Checker ck("trace_stores[" + std::to_string(i) + "] " + t.name, t.positions, problems);
    if (t.kind == config::TraceKind::kOtlpFile) {
      // No database: the live file must be there and readable by this user
      // (the exporter reports a missing live file as a failed poll).
      if (::access(t.otlp.path.c_str(), R_OK) != 0) {
        ck.Report("path", "cannot read the live file " + t.otlp.path + ": " + std::strerror(errno));
      }
      continue;
    }
    auto c = Connect(ck, t.conn);
    if (!c) continue;
    const std::string clock = Or(t.queries.clock, source::kDefaultClockQuery);
    const std::string spans = Or(t.queries.spans, source::kDefaultSpansQuery);
    const bool clock_ok = ck.Describe(*c, "clock", "clock", clock);
    const bool spans_ok = ck.Describe(*c, "spans", "spans", spans);
    const auto now = clock_ok ? Clock(ck, *c, clock) : std::nullopt;
    if (!now || !spans_ok) continue;
    const std::int64_t from = (*now - lookback_us) / 1000000 * 1000000;
    ck.Plan(*c, "spans", "spans", spans, *now, t.batch_size);
    if (auto r = ck.Sample(*c, "spans", "spans", spans, from, *now - t.out_of_order_ms * 1000)) {
      ck.CheckMicros("spans", "spans", *r, 4, *now);
      HashSample h{"trace store " + t.name, "spans", &t.positions, {}};
      CollectHashes(*r, 5, h);
      attested.push_back(std::move(h));
    }
  }
  if (cfg.flags.kind == config::FlagsKind::kSql) {
    Checker ck("flags " + cfg.flags.name, cfg.flags.positions, problems);
    if (auto c = Connect(ck, cfg.flags.conn)) ck.Describe(*c, "query", "flags", cfg.flags.query);
  }
  // Content hashes vs attested hashes: a common shape is needed for any match.
  for (const HashSample& a : attested) {
    if (a.shapes.empty()) continue;
    for (const HashSample& r : content) {
      if (r.shapes.empty()) continue;
      const bool common = std::any_of(a.shapes.begin(), a.shapes.end(),
                                      [&](const auto& s) { return r.shapes.count(s.first) > 0; });
      if (!common) {
        problems.push_back({PosOf(*a.positions, a.key), false,
                            a.source + ": attested_hash values (" + Shapes(a) + ") never have the form of " + r.source +
                                "'s content_hash values (" + Shapes(r) +
                                "): no span can match a receipt, every operation would be divergent; return both as "
                                "the same text (e.g. lower-case hex: encode(<bytea>, 'hex'), lower(<text>))"});
      }
    }
  }
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
  int errors = 0;
  for (const Problem& p : problems) {
    std::ostream& o = p.warning ? out : err;
    o << path;
    if (p.pos.line > 0) o << ':' << p.pos.line << ':' << p.pos.column;
    o << ": " << (p.warning ? "warning: " : "") << p.text << '\n';
    if (!p.warning) ++errors;
  }
  if (errors > 0) {
    err << path << ": live check failed: " << errors << " problem(s)\n";
    return 1;
  }
  out << "live check OK: " << cfg.ledgers.size() << " ledgers, " << cfg.trace_stores.size() << " trace stores";
  if (cfg.flags.kind == config::FlagsKind::kSql) out << ", flags query";
  out << '\n';
  return 0;
}

}  // namespace provledger::livecheck
