#include "model.hh"

#include "receipt/receipt.hh"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace provledger::sim {

namespace {

struct Action {
  const char* name;
  const char* span;
  const char* resource;
};

constexpr std::array<Action, 10> kActions = {{
    {"orders.create", "POST /v1/orders", "orders"},
    {"orders.refund", "POST /v1/orders/{id}/refund", "orders"},
    {"payments.authorize", "POST /v1/payments", "payments"},
    {"payments.capture", "POST /v1/payments/{id}/capture", "payments"},
    {"kyc.verify", "POST /v1/kyc/verifications", "kyc"},
    {"documents.sign", "POST /v1/documents/{id}/signatures", "documents"},
    {"accounts.update", "PATCH /v1/accounts/{id}", "accounts"},
    {"exports.create", "POST /v1/exports", "exports"},
    {"ledger.transfer", "POST /v1/transfers", "transfers"},
    {"consents.record", "PUT /v1/consents/{id}", "consents"},
}};

constexpr std::array<const char*, 4> kNoiseNames = {"GET /healthz", "db.query", "cache.get",
                                                     "kafka.produce"};

constexpr std::array<int, 5> kLevels = {0, 10, 25, 50, 100};

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendField(std::string& out, const char* key, std::string_view value) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
  AppendJsonString(out, value);
}

void AppendNumberField(std::string& out, const char* key, std::uint64_t value) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
  out.append(std::to_string(value));
}

std::string PolicyName(int year, int month) {
  while (month < 1) {
    month += 12;
    --year;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "p-%04d.%02d", year, month);
  return buf;
}

const char* Currency(const std::string& region) {
  if (region.rfind("eu", 0) == 0) return "EUR";
  if (region.rfind("ap", 0) == 0) return "JPY";
  if (region.rfind("uk", 0) == 0) return "GBP";
  return "USD";
}

}  // namespace

World::World(const WorldOptions& opt)
    : seed_(opt.seed), zipf_(opt.tenants, opt.zipf_s), regions_(opt.regions) {
  if (opt.tenants == 0) throw std::invalid_argument("at least one tenant is needed");
  if (regions_.empty()) throw std::invalid_argument("at least one region is needed");
  const std::size_t n = opt.tenants;
  int width = 3;
  for (std::size_t v = n; v >= 1000; v /= 10) ++width;
  tenants_.reserve(n);
  for (std::size_t t = 0; t < n; ++t) {
    std::string digits = std::to_string(t + 1);
    if (digits.size() < static_cast<std::size_t>(width)) {
      digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
    }
    tenants_.push_back("tenant-" + digits);
  }
  Rng rng(seed_, kDomainWorld, 0);
  rank_to_tenant_.resize(n);
  for (std::size_t i = 0; i < n; ++i) rank_to_tenant_[i] = i;
  for (std::size_t i = n - 1; i > 0; --i) std::swap(rank_to_tenant_[i], rank_to_tenant_[rng.Below(i + 1)]);
  tenant_rank_.resize(n);
  for (std::size_t r = 0; r < n; ++r) tenant_rank_[rank_to_tenant_[r]] = r;
  // Round-robin by activity rank, so the heavy tenants spread over regions.
  home_.resize(n);
  for (std::size_t t = 0; t < n; ++t) home_[t] = tenant_rank_[t] % regions_.size();

  const CivilDate d = CivilFromMicros(opt.reference_us);
  policies_ = {PolicyName(d.year, static_cast<int>(d.month) - 2),
               PolicyName(d.year, static_cast<int>(d.month) - 1),
               PolicyName(d.year, static_cast<int>(d.month))};
  policy_switch_.resize(n);
  policy_lag_.resize(n);
  for (std::size_t t = 0; t < n; ++t) {
    policy_switch_[t] = rng.Uniform();
    const double u = rng.Uniform();
    policy_lag_[t] = u < 0.03 ? 2 : (u < 0.13 ? 1 : 0);
  }

  features_ = {"new_checkout", "fast_anchor", "receipts_v2", "policy_engine_v3", "batch_notary"};
  tenant_features_.resize(n);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t f = 0; f < features_.size(); ++f) {
      if (rng.Chance(0.35)) tenant_features_[t].push_back(f);
    }
    if (tenant_features_[t].empty()) tenant_features_[t].push_back(rng.Below(features_.size()));
  }
}

const std::string& World::PolicyVersion(std::size_t t, double pos) const {
  if (policy_lag_[t] == 2) return policies_[0];
  if (policy_lag_[t] == 1) return policies_[1];
  return pos >= policy_switch_[t] ? policies_[2] : policies_[1];
}

std::string World::Kid(std::size_t r, Micros at) const {
  const std::int64_t period = at / (8LL * 3600 * 1000000);
  return "kid-" + regions_[r] + "-" + std::to_string(1 + ((period % 9) + 9) % 9);
}

Micros SampleAnchorLatency(Rng& rng, double scale) {
  const bool tail = rng.Chance(0.025);
  const double ms = tail ? rng.LogNormal(std::log(45.0), 0.8) : rng.LogNormal(std::log(11.0), 0.45);
  const double clipped = std::clamp(ms * scale, 1.0, 500.0 * std::max(scale, 1.0));
  return static_cast<Micros>(clipped * 1000.0);
}

Micros SampleFlushDelay(Rng& rng) {
  const double ms = 200.0 + rng.LogNormal(std::log(300.0), 0.8);
  return static_cast<Micros>(std::min(ms, 3000.0) * 1000.0);
}

Micros SampleSpanDuration(Rng& rng) {
  const double ms = std::clamp(rng.LogNormal(std::log(25.0), 0.6), 2.0, 2000.0);
  return static_cast<Micros>(ms * 1000.0);
}

void FillIds(const World& w, std::uint64_t domain, std::uint64_t index, Op* op) {
  const std::uint64_t s = w.seed();
  op->op_id.assign("op-");
  AppendHex(op->op_id, StreamKey(s, domain + 1, index));
  op->receipt_id.clear();
  AppendUuid(op->receipt_id, StreamKey(s, domain + 2, index), StreamKey(s, domain + 3, index));
  op->trace_id.clear();
  AppendHex(op->trace_id, StreamKey(s, domain + 4, index));
  AppendHex(op->trace_id, StreamKey(s, domain + 5, index));
  op->span_id.clear();
  AppendHex(op->span_id, StreamKey(s, domain + 6, index));
}

void FillOp(const World& w, Rng& rng, const OpParams& p, double history_pos, Op* op) {
  const Action& action = kActions[rng.Below(kActions.size())];
  const std::uint64_t actor = rng.Below(100000);
  const std::uint64_t resource = rng.Next();
  const std::uint64_t amount = 100 + rng.Below(250000);
  const double du = rng.Uniform();
  const char* decision = du < 0.95 ? "allow" : (du < 0.99 ? "deny" : "review");
  op->version = rng.Chance(p.v2_share) ? 2 : 1;
  op->divergent = rng.Chance(p.divergence);
  const std::uint64_t divergence_salt = rng.Next();
  op->anchor_latency = SampleAnchorLatency(rng, p.latency_scale);

  op->span_name = action.span;
  op->policy_version = w.PolicyVersion(op->tenant, history_pos);
  op->kid = w.Kid(op->region, op->created);
  const std::string& tenant = w.tenant(op->tenant);
  const std::string& region = w.region(op->region);

  std::string resource_id = action.resource;
  resource_id.push_back('/');
  AppendHex(resource_id, resource, 12);
  std::string actor_id = "user-" + std::to_string(actor);

  std::string& b = op->body;
  b.clear();
  b.push_back('{');
  if (op->version == 2) {
    AppendField(b, "schema", "provledger.receipt/v2");
    b.push_back(',');
    AppendField(b, "receipt_id", op->receipt_id);
    b.push_back(',');
    AppendField(b, "tenant_id", tenant);
    b.push_back(',');
    AppendField(b, "op_id", op->op_id);
    b.push_back(',');
    AppendField(b, "policy_version", op->policy_version);
    b.push_back(',');
    AppendField(b, "kid", op->kid);
    b.push_back(',');
    AppendField(b, "region", region);
    b.push_back(',');
    AppendField(b, "created_at", receipt::FormatTimestamp(op->created));
    b.push_back(',');
    AppendField(b, "action", action.name);
    b.push_back(',');
    AppendField(b, "actor", actor_id);
    b.push_back(',');
    AppendField(b, "resource", resource_id);
    b.push_back(',');
    AppendField(b, "decision", decision);
    b.append(",\"payload\":{");
    AppendNumberField(b, "amount_cents", amount);
    b.push_back(',');
    AppendField(b, "currency", Currency(region));
    b.append("}}");
  } else {
    // v1: untyped, field names of the first API version, no schema marker.
    AppendField(b, "tenant", tenant);
    b.push_back(',');
    AppendField(b, "op", op->op_id);
    b.push_back(',');
    AppendField(b, "action", action.name);
    b.push_back(',');
    AppendField(b, "actor", actor_id);
    b.push_back(',');
    AppendField(b, "resource", resource_id);
    b.push_back(',');
    AppendField(b, "decision", decision);
    b.push_back(',');
    AppendNumberField(b, "amount", amount);
    b.push_back(',');
    AppendField(b, "policy", op->policy_version);
    b.push_back('}');
  }
  op->content_hash.clear();
  if (op->version == 2) {
    // docs/receipts.md: SHA-256 of the RFC 8785 canonical form (the body is
    // stored as written, jsonb reorders it; the hash does not change).
    op->content_hash = receipt::ContentHash(b).value();
  } else {
    AppendHash256Hex(op->content_hash, b);   // v1: the legacy writer's own digest of its bytes
  }
  if (op->divergent) {
    // What the API attested differs from what the ledger stored: a hash of
    // the body with one field changed.
    std::string altered = b;
    altered.append(std::to_string(divergence_salt));
    op->attested_hash.clear();
    AppendHash256Hex(op->attested_hash, altered);
  } else {
    op->attested_hash = op->content_hash;
  }
}

void AppendReceiptRow(std::string& out, const World& w, const Op& op,
                      const std::string& anchor_id, Micros anchored_at) {
  AppendCopyText(out, op.receipt_id);
  out.push_back('\t');
  AppendCopyText(out, w.tenant(op.tenant));
  out.push_back('\t');
  AppendCopyText(out, op.op_id);
  out.push_back('\t');
  AppendCopyText(out, w.region(op.region));
  out.push_back('\t');
  AppendCopyText(out, op.policy_version);
  out.push_back('\t');
  AppendCopyText(out, op.kid);
  out.push_back('\t');
  out.push_back(op.version == 2 ? '2' : '1');
  out.push_back('\t');
  AppendCopyText(out, op.body);
  out.push_back('\t');
  out.append(op.content_hash);
  out.push_back('\t');
  AppendTimestamp(out, op.created);
  if (anchor_id.empty()) {
    out.append("\t\\N\t\\N\n");
  } else {
    out.push_back('\t');
    AppendCopyText(out, anchor_id);
    out.push_back('\t');
    AppendTimestamp(out, anchored_at);
    out.push_back('\n');
  }
}

void AppendSpanRow(std::string& out, const World& w, const Op& op) {
  out.append(op.trace_id);
  out.push_back('\t');
  out.append(op.span_id);
  out.push_back('\t');
  AppendCopyText(out, w.tenant(op.tenant));
  out.push_back('\t');
  out.append(op.op_id);
  out.push_back('\t');
  AppendCopyText(out, op.span_name);
  out.push_back('\t');
  AppendTimestamp(out, op.span_start);
  out.push_back('\t');
  AppendTimestamp(out, op.span_end);
  out.push_back('\t');
  out.append(op.attested_hash);
  out.push_back('\n');
}

namespace {
void AppendOtlpAttr(std::string& out, std::string_view key, std::string_view value) {
  out.append("{\"key\":");
  AppendJsonString(out, key);
  out.append(",\"value\":{\"stringValue\":");
  AppendJsonString(out, value);
  out.append("}}");
}
}  // namespace

void AppendOtlpSpan(std::string& out, const World& w, const Op& op) {
  out.append("{\"traceId\":\"");
  out.append(op.trace_id);
  out.append("\",\"spanId\":\"");
  out.append(op.span_id);
  out.append("\",\"name\":");
  AppendJsonString(out, op.span_name);
  out.append(",\"kind\":2,\"startTimeUnixNano\":\"");
  out.append(std::to_string(op.span_start));
  out.append("000\",\"endTimeUnixNano\":\"");
  out.append(std::to_string(op.span_end));
  out.append("000\",\"attributes\":[");
  AppendOtlpAttr(out, "provledger.tenant", w.tenant(op.tenant));
  out.push_back(',');
  AppendOtlpAttr(out, "provledger.op_id", op.op_id);
  out.push_back(',');
  AppendOtlpAttr(out, "provledger.attested_hash", op.attested_hash);
  out.append("],\"status\":{}}");
}

std::string OtlpRequestLine(const std::string& spans) {
  std::string line =
      "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
      "\"provledger-sim\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"provledger_sim\"},\"spans\":[";
  line.append(spans);
  line.append("]}]}]}\n");
  return line;
}

void AppendNoiseSpanRow(std::string& out, const World& w, std::uint64_t domain,
                        std::uint64_t index, Rng& rng, Micros start) {
  const std::uint64_t s = w.seed();
  const char* name = kNoiseNames[rng.Below(kNoiseNames.size())];
  const std::size_t tenant = w.SampleTenant(rng.Uniform());
  const Micros dur = SampleSpanDuration(rng) / 5 + 200;
  AppendHex(out, StreamKey(s, domain + 4, index));
  AppendHex(out, StreamKey(s, domain + 5, index));
  out.push_back('\t');
  AppendHex(out, StreamKey(s, domain + 6, index));
  out.push_back('\t');
  if (std::strcmp(name, "GET /healthz") == 0) {
    out.append("\\N");
  } else {
    AppendCopyText(out, w.tenant(tenant));
  }
  out.append("\t\\N\t");
  out.append(name);
  out.push_back('\t');
  AppendTimestamp(out, start);
  out.push_back('\t');
  AppendTimestamp(out, start + dur);
  out.append("\t\\N\n");
}

void AppendAnchorRow(std::string& out, const World& w, const Anchor& a) {
  AppendCopyText(out, a.anchor_id);
  out.push_back('\t');
  AppendCopyText(out, w.region(a.region));
  out.push_back('\t');
  out.append(a.anchor_hash);
  out.push_back('\t');
  out.append(std::to_string(a.receipt_count));
  out.push_back('\t');
  AppendTimestamp(out, a.created);
  out.push_back('\t');
  AppendTimestamp(out, a.anchored);
  out.push_back('\n');
}

void AppendProofRow(std::string& out, const std::string& anchor_id, const char* notary,
                    Micros proved_at) {
  AppendCopyText(out, anchor_id);
  out.push_back('\t');
  out.append(notary);
  out.push_back('\t');
  AppendTimestamp(out, proved_at);
  out.push_back('\n');
}

Timeline::Timeline(Micros start, Micros end, double amplitude) : start_(start), end_(end) {
  constexpr int kCells = 4096;
  const double span = static_cast<double>(end_ - start_);
  std::vector<double> cum(kCells + 1, 0.0);
  for (int k = 0; k < kCells; ++k) {
    const double mid = static_cast<double>(start_) + span * (k + 0.5) / kCells;
    // Busiest at 15:00 UTC, quietest at 03:00 UTC.
    const double hour = std::fmod(mid / 3600e6, 24.0);
    const double rate = 1.0 + amplitude * std::sin(6.283185307179586 * (hour - 9.0) / 24.0);
    cum[k + 1] = cum[k] + std::max(rate, 0.01);
  }
  for (auto& c : cum) c /= cum[kCells];
  // Invert on a uniform q grid.
  inv_.resize(kCells + 1);
  int cell = 0;
  for (int i = 0; i <= kCells; ++i) {
    const double q = static_cast<double>(i) / kCells;
    while (cell < kCells - 1 && cum[cell + 1] < q) ++cell;
    const double lo = cum[cell];
    const double hi = cum[cell + 1];
    const double frac = hi > lo ? (q - lo) / (hi - lo) : 0.0;
    inv_[i] = (cell + std::clamp(frac, 0.0, 1.0)) / kCells;
  }
}

Micros Timeline::At(double q) const {
  q = std::clamp(q, 0.0, 1.0);
  const double x = q * static_cast<double>(inv_.size() - 1);
  const auto i = std::min(static_cast<std::size_t>(x), inv_.size() - 2);
  const double f = inv_[i] + (inv_[i + 1] - inv_[i]) * (x - static_cast<double>(i));
  return start_ + static_cast<Micros>(f * static_cast<double>(end_ - start_));
}

double Timeline::Position(Micros t) const {
  if (end_ <= start_) return 1.0;
  return std::clamp(static_cast<double>(t - start_) / static_cast<double>(end_ - start_), 0.0, 1.0);
}

Ramp::Ramp(const World& w) : w_(w), rng_(w.seed(), kDomainRamp, 0) {
  level_.resize(w.tenant_count());
  for (std::size_t t = 0; t < w.tenant_count(); ++t) {
    for (std::size_t k = 0; k < w.tenant_features()[t].size(); ++k) {
      level_[t].push_back(rng_.Chance(0.35) ? 4 : static_cast<int>(rng_.Below(4)));
    }
  }
}

std::size_t Ramp::Step() {
  std::size_t changed = 0;
  for (auto& levels : level_) {
    for (int& l : levels) {
      const double u = rng_.Uniform();
      if (l == 4) {
        if (u < 0.02) { l = 0; ++changed; }
      } else if (l >= 1 && u < 0.03) {
        l = 0;
        ++changed;
      } else if (u < 0.33) {
        ++l;
        ++changed;
      }
    }
  }
  return changed;
}

int Ramp::pct(std::size_t tenant, std::size_t k) const { return kLevels[static_cast<std::size_t>(level_[tenant][k])]; }

std::string Ramp::Yaml(std::uint64_t step) const {
  std::string out = "# written by the ramp controller (provledger_sim), step " +
                    std::to_string(step) + "\n# tenant: {feature: percent}\n";
  for (std::size_t t = 0; t < w_.tenant_count(); ++t) {
    out.append(w_.tenant(t));
    out.append(": {");
    const auto& fs = w_.tenant_features()[t];
    for (std::size_t k = 0; k < fs.size(); ++k) {
      if (k > 0) out.append(", ");
      out.append(w_.features()[fs[k]]);
      out.append(": ");
      out.append(std::to_string(pct(t, k)));
    }
    out.append("}\n");
  }
  return out;
}

void WriteFileAtomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(e));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot replace " + path + ": " + std::strerror(e));
  }
}

}  // namespace provledger::sim
