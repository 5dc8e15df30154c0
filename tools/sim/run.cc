// `provledger_sim run`: live traffic. A single-threaded event loop (10 ms
// ticks) that
//  - draws op arrivals as a Poisson process at the current rate;
//  - writes each op's span when it ends (start + duration) to the trace
//    store, and its receipt at created_at = span start + flush delay
//    (0.2-3 s) to the tenant's home ledger, unless the receipt is withheld;
//  - anchors, per region every 100-200 ms, the written receipts whose
//    sampled anchor latency has elapsed (one anchor per batch);
//  - inserts notary proofs per region every 2-4 s for anchors made since;
//  - steps the feature ramp and rewrites the flags file every ramp interval;
//  - re-reads the control file every second.
// A database that fails is retried with capped backoff; its pending rows
// are kept and written when it is back. Ids are keyed (seed, instance, op
// number), so the op sequence is deterministic given the seed; only the
// wall-clock times differ between runs.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "anchor.hh"
#include "args.hh"
#include "commands.hh"
#include "model.hh"

namespace provledger::sim {

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

void Log(const std::string& msg) {
  std::cerr << FormatIso(NowMicros()) << " provledger_sim run: " << msg << std::endl;
}

struct Control {
  double rate = 20;
  double divergence = 0.001;
  double missing = 0.01;
  double latency_scale = 1;
  bool anchor_pause = false;
  bool notary_pause = false;
  bool ramp_pause = false;
  // Comma-separated tenant names that divergence_rate applies to; empty = every tenant.
  std::string divergence_tenants;

  bool DivergesFor(const std::string& tenant) const {
    if (divergence_tenants.empty()) return true;
    std::size_t start = 0;
    while (start <= divergence_tenants.size()) {
      std::size_t comma = divergence_tenants.find(',', start);
      if (comma == std::string::npos) comma = divergence_tenants.size();
      if (divergence_tenants.compare(start, comma - start, tenant) == 0) return true;
      start = comma + 1;
    }
    return false;
  }

  bool operator==(const Control&) const = default;
  std::string Describe() const {
    std::ostringstream s;
    s << "rate=" << rate << " divergence_rate=" << divergence << " missing_rate=" << missing
      << " latency_scale=" << latency_scale << " anchor_pause=" << anchor_pause
      << " notary_pause=" << notary_pause << " ramp_pause=" << ramp_pause;
    if (!divergence_tenants.empty()) s << " divergence_tenants=" << divergence_tenants;
    return s.str();
  }
};

struct RunOptions {
  std::vector<std::pair<std::string, std::string>> ledgers;
  std::string traces_dsn;
  std::uint64_t seed = 1;
  std::size_t tenants = 200;
  double zipf_s = 1.1;
  Micros duration = 0;
  Control defaults;
  std::string flags_file;
  std::string control_file;
  Micros ramp_interval = 30'000'000;
  std::uint64_t instance = 0;
  Micros stats_interval = 10'000'000;
  std::string otlp_file;   // also append every written span here as OTLP/JSON lines
};

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool ParseBool(const std::string& v, bool* out) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") { *out = true; return true; }
  if (v == "0" || v == "false" || v == "no" || v == "off") { *out = false; return true; }
  return false;
}

// Effective control: the command-line defaults overridden by the keys the
// file sets now. A missing file means the defaults.
Control ReadControl(const std::string& path, const Control& defaults, std::set<std::string>* warned) {
  Control c = defaults;
  std::ifstream in(path);
  if (!in) return c;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = Trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    const std::string key = Trim(line.substr(0, eq));
    const std::string val = eq == std::string::npos ? "" : Trim(line.substr(eq + 1));
    bool ok = eq != std::string::npos;
    try {
      if (!ok) {
      } else if (key == "rate") {
        c.rate = ParseDouble(val);
        ok = c.rate >= 0 && c.rate <= 1e6;
      } else if (key == "divergence_rate") {
        c.divergence = ParseDouble(val);
        ok = c.divergence >= 0 && c.divergence <= 1;
      } else if (key == "missing_rate") {
        c.missing = ParseDouble(val);
        ok = c.missing >= 0 && c.missing <= 1;
      } else if (key == "latency_scale") {
        c.latency_scale = ParseDouble(val);
        ok = c.latency_scale > 0 && c.latency_scale <= 1000;
      } else if (key == "anchor_pause") {
        ok = ParseBool(val, &c.anchor_pause);
      } else if (key == "notary_pause") {
        ok = ParseBool(val, &c.notary_pause);
      } else if (key == "ramp_pause") {
        ok = ParseBool(val, &c.ramp_pause);
      } else if (key == "divergence_tenants") {
        c.divergence_tenants = val;
      } else {
        ok = false;
      }
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok) {
      const std::string what = path + ":" + std::to_string(lineno) + ": ignored '" + line + "'";
      if (warned->insert(what).second) Log(what);
      // Keep the default for a key whose value is bad.
    }
  }
  if (!(c.rate >= 0 && c.rate <= 1e6)) c.rate = defaults.rate;
  if (!(c.divergence >= 0 && c.divergence <= 1)) c.divergence = defaults.divergence;
  if (!(c.missing >= 0 && c.missing <= 1)) c.missing = defaults.missing;
  if (!(c.latency_scale > 0 && c.latency_scale <= 1000)) c.latency_scale = defaults.latency_scale;
  return c;
}

// One database connection that reconnects with capped backoff.
class Sink {
 public:
  Sink(std::string dsn, std::string label) : dsn_(std::move(dsn)), label_(std::move(label)) {}

  // A usable connection, or nullptr while the database is unreachable.
  Conn* Get(Micros now) {
    if (conn_ && conn_->ok()) return conn_.get();
    if (now < retry_at_) return nullptr;
    try {
      conn_ = std::make_unique<Conn>(dsn_, label_);
      conn_->Exec("SET synchronous_commit = off");
      if (down_) Log(label_ + ": reconnected");
      down_ = false;
      backoff_ = 250'000;
      return conn_.get();
    } catch (const PgError& e) {
      conn_.reset();
      if (!down_) Log(std::string(e.what()) + " (retrying)");
      down_ = true;
      retry_at_ = now + backoff_;
      backoff_ = std::min<Micros>(backoff_ * 2, 5'000'000);
      return nullptr;
    }
  }

  // After a failed statement: duplicate keys are fatal (a previous run with
  // the same seed and instance wrote these ids); otherwise drop a broken
  // connection so Get() reconnects, or roll back a failed transaction.
  void Failed(const PgError& e, Micros now) {
    ++errors_;
    if (e.sqlstate() == "23505") {
      throw std::runtime_error(std::string(e.what()) +
                               "\nids collide with an earlier run: use another --seed or --instance");
    }
    // At most one line per 5 s: a persistent error would otherwise log every tick.
    if (now - last_log_ >= 5'000'000) {
      Log(std::string(e.what()) + " (will retry)");
      last_log_ = now;
    }
    if (!conn_ || !conn_->ok() || e.connection_lost()) {
      conn_.reset();
      down_ = true;
      retry_at_ = now + backoff_;
      backoff_ = std::min<Micros>(backoff_ * 2, 5'000'000);
      return;
    }
    try {
      conn_->Exec("ROLLBACK");
    } catch (const PgError&) {
      conn_.reset();
    }
  }
  std::uint64_t errors() const { return errors_; }

 private:
  std::string dsn_;
  std::string label_;
  std::unique_ptr<Conn> conn_;
  Micros retry_at_ = 0;
  Micros backoff_ = 250'000;
  bool down_ = false;
  std::uint64_t errors_ = 0;
  Micros last_log_ = INT64_MIN / 2;
};

struct TimedRow {
  Micros due;
  std::string row;
  std::string otlp;   // the span as OTLP/JSON (with --otlp-file)
  bool operator>(const TimedRow& o) const { return due > o.due; }
};

struct PendingReceipt {
  Micros due;             // created_at
  std::size_t region;
  std::string row;        // COPY row, anchor columns NULL
  std::string receipt_id;
  std::string content_hash;
  Micros created;
  Micros latency;
  bool operator>(const PendingReceipt& o) const { return due > o.due; }
};

struct Unanchored {
  std::string receipt_id;
  std::string content_hash;
  Micros created;
  Micros latency;
};

struct RegionRun {
  std::size_t region = 0;
  std::unique_ptr<Sink> sink;
  std::vector<PendingReceipt> to_write;     // due, waiting for the database
  std::vector<Unanchored> unanchored;       // written, waiting for their anchor
  std::vector<std::pair<std::string, Micros>> unproved;  // anchor id, anchored_at
  Micros next_anchor = 0;
  Micros next_proof = 0;
  Rng rng{0};
};

std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

struct Stats {
  std::uint64_t ops = 0;
  std::uint64_t spans = 0;
  std::uint64_t receipts = 0;
  std::uint64_t withheld = 0;
  std::uint64_t divergent = 0;
  std::uint64_t anchors = 0;
  std::uint64_t anchored = 0;
  std::uint64_t proofs = 0;
  std::uint64_t ramp_writes = 0;
};

RunOptions ParseRun(int argc, char** argv) {
  const Args a(argc, argv, 2,
               {"ledger", "traces-dsn", "rate", "seed", "tenants", "zipf", "duration",
                "divergence-rate", "missing-rate", "latency-scale", "flags-file", "ramp-interval",
                "control-file", "instance", "stats-interval", "otlp-file"},
               {});
  RunOptions o;
  std::set<std::string> seen;
  for (const auto& l : a.GetAll("ledger")) {
    auto rd = SplitRegionDsn(l);
    if (!seen.insert(rd.first).second) throw std::invalid_argument("region " + rd.first + " given twice");
    o.ledgers.push_back(std::move(rd));
  }
  if (o.ledgers.empty()) throw std::invalid_argument("at least one --ledger REGION=DSN is required");
  o.traces_dsn = a.Get("traces-dsn");
  if (o.traces_dsn.empty()) throw std::invalid_argument("--traces-dsn is required");
  o.seed = std::stoull(a.Get("seed", "1"));
  o.tenants = ParseCount(a.Get("tenants", "200"));
  if (o.tenants == 0 || o.tenants > 1000000) throw std::invalid_argument("--tenants out of range");
  o.zipf_s = ParseDouble(a.Get("zipf", "1.1"));
  o.duration = ParseDuration(a.Get("duration", "0"));
  o.defaults.rate = ParseDouble(a.Get("rate", "20"));
  o.defaults.divergence = ParseDouble(a.Get("divergence-rate", "0.001"));
  o.defaults.missing = ParseDouble(a.Get("missing-rate", "0.01"));
  o.defaults.latency_scale = ParseDouble(a.Get("latency-scale", "1"));
  if (o.defaults.rate < 0 || o.defaults.rate > 1e6) throw std::invalid_argument("--rate out of range");
  if (o.defaults.divergence < 0 || o.defaults.divergence > 1) throw std::invalid_argument("--divergence-rate must be within [0, 1]");
  if (o.defaults.missing < 0 || o.defaults.missing > 1) throw std::invalid_argument("--missing-rate must be within [0, 1]");
  if (!(o.defaults.latency_scale > 0)) throw std::invalid_argument("--latency-scale must be positive");
  o.flags_file = a.Get("flags-file");
  o.control_file = a.Get("control-file");
  o.ramp_interval = ParseDuration(a.Get("ramp-interval", "30s"));
  if (o.ramp_interval < 100'000) throw std::invalid_argument("--ramp-interval must be at least 100ms");
  o.instance = std::stoull(a.Get("instance", "0"));
  if (o.instance > 4000) throw std::invalid_argument("--instance must be at most 4000");
  o.stats_interval = ParseDuration(a.Get("stats-interval", "10s"));
  o.otlp_file = a.Get("otlp-file");
  return o;
}

class Runner {
 public:
  explicit Runner(const RunOptions& o)
      : o_(o),
        world_(MakeWorld(o)),
        ramp_(world_),
        domain_(kDomainRunBase + 16 * o.instance),
        arrivals_(o.seed, domain_ + 7, 0),
        traces_(o.traces_dsn, "traces") {
    for (std::size_t r = 0; r < o.ledgers.size(); ++r) {
      auto rr = std::make_unique<RegionRun>();
      rr->region = r;
      rr->sink = std::make_unique<Sink>(o.ledgers[r].second, "ledger " + o.ledgers[r].first);
      rr->rng = Rng(o.seed, domain_ + 8, r);
      regions_.push_back(std::move(rr));
    }
    control_ = o.defaults;
  }

  int Run() {
    const Micros start = NowMicros();
    const Micros end = o_.duration > 0 ? start + o_.duration : INT64_MAX;
    if (!o_.control_file.empty()) control_ = ReadControl(o_.control_file, o_.defaults, &warned_);
    Log("started: " + std::to_string(regions_.size()) + " ledger(s), " + control_.Describe());
    next_arrival_ = start + NextGap();
    Micros next_control = start + 1'000'000;
    Micros next_stats = start + o_.stats_interval;
    Micros next_ramp = start;
    for (auto& r : regions_) {
      r->next_anchor = start + static_cast<Micros>(r->rng.Uniform(100e3, 200e3));
      r->next_proof = start + static_cast<Micros>(r->rng.Uniform(2e6, 4e6));
    }
    while (!g_stop.load()) {
      const Micros now = NowMicros();
      if (now >= end) break;
      if (!o_.control_file.empty() && now >= next_control) {
        const Control c = ReadControl(o_.control_file, o_.defaults, &warned_);
        if (!(c == control_)) {
          Log("control: " + c.Describe());
          const bool rate_changed = c.rate != control_.rate;
          control_ = c;
          if (rate_changed) next_arrival_ = now + NextGap();
        }
        next_control = now + 1'000'000;
      }
      Arrivals(now);
      WriteSpans(now);
      WriteReceipts(now);
      for (auto& r : regions_) {
        if (now >= r->next_anchor) {
          if (!control_.anchor_pause) Anchor(*r, now);
          r->next_anchor = now + static_cast<Micros>(r->rng.Uniform(100e3, 200e3));
        }
        if (now >= r->next_proof) {
          if (!control_.notary_pause) Prove(*r, now);
          r->next_proof = now + static_cast<Micros>(r->rng.Uniform(2e6, 4e6));
        }
      }
      if (!o_.flags_file.empty() && now >= next_ramp) {
        if (!control_.ramp_pause || stats_.ramp_writes == 0) WriteRamp();
        next_ramp = now + o_.ramp_interval;
      }
      if (o_.stats_interval > 0 && now >= next_stats) {
        Log(StatsLine());
        next_stats = now + o_.stats_interval;
      }
      const timespec ts{0, 10'000'000};
      nanosleep(&ts, nullptr);
    }
    // Final flush of what is already due; later events are dropped.
    const Micros now = NowMicros();
    WriteSpans(now);
    WriteReceipts(now);
    Log("stopped: " + StatsLine());
    nlohmann::ordered_json j;
    j["command"] = "run";
    j["seed"] = o_.seed;
    j["instance"] = o_.instance;
    j["seconds"] = std::round(static_cast<double>(now - start) / 1e3) / 1e3;
    j["ops"] = stats_.ops;
    j["spans"] = stats_.spans;
    j["receipts"] = stats_.receipts;
    j["receipts_withheld"] = stats_.withheld;
    j["divergent"] = stats_.divergent;
    j["anchors"] = stats_.anchors;
    j["receipts_anchored"] = stats_.anchored;
    j["notary_proofs"] = stats_.proofs;
    j["ramp_writes"] = stats_.ramp_writes;
    std::uint64_t errors = traces_.errors();
    for (const auto& r : regions_) errors += r->sink->errors();
    j["write_errors"] = errors;
    std::cout << j.dump() << std::endl;
    return 0;
  }

 private:
  static World MakeWorld(const RunOptions& o) {
    WorldOptions wo;
    wo.seed = o.seed;
    wo.tenants = o.tenants;
    wo.zipf_s = o.zipf_s;
    wo.reference_us = NowMicros();
    for (const auto& [r, d] : o.ledgers) wo.regions.push_back(r);
    return World(wo);
  }

  Micros NextGap() {
    if (control_.rate <= 0) return INT64_MAX / 4;
    return std::max<Micros>(1, static_cast<Micros>(arrivals_.Exponential(1e6 / control_.rate)));
  }

  void Arrivals(Micros now) {
    // Bounded per tick so a stalled loop catches up without a burst of millions.
    int budget = 200000;
    while (next_arrival_ <= now && budget-- > 0) {
      NewOp(next_arrival_);
      next_arrival_ += NextGap();
    }
    if (budget <= 0 && next_arrival_ < now) next_arrival_ = now;
  }

  void NewOp(Micros at) {
    const std::uint64_t n = next_op_++;
    Rng rng(o_.seed, domain_, n);
    Op op;
    op.tenant = world_.SampleTenant(rng.Uniform());
    op.region = world_.home_region(op.tenant);
    const bool withheld = rng.Chance(control_.missing);
    op.span_start = at;
    op.span_end = at + SampleSpanDuration(rng);
    op.created = at + SampleFlushDelay(rng);
    OpParams p;
    p.divergence = withheld || !control_.DivergesFor(world_.tenant(op.tenant)) ? 0.0 : control_.divergence;
    p.v2_share = 0.9;
    p.latency_scale = control_.latency_scale;
    FillIds(world_, domain_, n, &op);
    FillOp(world_, rng, p, 1.0, &op);
    ++stats_.ops;
    if (op.divergent) ++stats_.divergent;
    TimedRow span{op.span_end, {}, {}};
    AppendSpanRow(span.row, world_, op);
    if (!o_.otlp_file.empty()) AppendOtlpSpan(span.otlp, world_, op);
    spans_.push_back(std::move(span));
    std::push_heap(spans_.begin(), spans_.end(), std::greater<>());
    if (withheld) {
      ++stats_.withheld;
      return;
    }
    PendingReceipt rc{op.created, op.region, {}, op.receipt_id, op.content_hash, op.created,
                      op.anchor_latency};
    static const std::string kNone;
    AppendReceiptRow(rc.row, world_, op, kNone, 0);
    receipts_.push_back(std::move(rc));
    std::push_heap(receipts_.begin(), receipts_.end(), std::greater<>());
  }

  // The spans just written to the trace store, as one OTLP/JSON line appended
  // to --otlp-file (opened per write, O_APPEND: a collector-style rotation by
  // rename starts a new file). One write(2) per line.
  void WriteOtlp() {
    std::string spans;
    for (const auto& s : span_batch_) {
      if (!spans.empty()) spans.push_back(',');
      spans.append(s.otlp);
    }
    const std::string line = OtlpRequestLine(spans);
    const int fd = ::open(o_.otlp_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open --otlp-file " + o_.otlp_file + ": " + std::strerror(errno));
    const ssize_t n = ::write(fd, line.data(), line.size());
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(line.size())) {
      throw std::runtime_error("cannot write --otlp-file " + o_.otlp_file + ": " + std::strerror(err));
    }
  }

  void WriteSpans(Micros now) {
    while (!spans_.empty() && spans_.front().due <= now) {
      std::pop_heap(spans_.begin(), spans_.end(), std::greater<>());
      span_batch_.push_back(std::move(spans_.back()));
      spans_.pop_back();
    }
    if (span_batch_.empty()) return;
    Conn* c = traces_.Get(now);
    if (c == nullptr) return;
    try {
      CopyIn copy(*c, kCopySpans);
      for (const auto& s : span_batch_) {
        copy.buffer().append(s.row);
        copy.Row();
      }
      copy.Finish();
      stats_.spans += span_batch_.size();
      if (!o_.otlp_file.empty()) WriteOtlp();
      span_batch_.clear();
    } catch (const PgError& e) {
      traces_.Failed(e, now);
    }
  }

  void WriteReceipts(Micros now) {
    while (!receipts_.empty() && receipts_.front().due <= now) {
      std::pop_heap(receipts_.begin(), receipts_.end(), std::greater<>());
      PendingReceipt& p = receipts_.back();
      regions_[p.region]->to_write.push_back(std::move(p));
      receipts_.pop_back();
    }
    for (auto& r : regions_) {
      if (r->to_write.empty()) continue;
      Conn* c = r->sink->Get(now);
      if (c == nullptr) continue;
      try {
        CopyIn copy(*c, kCopyReceipts);
        for (const auto& p : r->to_write) {
          copy.buffer().append(p.row);
          copy.Row();
        }
        copy.Finish();
        stats_.receipts += r->to_write.size();
        for (auto& p : r->to_write) {
          r->unanchored.push_back({std::move(p.receipt_id), std::move(p.content_hash), p.created, p.latency});
        }
        r->to_write.clear();
      } catch (const PgError& e) {
        r->sink->Failed(e, now);
      }
    }
  }

  void Anchor(RegionRun& r, Micros now) {
    std::vector<Unanchored> batch;
    std::vector<Unanchored> rest;
    for (auto& u : r.unanchored) {
      (u.created + u.latency <= now ? batch : rest).push_back(std::move(u));
    }
    r.unanchored = std::move(rest);
    if (batch.empty()) return;
    std::sort(batch.begin(), batch.end(),
              [](const Unanchored& a, const Unanchored& b) { return a.created < b.created; });
    std::vector<AnchorMember> members;
    Micros created = batch.front().created;
    Micros anchored = 0;
    std::vector<std::string> ids, ats;
    for (const auto& u : batch) {
      members.push_back({u.created, u.receipt_id, u.content_hash});
      anchored = std::max(anchored, u.created + u.latency);
      ids.push_back(u.receipt_id);
      ats.push_back(FormatTimestamp(u.created + u.latency));
    }
    const std::string hash = AnchorRootHex(members);   // RFC 6962 root (anchor.hh)
    const std::string id = world_.region(r.region) + ":" + hash;
    Conn* c = r.sink->Get(now);
    bool ok = false;
    if (c != nullptr) {
      try {
        c->Exec("BEGIN");
        c->Query(
            "INSERT INTO anchors (anchor_id, region, anchor_hash, receipt_count, created_at, anchored_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            {id, world_.region(r.region), hash, std::to_string(batch.size()), FormatTimestamp(created),
             FormatTimestamp(anchored)});
        c->Query(
            "UPDATE receipts AS r SET anchor_id = $1, anchored_at = v.a "
            "FROM unnest($2::text[], $3::timestamptz[]) AS v(id, a) WHERE r.receipt_id = v.id",
            {id, TextArray(ids), TextArray(ats)});
        c->Exec("COMMIT");
        ok = true;
      } catch (const PgError& e) {
        r.sink->Failed(e, now);
      }
    }
    if (!ok) {
      // Try again next tick.
      for (auto& u : batch) r.unanchored.push_back(std::move(u));
      return;
    }
    ++stats_.anchors;
    stats_.anchored += batch.size();
    r.unproved.emplace_back(id, anchored);
  }

  void Prove(RegionRun& r, Micros now) {
    if (r.unproved.empty()) return;
    Conn* c = r.sink->Get(now);
    if (c == nullptr) return;
    std::vector<std::string> ids;
    for (const auto& [id, at] : r.unproved) ids.push_back(id);
    const char* notary = kNotaries[r.rng.Below(kNotaries.size())];
    try {
      c->Query(
          "INSERT INTO notary_proofs (anchor_id, notary, proved_at) "
          "SELECT a, $2, $3 FROM unnest($1::text[]) AS a ON CONFLICT DO NOTHING",
          {TextArray(ids), notary, FormatTimestamp(now)});
      stats_.proofs += ids.size();
      r.unproved.clear();
    } catch (const PgError& e) {
      r.sink->Failed(e, now);
    }
  }

  void WriteRamp() {
    if (stats_.ramp_writes > 0) ramp_.Step();
    try {
      WriteFileAtomic(o_.flags_file, ramp_.Yaml(stats_.ramp_writes));
      ++stats_.ramp_writes;
    } catch (const std::exception& e) {
      Log(e.what());
    }
  }

  std::string StatsLine() const {
    std::size_t pending_anchor = 0;
    for (const auto& r : regions_) pending_anchor += r->unanchored.size() + r->to_write.size();
    std::ostringstream s;
    s << "ops=" << stats_.ops << " spans=" << stats_.spans << " receipts=" << stats_.receipts
      << " withheld=" << stats_.withheld << " divergent=" << stats_.divergent
      << " anchors=" << stats_.anchors << " anchored=" << stats_.anchored
      << " proofs=" << stats_.proofs << " ramp_writes=" << stats_.ramp_writes
      << " pending_spans=" << spans_.size() + span_batch_.size()
      << " pending_receipts=" << receipts_.size() << " unanchored=" << pending_anchor;
    return s.str();
  }

  const RunOptions& o_;
  World world_;
  Ramp ramp_;
  std::uint64_t domain_;
  Rng arrivals_;
  Sink traces_;
  std::vector<std::unique_ptr<RegionRun>> regions_;
  Control control_;
  std::set<std::string> warned_;
  Stats stats_;
  std::uint64_t next_op_ = 0;
  Micros next_arrival_ = 0;
  std::vector<TimedRow> spans_;        // min-heap by span end
  std::vector<TimedRow> span_batch_;   // due, waiting for the trace store
  std::vector<PendingReceipt> receipts_;  // min-heap by created_at
};

}  // namespace

int CmdRun(int argc, char** argv) {
  RunOptions o;
  try {
    o = ParseRun(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "provledger_sim run: " << e.what() << "\n";
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  try {
    Runner runner(o);
    return runner.Run();
  } catch (const std::exception& e) {
    Log(std::string("fatal: ") + e.what());
    return 1;
  }
}

}  // namespace provledger::sim
