// The simulated world: tenants with zipf-like activity, their home regions,
// policy versions and signing keys, ramped features, and how one operation
// (span + receipt + anchor latency) is generated. Pure: no I/O, no clock.
//
// Determinism: everything derives from the seed. An operation is generated
// from its own Rng stream keyed (seed, domain, index), so independent
// threads (one per ledger, one for the trace store) regenerate exactly the
// same operation without sharing state. Ids are bijective images of
// (seed, domain, index) and therefore unique by construction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rand.hh"
#include "util.hh"

namespace provledger::sim {

// Stream domains. Each owns 16 consecutive values (see IdDomain below).
inline constexpr std::uint64_t kDomainLoadReceipt = 0x010;
inline constexpr std::uint64_t kDomainLoadMissing = 0x020;
inline constexpr std::uint64_t kDomainLoadNoise = 0x030;
inline constexpr std::uint64_t kDomainLoadAnchor = 0x040;
inline constexpr std::uint64_t kDomainWorld = 0x050;
inline constexpr std::uint64_t kDomainRamp = 0x060;
inline constexpr std::uint64_t kDomainRunBase = 0x100;  // + 16 * instance

struct WorldOptions {
  std::uint64_t seed = 1;
  std::size_t tenants = 200;
  double zipf_s = 1.1;
  std::vector<std::string> regions;   // at least one
  Micros reference_us = 0;            // "now" of the history: names the policy months
};

class World {
 public:
  explicit World(const WorldOptions& opt);

  std::uint64_t seed() const { return seed_; }
  std::size_t tenant_count() const { return tenants_.size(); }
  const std::string& tenant(std::size_t t) const { return tenants_[t]; }
  // Maps u in [0,1) to a tenant, heavy tenants first in zipf order but
  // shuffled over names (tenant-001 is not necessarily the busiest).
  std::size_t SampleTenant(double u) const { return rank_to_tenant_[zipf_.Sample(u)]; }
  double tenant_share(std::size_t t) const { return zipf_.Probability(tenant_rank_[t]); }
  std::size_t home_region(std::size_t t) const { return home_[t]; }
  std::size_t region_count() const { return regions_.size(); }
  const std::string& region(std::size_t r) const { return regions_[r]; }
  // Policy version of tenant t at history position pos (0 = start of the
  // loaded history, 1 = its end; live traffic uses 1).
  const std::string& PolicyVersion(std::size_t t, double pos) const;
  // Signing key id of a region at a time: rotates every 8 hours.
  std::string Kid(std::size_t r, Micros at) const;
  // Features and which tenants take part in which (indices into features()).
  const std::vector<std::string>& features() const { return features_; }
  const std::vector<std::vector<std::size_t>>& tenant_features() const { return tenant_features_; }

 private:
  std::uint64_t seed_;
  std::vector<std::string> tenants_;
  Zipf zipf_;
  std::vector<std::size_t> rank_to_tenant_;
  std::vector<std::size_t> tenant_rank_;
  std::vector<std::size_t> home_;
  std::vector<std::string> regions_;
  std::array<std::string, 3> policies_;       // oldest .. current
  std::vector<double> policy_switch_;         // history position of the switch to current
  std::vector<int> policy_lag_;               // 0 = follows switch, 1/2 = stuck on older
  std::vector<std::string> features_;
  std::vector<std::vector<std::size_t>> tenant_features_;
};

// Distributions (µs). Documented in docs/simulator.md.
// Anchor latency: 97.5% lognormal(median 11 ms, sigma 0.45) + 2.5% lognormal
// (median 45 ms, sigma 0.8), times `scale`, clipped to [1 ms, 500 ms * scale].
Micros SampleAnchorLatency(Rng& rng, double scale);
// Receipt flush delay after the span started: 200 ms + lognormal(median
// 300 ms, sigma 0.8), clipped to 3 s.
Micros SampleFlushDelay(Rng& rng);
// Span duration: lognormal(median 25 ms, sigma 0.6), clipped to [2 ms, 2 s].
Micros SampleSpanDuration(Rng& rng);

struct OpParams {
  double divergence = 0.001;   // probability the span's attested hash differs
  double v2_share = 0.9;       // probability of a v2 receipt body
  double latency_scale = 1.0;  // multiplies the anchor latency
};

// One tenant operation: its span, its receipt (written unless withheld) and
// the anchor latency its receipt will see.
struct Op {
  std::size_t tenant = 0;
  std::size_t region = 0;
  std::string op_id;          // "op-" + 16 hex
  std::string receipt_id;     // uuid-like 8-4-4-4-12 hex
  std::string trace_id;       // 32 hex
  std::string span_id;        // 16 hex
  const char* span_name = "";
  std::string policy_version;
  std::string kid;
  int version = 2;
  std::string body;           // JSON object text
  std::string content_hash;   // 64 hex over body
  std::string attested_hash;  // == content_hash unless divergent
  bool divergent = false;
  Micros span_start = 0;
  Micros span_end = 0;
  Micros created = 0;         // receipt created_at
  Micros anchor_latency = 0;  // anchored_at - created_at, once anchored
};

// Fills ids from (seed, domain, index): unique per (domain, index).
void FillIds(const World& w, std::uint64_t domain, std::uint64_t index, Op* op);
// Fills everything else from rng, given op->tenant, region and the three
// times. Draw order is fixed (determinism depends on it).
void FillOp(const World& w, Rng& rng, const OpParams& p, double history_pos, Op* op);

// COPY text rows (each ends in '\n'). Column lists are the kCopy* constants.
inline constexpr const char* kCopyReceipts =
    "COPY receipts (receipt_id, tenant_id, op_id, region, policy_version, kid, version, body, "
    "content_hash, created_at, anchor_id, anchored_at) FROM STDIN";
inline constexpr const char* kCopySpans =
    "COPY spans (trace_id, span_id, tenant_id, op_id, name, start_time, end_time, "
    "attested_hash) FROM STDIN";
inline constexpr const char* kCopyAnchors =
    "COPY anchors (anchor_id, region, anchor_hash, receipt_count, created_at, anchored_at) "
    "FROM STDIN";
inline constexpr const char* kCopyProofs =
    "COPY notary_proofs (anchor_id, notary, proved_at) FROM STDIN";

// anchor_id may be empty (NULL, unanchored; anchored_at is then ignored).
void AppendReceiptRow(std::string& out, const World& w, const Op& op,
                      const std::string& anchor_id, Micros anchored_at);
void AppendSpanRow(std::string& out, const World& w, const Op& op);
// The same span as one OTLP/JSON span object (opentelemetry-proto JSON
// mapping, as the Collector's file exporter writes it): traceId, spanId,
// name, kind SERVER, start/end in nanoseconds as decimal strings, and the
// attributes provledger.tenant, provledger.op_id, provledger.attested_hash
// (the otlp_file trace store's default keys).
void AppendOtlpSpan(std::string& out, const World& w, const Op& op);
// One ExportTraceServiceRequest line (with its '\n') holding `spans` (span
// objects joined by ','), resource service.name = provledger-sim.
std::string OtlpRequestLine(const std::string& spans);

// A span that is not a tenant operation (op_id NULL): health checks, child
// database/cache spans. Keyed like an Op; tenant may be NULL.
void AppendNoiseSpanRow(std::string& out, const World& w, std::uint64_t domain,
                        std::uint64_t index, Rng& rng, Micros start);

struct Anchor {
  std::string anchor_id;      // region + ":" + anchor_hash
  std::string anchor_hash;    // 64 hex over the member receipts' hashes
  std::size_t region = 0;
  std::int64_t receipt_count = 0;
  Micros created = 0;         // earliest member created_at
  Micros anchored = 0;        // latest member anchored_at
};
void AppendAnchorRow(std::string& out, const World& w, const Anchor& a);
void AppendProofRow(std::string& out, const std::string& anchor_id, const char* notary,
                    Micros proved_at);
// Notaries proving anchors.
inline constexpr std::array<const char*, 2> kNotaries = {"rfc3161-tsa-a", "rfc3161-tsa-b"};

// Historical arrival profile: a diurnal rate 1 + amp*sin(...) over
// [start, end], inverted so At(q) for q in [0,1] gives the time below which a
// fraction q of the operations fall.
class Timeline {
 public:
  Timeline(Micros start, Micros end, double amplitude);
  Micros At(double q) const;
  double Position(Micros t) const;  // (t - start) / (end - start), clamped to [0,1]
  Micros start() const { return start_; }
  Micros end() const { return end_; }

 private:
  Micros start_;
  Micros end_;
  std::vector<double> inv_;  // inv_[k] = fraction of the interval at q = k/(n-1)
};

// Feature ramp state: tenant -> feature -> percent in {0,10,25,50,100}.
class Ramp {
 public:
  explicit Ramp(const World& w);
  // One controller step: each (tenant, feature) below 100 moves up one
  // level with probability 0.3; one between 10 and 50 is rolled back to 0
  // with probability 0.03 (an alert froze it); one at 100 starts a new
  // rollout at 0 with probability 0.02. Returns how many changed.
  std::size_t Step();
  // flags.spec YAML, the format the exporter reads (see docs/simulator.md).
  std::string Yaml(std::uint64_t step) const;
  int pct(std::size_t tenant, std::size_t k) const;  // k indexes tenant_features()[tenant]

 private:
  const World& w_;
  Rng rng_;
  std::vector<std::vector<int>> level_;  // per tenant, per enrolled feature: index into levels
};

// Writes `content` to `path` atomically (temp file in the same dir + rename).
// Throws std::runtime_error on failure.
void WriteFileAtomic(const std::string& path, const std::string& content);

}  // namespace provledger::sim
