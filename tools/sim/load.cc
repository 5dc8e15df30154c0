// `provledger_sim load`: bulk history through COPY, one thread and one
// connection per distinct ledger DSN plus one for the trace store, each in
// a single transaction (drop indexes/keys -> COPY -> recreate -> commit).
//
// Every thread walks the same receipt index space 0..N-1 and regenerates
// each receipt from its own Rng stream, keeping only what it writes; so
// the ledgers and the trace store agree on every op without sharing state.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "anchor.hh"
#include "args.hh"
#include "commands.hh"
#include "model.hh"

namespace provledger::sim {

namespace {

struct LoadOptions {
  std::vector<std::pair<std::string, std::string>> ledgers;  // region, dsn
  std::string traces_dsn;
  std::uint64_t receipts = 100000;
  std::size_t tenants = 200;
  double hours = 24;
  std::uint64_t seed = 1;
  Micros end_us = 0;
  double coverage = 0.97;
  double divergence = 0.001;
  double unanchored = 0.01;
  double noise = 0.05;
  double zipf_s = 1.1;
  double diurnal = 0.35;
  bool truncate = false;
  bool keep_indexes = false;
  bool vacuum = true;
  std::string flags_file;
};

// Counts by kind, merged from the threads.
struct Counts {
  std::uint64_t receipts = 0;
  std::uint64_t receipts_v1 = 0;
  std::uint64_t receipts_v2 = 0;
  std::uint64_t anchored = 0;
  std::uint64_t unanchored = 0;
  std::uint64_t anchors = 0;
  std::uint64_t proofs = 0;
  std::uint64_t spans = 0;
  std::uint64_t spans_with_receipt = 0;
  std::uint64_t spans_without_receipt = 0;
  std::uint64_t spans_divergent = 0;
  std::uint64_t spans_noise = 0;
  std::map<std::string, std::uint64_t> by_region;
  std::map<std::string, double> seconds;  // per database phase
};

double V2Share(double pos) { return 0.3 + 0.6 * pos; }  // the v2 migration over the history

// Shared, read-only description of the history.
struct Plan {
  const LoadOptions& o;
  World world;
  Timeline timeline;
  std::uint64_t n;
  std::uint64_t missing;
  std::uint64_t noise;
  std::uint64_t unanchored_from;  // receipt index from which nothing is anchored

  explicit Plan(const LoadOptions& opt, const WorldOptions& wo)
      : o(opt),
        world(wo),
        timeline(opt.end_us - static_cast<Micros>(opt.hours * 3600e6), opt.end_us, opt.diurnal),
        n(opt.receipts),
        missing(static_cast<std::uint64_t>(
            std::llround(static_cast<double>(opt.receipts) * (1.0 - opt.coverage) / opt.coverage))),
        noise(static_cast<std::uint64_t>(std::llround(static_cast<double>(opt.receipts) * opt.noise))),
        unanchored_from(opt.receipts - static_cast<std::uint64_t>(
                                           std::llround(static_cast<double>(opt.receipts) * opt.unanchored))) {}

  // Draws the receipt's time and tenant: the first two draws of its stream.
  void Head(Rng& rng, std::uint64_t i, Op* op) const {
    const double u_time = rng.Uniform();
    op->tenant = world.SampleTenant(rng.Uniform());
    op->region = world.home_region(op->tenant);
    op->created = timeline.At((static_cast<double>(i) + u_time) / static_cast<double>(n));
  }
  // The rest of receipt i after Head.
  void Body(Rng& rng, std::uint64_t i, Op* op) const {
    const Micros flush = SampleFlushDelay(rng);
    const Micros dur = SampleSpanDuration(rng);
    op->span_start = op->created - flush;
    op->span_end = op->span_start + dur;
    const double pos = timeline.Position(op->created);
    OpParams p;
    p.divergence = o.divergence;
    p.v2_share = V2Share(pos);
    FillIds(world, kDomainLoadReceipt, i, op);
    FillOp(world, rng, p, pos, op);
  }
  // A traced op whose receipt never reached a ledger.
  void Missing(std::uint64_t k, Op* op) const {
    Rng rng(world.seed(), kDomainLoadMissing, k);
    const double u_time = rng.Uniform();
    op->tenant = world.SampleTenant(rng.Uniform());
    op->region = world.home_region(op->tenant);
    op->span_start = timeline.At((static_cast<double>(k) + u_time) / static_cast<double>(missing));
    op->span_end = op->span_start + SampleSpanDuration(rng);
    op->created = op->span_start + SampleFlushDelay(rng);
    const double pos = timeline.Position(op->created);
    OpParams p;
    p.divergence = 0;
    p.v2_share = V2Share(pos);
    FillIds(world, kDomainLoadMissing, k, op);
    FillOp(world, rng, p, pos, op);
  }
};

void SessionSetup(Conn& c) {
  c.Exec("SET synchronous_commit = off");
  c.Exec("SET statement_timeout = 0");
  c.Exec("SET maintenance_work_mem = '256MB'");
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Per region: the open anchor batch, and what has been anchored.
struct RegionState {
  std::size_t region = 0;
  Rng rng;
  std::vector<Op> batch;
  std::size_t batch_len = 0;
  std::size_t batch_target = 0;
  bool stopped = false;  // everything from here on stays unanchored
  std::vector<Anchor> anchors;
  std::vector<std::string> proofs;  // COPY rows
  std::uint64_t v1 = 0, v2 = 0, anchored = 0, unanchored = 0, receipts = 0;

  RegionState(std::uint64_t seed, std::size_t r)
      : region(r), rng(seed, kDomainLoadAnchor, r), batch(64) {
    batch_target = 8 + rng.Below(57);
  }
};

void CloseBatch(const Plan& plan, RegionState& rs, CopyIn& copy) {
  if (rs.batch_len == 0) return;
  Micros created = rs.batch[0].created;
  Micros anchored = 0;
  std::vector<AnchorMember> members;
  members.reserve(rs.batch_len);
  for (std::size_t k = 0; k < rs.batch_len; ++k) {
    const Op& op = rs.batch[k];
    created = std::min(created, op.created);
    anchored = std::max(anchored, op.created + op.anchor_latency);
    members.push_back({op.created, op.receipt_id, op.content_hash});
  }
  if (anchored > plan.o.end_us) rs.stopped = true;  // not anchored yet at the end of history
  static const std::string kNone;
  if (rs.stopped) {
    for (std::size_t k = 0; k < rs.batch_len; ++k) {
      AppendReceiptRow(copy.buffer(), plan.world, rs.batch[k], kNone, 0);
      copy.Row();
      ++rs.unanchored;
    }
  } else {
    Anchor a;
    a.region = rs.region;
    a.anchor_hash = AnchorRootHex(members);   // RFC 6962 root (anchor.hh)
    a.anchor_id = plan.world.region(rs.region) + ":" + a.anchor_hash;
    a.receipt_count = static_cast<std::int64_t>(rs.batch_len);
    a.created = created;
    a.anchored = anchored;
    for (std::size_t k = 0; k < rs.batch_len; ++k) {
      const Op& op = rs.batch[k];
      AppendReceiptRow(copy.buffer(), plan.world, op, a.anchor_id, op.created + op.anchor_latency);
      copy.Row();
      ++rs.anchored;
    }
    // Proof a few seconds later; about one anchor in ten gets a second notary.
    Micros proved = anchored + static_cast<Micros>(rs.rng.Uniform(1.5e6, 6e6));
    const std::size_t first = rs.rng.Below(kNotaries.size());
    if (proved <= plan.o.end_us) {
      std::string row;
      AppendProofRow(row, a.anchor_id, kNotaries[first], proved);
      rs.proofs.push_back(std::move(row));
    }
    if (rs.rng.Chance(0.1)) {
      proved += static_cast<Micros>(rs.rng.Uniform(1e6, 3e6));
      if (proved <= plan.o.end_us) {
        std::string row;
        AppendProofRow(row, a.anchor_id, kNotaries[(first + 1) % kNotaries.size()], proved);
        rs.proofs.push_back(std::move(row));
      }
    }
    rs.anchors.push_back(std::move(a));
  }
  rs.batch_len = 0;
  rs.batch_target = 8 + rs.rng.Below(57);
}

void LoadLedger(const Plan& plan, const std::string& dsn, const std::vector<std::size_t>& regions,
                Counts* out) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string label = "ledger";
  for (const auto r : regions) label += " " + plan.world.region(r);
  Conn c(dsn, label);
  SessionSetup(c);
  c.Exec("BEGIN");
  if (plan.o.truncate) c.Exec("TRUNCATE notary_proofs, receipts, anchors");
  const DroppedSchema dropped =
      DropForLoad(c, {"receipts", "notary_proofs"}, !plan.o.keep_indexes);
  const std::string freeze = plan.o.truncate ? " WITH (FREEZE)" : "";

  std::vector<RegionState> states;
  std::vector<int> slot(plan.world.region_count(), -1);
  for (const auto r : regions) {
    slot[r] = static_cast<int>(states.size());
    states.emplace_back(plan.world.seed(), r);
  }
  {
    CopyIn copy(c, std::string(kCopyReceipts) + freeze);
    Op head;
    for (std::uint64_t i = 0; i < plan.n; ++i) {
      Rng rng(plan.world.seed(), kDomainLoadReceipt, i);
      plan.Head(rng, i, &head);
      const int s = slot[head.region];
      if (s < 0) continue;
      RegionState& rs = states[static_cast<std::size_t>(s)];
      if (i >= plan.unanchored_from && !rs.stopped) {
        CloseBatch(plan, rs, copy);
        rs.stopped = true;
      }
      Op& op = rs.batch[rs.batch_len];
      op.tenant = head.tenant;
      op.region = head.region;
      op.created = head.created;
      plan.Body(rng, i, &op);
      ++rs.receipts;
      (op.version == 2 ? rs.v2 : rs.v1) += 1;
      ++rs.batch_len;
      if (rs.stopped || rs.batch_len == rs.batch_target) CloseBatch(plan, rs, copy);
    }
    for (auto& rs : states) CloseBatch(plan, rs, copy);
    copy.Finish();
  }
  {
    CopyIn copy(c, std::string(kCopyAnchors) + freeze);
    for (const auto& rs : states) {
      for (const auto& a : rs.anchors) {
        AppendAnchorRow(copy.buffer(), plan.world, a);
        copy.Row();
      }
    }
    copy.Finish();
  }
  {
    CopyIn copy(c, std::string(kCopyProofs) + freeze);
    for (const auto& rs : states) {
      for (const auto& p : rs.proofs) {
        copy.buffer().append(p);
        copy.Row();
      }
    }
    copy.Finish();
  }
  const double copy_s = Since(t0);
  Recreate(c, dropped);
  c.Exec("COMMIT");
  const double index_s = Since(t0) - copy_s;
  // COPY FREEZE (after TRUNCATE) already sets the visibility map; otherwise
  // VACUUM does, so the exporter's count/keyset queries get index-only scans.
  // Statistics for the columns the exporter filters and orders by; the
  // jsonb body is left out (sorting 30000 sampled bodies dominates ANALYZE).
  const char* analyze =
      "ANALYZE anchors, notary_proofs, "
      "receipts (receipt_id, tenant_id, op_id, region, created_at, anchor_id, anchored_at)";
  if (plan.o.vacuum && !plan.o.truncate) c.Exec("VACUUM anchors, receipts, notary_proofs");
  c.Exec(analyze);
  const double total = Since(t0);

  for (const auto& rs : states) {
    const std::string& name = plan.world.region(rs.region);
    out->receipts += rs.receipts;
    out->receipts_v1 += rs.v1;
    out->receipts_v2 += rs.v2;
    out->anchored += rs.anchored;
    out->unanchored += rs.unanchored;
    out->anchors += rs.anchors.size();
    out->proofs += rs.proofs.size();
    out->by_region[name] += rs.receipts;
  }
  out->seconds[label + " copy"] = copy_s;
  out->seconds[label + " index"] = index_s;
  out->seconds[label + " analyze"] = total - copy_s - index_s;
}

void LoadTraces(const Plan& plan, Counts* out) {
  const auto t0 = std::chrono::steady_clock::now();
  Conn c(plan.o.traces_dsn, "traces");
  SessionSetup(c);
  c.Exec("BEGIN");
  if (plan.o.truncate) c.Exec("TRUNCATE spans");
  const DroppedSchema dropped = DropForLoad(c, {"spans"}, !plan.o.keep_indexes);
  const std::string freeze = plan.o.truncate ? " WITH (FREEZE)" : "";
  std::uint64_t with = 0, without = 0, divergent = 0, noise = 0;
  {
    CopyIn copy(c, std::string(kCopySpans) + freeze);
    // Three nearly time-ordered streams merged by span start, so the heap is
    // roughly in time order like a real trace store's.
    std::uint64_t i = 0, k = 0, j = 0;
    Op a, b;
    Micros noise_start = 0;
    Rng noise_rng(0);
    auto next_a = [&] {
      if (i >= plan.n) return;
      Rng rng(plan.world.seed(), kDomainLoadReceipt, i);
      plan.Head(rng, i, &a);
      plan.Body(rng, i, &a);
    };
    auto next_b = [&] {
      if (k < plan.missing) plan.Missing(k, &b);
    };
    auto next_c = [&] {
      if (j >= plan.noise) return;
      noise_rng = Rng(plan.world.seed(), kDomainLoadNoise, j);
      noise_start = plan.timeline.At((static_cast<double>(j) + noise_rng.Uniform()) /
                                     static_cast<double>(plan.noise));
    };
    next_a();
    next_b();
    next_c();
    constexpr Micros kEnd = INT64_MAX;
    while (i < plan.n || k < plan.missing || j < plan.noise) {
      const Micros ta = i < plan.n ? a.span_start : kEnd;
      const Micros tb = k < plan.missing ? b.span_start : kEnd;
      const Micros tc = j < plan.noise ? noise_start : kEnd;
      if (ta <= tb && ta <= tc) {
        AppendSpanRow(copy.buffer(), plan.world, a);
        ++with;
        if (a.divergent) ++divergent;
        ++i;
        next_a();
      } else if (tb <= tc) {
        AppendSpanRow(copy.buffer(), plan.world, b);
        ++without;
        ++k;
        next_b();
      } else {
        AppendNoiseSpanRow(copy.buffer(), plan.world, kDomainLoadNoise, j, noise_rng, noise_start);
        ++noise;
        ++j;
        next_c();
      }
      copy.Row();
    }
    copy.Finish();
  }
  const double copy_s = Since(t0);
  Recreate(c, dropped);
  c.Exec("COMMIT");
  const double index_s = Since(t0) - copy_s;
  if (plan.o.vacuum && !plan.o.truncate) c.Exec("VACUUM spans");
  c.Exec("ANALYZE spans");
  const double total = Since(t0);
  out->spans = with + without + noise;
  out->spans_with_receipt = with;
  out->spans_without_receipt = without;
  out->spans_divergent = divergent;
  out->spans_noise = noise;
  out->seconds["traces copy"] = copy_s;
  out->seconds["traces index"] = index_s;
  out->seconds["traces analyze"] = total - copy_s - index_s;
}

double Fraction(const std::string& name, const std::string& text) {
  const double v = ParseDouble(text);
  if (v < 0 || v > 1) throw std::invalid_argument("--" + name + " must be within [0, 1]");
  return v;
}

LoadOptions ParseLoad(int argc, char** argv) {
  const Args a(argc, argv, 2,
               {"ledger", "traces-dsn", "receipts", "tenants", "hours", "seed", "end-ts",
                "coverage", "divergence", "unanchored", "noise", "zipf", "diurnal", "flags-file"},
               {"truncate", "keep-indexes", "no-vacuum"});
  LoadOptions o;
  std::set<std::string> seen;
  for (const auto& l : a.GetAll("ledger")) {
    auto rd = SplitRegionDsn(l);
    if (!seen.insert(rd.first).second) throw std::invalid_argument("region " + rd.first + " given twice");
    o.ledgers.push_back(std::move(rd));
  }
  if (o.ledgers.empty()) throw std::invalid_argument("at least one --ledger REGION=DSN is required");
  o.traces_dsn = a.Get("traces-dsn");
  if (o.traces_dsn.empty()) throw std::invalid_argument("--traces-dsn is required");
  o.receipts = ParseCount(a.Get("receipts", "100000"));
  if (o.receipts == 0 || o.receipts >= (1ULL << 40)) throw std::invalid_argument("--receipts out of range");
  o.tenants = ParseCount(a.Get("tenants", "200"));
  if (o.tenants == 0 || o.tenants > 1000000) throw std::invalid_argument("--tenants out of range");
  o.hours = ParseDouble(a.Get("hours", "24"));
  if (!(o.hours > 0)) throw std::invalid_argument("--hours must be positive");
  o.seed = std::stoull(a.Get("seed", "1"));
  o.end_us = ParseTimestamp(a.Get("end-ts", "now"));
  o.coverage = Fraction("coverage", a.Get("coverage", "0.97"));
  if (o.coverage < 0.01) throw std::invalid_argument("--coverage must be at least 0.01");
  o.divergence = Fraction("divergence", a.Get("divergence", "0.001"));
  o.unanchored = Fraction("unanchored", a.Get("unanchored", "0.01"));
  o.noise = ParseDouble(a.Get("noise", "0.05"));
  if (o.noise < 0 || o.noise > 10) throw std::invalid_argument("--noise must be within [0, 10]");
  o.zipf_s = ParseDouble(a.Get("zipf", "1.1"));
  if (o.zipf_s < 0 || o.zipf_s > 5) throw std::invalid_argument("--zipf must be within [0, 5]");
  o.diurnal = Fraction("diurnal", a.Get("diurnal", "0.35"));
  o.truncate = a.Has("truncate");
  o.keep_indexes = a.Has("keep-indexes");
  o.vacuum = !a.Has("no-vacuum");
  o.flags_file = a.Get("flags-file");
  return o;
}

}  // namespace

int CmdLoad(int argc, char** argv) {
  LoadOptions o;
  try {
    o = ParseLoad(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "provledger_sim load: " << e.what() << "\n";
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  WorldOptions wo;
  wo.seed = o.seed;
  wo.tenants = o.tenants;
  wo.zipf_s = o.zipf_s;
  wo.reference_us = o.end_us;
  for (const auto& [r, d] : o.ledgers) wo.regions.push_back(r);
  const Plan plan(o, wo);

  // One thread per distinct ledger DSN (regions sharing a database load together).
  std::map<std::string, std::vector<std::size_t>> by_dsn;
  for (std::size_t r = 0; r < o.ledgers.size(); ++r) by_dsn[o.ledgers[r].second].push_back(r);

  std::mutex mu;
  Counts total;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  auto guarded = [&](auto&& fn) {
    return [&, fn]() {
      Counts mine;
      try {
        fn(&mine);
      } catch (const std::exception& e) {
        const std::lock_guard<std::mutex> lock(mu);
        errors.emplace_back(e.what());
        return;
      }
      const std::lock_guard<std::mutex> lock(mu);
      total.receipts += mine.receipts;
      total.receipts_v1 += mine.receipts_v1;
      total.receipts_v2 += mine.receipts_v2;
      total.anchored += mine.anchored;
      total.unanchored += mine.unanchored;
      total.anchors += mine.anchors;
      total.proofs += mine.proofs;
      total.spans += mine.spans;
      total.spans_with_receipt += mine.spans_with_receipt;
      total.spans_without_receipt += mine.spans_without_receipt;
      total.spans_divergent += mine.spans_divergent;
      total.spans_noise += mine.spans_noise;
      for (const auto& [k, v] : mine.by_region) total.by_region[k] += v;
      for (const auto& [k, v] : mine.seconds) total.seconds[k] = v;
    };
  };
  threads.emplace_back(guarded([&](Counts* c) { LoadTraces(plan, c); }));
  for (const auto& [dsn, regions] : by_dsn) {
    const std::string* d = &dsn;
    const std::vector<std::size_t>* rs = &regions;
    threads.emplace_back(guarded([&plan, d, rs](Counts* c) { LoadLedger(plan, *d, *rs, c); }));
  }
  for (auto& t : threads) t.join();
  if (!errors.empty()) {
    bool duplicate = false;
    for (const auto& e : errors) {
      std::cerr << "provledger_sim load: " << e << "\n";
      duplicate = duplicate || e.find("duplicate") != std::string::npos;
    }
    if (duplicate) {
      std::cerr << "provledger_sim load: the tables already hold this seed's ids; "
                   "use --truncate or another --seed (a database that failed was rolled back)\n";
    }
    return 1;
  }
  if (!o.flags_file.empty()) {
    const Ramp ramp(plan.world);
    WriteFileAtomic(o.flags_file, ramp.Yaml(0));
  }
  const double seconds = Since(t0);

  nlohmann::ordered_json j;
  j["command"] = "load";
  j["seed"] = o.seed;
  j["tenants"] = o.tenants;
  j["history_start"] = FormatIso(plan.timeline.start());
  j["history_end"] = FormatIso(plan.timeline.end());
  j["receipts"] = total.receipts;
  j["receipts_v1"] = total.receipts_v1;
  j["receipts_v2"] = total.receipts_v2;
  j["receipts_by_region"] = total.by_region;
  j["anchored"] = total.anchored;
  j["unanchored"] = total.unanchored;
  j["anchors"] = total.anchors;
  j["notary_proofs"] = total.proofs;
  j["spans"] = total.spans;
  j["spans_with_receipt"] = total.spans_with_receipt;
  j["spans_without_receipt"] = total.spans_without_receipt;
  j["spans_divergent"] = total.spans_divergent;
  j["spans_noise"] = total.spans_noise;
  nlohmann::ordered_json phases;
  for (const auto& [k, v] : total.seconds) phases[k] = std::round(v * 1000) / 1000;
  j["phase_seconds"] = phases;
  j["seconds"] = std::round(seconds * 1000) / 1000;
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace provledger::sim
