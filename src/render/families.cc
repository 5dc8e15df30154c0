#include "render/families.hh"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

#include "build_info.hh"
#include "render/metrics.hh"

namespace provledger::render {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char min = k == 1 ? lo : 0x80;
    const unsigned char max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return 0;
  }
  return len;
}

ClientMetric::Label L(std::string_view name, std::string_view value) {
  return ClientMetric::Label{std::string(name), SanitizeUtf8(value)};
}

MetricFamily Family(const MetricDef& def) {
  MetricFamily f;
  f.name = std::string(def.name);
  f.help = std::string(def.help);
  f.type = def.type;
  return f;
}

ClientMetric Gauge(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

ClientMetric Counter(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  return m;
}

// Cumulative buckets from per-bound counts. Bounds are sorted ascending
// first, carrying their counts, so an unsorted bound list still yields a
// valid histogram; a missing count is 0.
ClientMetric Histogram(std::vector<ClientMetric::Label> labels, const std::vector<double>& bounds,
                       const compute::HistogramData& data) {
  std::vector<std::pair<double, std::uint64_t>> per_bound;
  per_bound.reserve(bounds.size());
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    per_bound.emplace_back(bounds[i], i < data.bucket_counts.size() ? data.bucket_counts[i] : 0);
  }
  std::stable_sort(per_bound.begin(), per_bound.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = data.count;
  m.histogram.sample_sum = data.sum;
  std::uint64_t cumulative = 0;
  for (const auto& [bound, count] : per_bound) {
    cumulative += count;
    m.histogram.bucket.push_back({cumulative, bound});
  }
  return m;
}

void SortSamples(MetricFamily& f) {
  std::stable_sort(f.metric.begin(), f.metric.end(),
                   [](const ClientMetric& a, const ClientMetric& b) { return a.label < b.label; });
}

void Add(std::vector<MetricFamily>& out, MetricFamily f) {
  if (f.metric.empty()) return;
  SortSamples(f);
  out.push_back(std::move(f));
}

double MicrosToSeconds(Micros us) { return static_cast<double>(us) / 1e6; }

}  // namespace

std::string SanitizeUtf8(std::string_view value) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    const std::size_t len = Utf8SequenceLength(value, i);
    if (len == 0) break;
    i += len;
  }
  if (i == value.size()) return std::string(value);
  out.reserve(value.size() + 8);
  out.append(value.substr(0, i));
  while (i < value.size()) {
    const std::size_t len = Utf8SequenceLength(value, i);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(value.substr(i, len));
      i += len;
    }
  }
  return out;
}

BuildInfo CurrentBuildInfo() { return BuildInfo{PROVLEDGER_VERSION, PROVLEDGER_REVISION}; }

std::vector<prometheus::MetricFamily> RenderFamilies(const compute::Snapshot& s,
                                                     const ProcessStats& process,
                                                     const BuildInfo& build) {
  std::vector<MetricFamily> out;
  out.reserve(kMetrics.size());

  // --- business ---
  {
    auto f = Family(kCoveragePct);
    for (const auto& c : s.coverage) {
      // No settled operation in the window: no sample (never a fake 0 or NaN).
      if (c.settled_in_window == 0) continue;
      f.metric.push_back(Gauge({L("tenant", c.tenant)}, c.pct));
    }
    Add(out, std::move(f));
  }
  {
    auto f = Family(kDivergenceCount);
    for (const auto& [tenant, n] : s.divergence) {
      f.metric.push_back(Counter({L("tenant", tenant)}, static_cast<double>(n)));
    }
    Add(out, std::move(f));
  }
  {
    auto f = Family(kOpsSettled);
    for (const auto& [tenant, c] : s.settled) {
      f.metric.push_back(
          Counter({L("tenant", tenant), L("outcome", "attested")}, static_cast<double>(c.attested)));
      f.metric.push_back(Counter({L("tenant", tenant), L("outcome", "divergent")},
                                 static_cast<double>(c.divergent)));
      f.metric.push_back(
          Counter({L("tenant", tenant), L("outcome", "missing")}, static_cast<double>(c.missing)));
    }
    Add(out, std::move(f));
  }
  {
    auto f = Family(kAnchorLatency);
    if (s.latency_per_tenant) {
      for (const auto& [key, h] : s.anchor_latency) {
        f.metric.push_back(
            Histogram({L("region", key.first), L("tenant", key.second)}, s.latency_bounds_ms, h));
      }
    } else {
      // The tenant label is dropped; merge whatever per-region series exist so
      // no two samples share a label set.
      std::map<std::string, compute::HistogramData> by_region;
      for (const auto& [key, h] : s.anchor_latency) {
        auto& agg = by_region[key.first];
        if (agg.bucket_counts.size() < h.bucket_counts.size()) {
          agg.bucket_counts.resize(h.bucket_counts.size(), 0);
        }
        for (std::size_t i = 0; i < h.bucket_counts.size(); ++i) {
          agg.bucket_counts[i] += h.bucket_counts[i];
        }
        agg.count += h.count;
        agg.sum += h.sum;
      }
      for (const auto& [region, h] : by_region) {
        f.metric.push_back(Histogram({L("region", region)}, s.latency_bounds_ms, h));
      }
    }
    Add(out, std::move(f));
  }
  {
    auto f = Family(kQueueDepth);
    for (const auto& [region, depth] : s.queue_depth) {
      f.metric.push_back(Gauge({L("region", region)}, static_cast<double>(depth)));
    }
    Add(out, std::move(f));
  }
  {
    auto f = Family(kProofsLastTs);
    for (const auto& [region, ts] : s.proofs_last_ts) {
      f.metric.push_back(Gauge({L("region", region)}, ts));
    }
    Add(out, std::move(f));
  }
  {
    auto f = Family(kFlagRampPct);
    for (const auto& [key, pct] : s.ramp) {
      f.metric.push_back(Gauge({L("tenant", key.first), L("feature", key.second)}, pct));
    }
    Add(out, std::move(f));
  }

  // --- exporter health ---
  {
    auto up = Family(kSourceUp);
    auto duration = Family(kPollDuration);
    auto errors = Family(kPollErrors);
    auto last_success = Family(kLastPollSuccess);
    auto rows = Family(kRowsRead);
    auto unindexed = Family(kQueryPlanUnindexed);
    for (const auto& src : s.sources) {
      for (const auto& [query, bad] : src.plan_unindexed) {
        unindexed.metric.push_back(Gauge({L("source", src.name), L("query", query)}, bad ? 1 : 0));
      }
      up.metric.push_back(Gauge({L("source", src.name)}, src.up ? 1 : 0));
      duration.metric.push_back(
          Histogram({L("source", src.name)}, s.poll_duration_buckets, src.poll_duration));
      for (int k = 0; k < kErrorKinds; ++k) {
        errors.metric.push_back(
            Counter({L("source", src.name), L("kind", ErrorKindName(static_cast<ErrorKind>(k)))},
                    static_cast<double>(src.errors[k])));
      }
      if (src.last_success_seconds > 0) {
        last_success.metric.push_back(Gauge({L("source", src.name)}, src.last_success_seconds));
      }
      rows.metric.push_back(Counter({L("source", src.name)}, static_cast<double>(src.rows_read)));
    }
    Add(out, std::move(up));
    Add(out, std::move(duration));
    Add(out, std::move(errors));
    Add(out, std::move(last_success));
    Add(out, std::move(rows));
    Add(out, std::move(unindexed));
  }
  {
    auto f = Family(kTenants);
    f.metric.push_back(Gauge({}, static_cast<double>(s.tenants)));
    Add(out, std::move(f));
  }
  {
    auto f = Family(kTenantsDropped);
    f.metric.push_back(Counter({}, static_cast<double>(s.tenants_dropped)));
    Add(out, std::move(f));
  }
  {
    auto f = Family(kStateWriteErrors);
    f.metric.push_back(Counter({}, static_cast<double>(s.state_write_errors)));
    Add(out, std::move(f));
  }
  {
    auto f = Family(kPendingOps);
    f.metric.push_back(Gauge({}, static_cast<double>(s.pending_ops)));
    Add(out, std::move(f));
  }
  {
    auto f = Family(kWindowOps);
    f.metric.push_back(Gauge({}, static_cast<double>(s.window_ops)));
    Add(out, std::move(f));
  }
  {
    auto f = Family(kHeldReceipts);
    f.metric.push_back(Gauge({}, static_cast<double>(s.held_receipts)));
    Add(out, std::move(f));
  }
  if (process.heap_inuse_bytes) {
    auto f = Family(kHeapInUse);
    f.metric.push_back(Gauge({}, *process.heap_inuse_bytes));
    Add(out, std::move(f));
  }
  {
    auto f = Family(kWindowEnd);
    if (s.window_end != kMinMicros) f.metric.push_back(Gauge({}, MicrosToSeconds(s.window_end)));
    Add(out, std::move(f));
  }
  if (s.evidence_jobs.enabled) {
    const auto& e = s.evidence_jobs;
    auto jobs = Family(kEvidenceJobs);
    jobs.metric.push_back(Counter({L("outcome", "done")}, static_cast<double>(e.done)));
    jobs.metric.push_back(Counter({L("outcome", "failed")}, static_cast<double>(e.failed)));
    jobs.metric.push_back(Counter({L("outcome", "rejected")}, static_cast<double>(e.rejected)));
    Add(out, std::move(jobs));
    auto duration = Family(kEvidenceJobDuration);
    duration.metric.push_back(Histogram({}, e.duration_buckets, e.duration));
    Add(out, std::move(duration));
    auto queued = Family(kEvidenceJobsQueued);
    queued.metric.push_back(Gauge({}, static_cast<double>(e.queued)));
    Add(out, std::move(queued));
    auto running = Family(kEvidenceJobsRunning);
    running.metric.push_back(Gauge({}, static_cast<double>(e.running)));
    Add(out, std::move(running));
  }
  {
    auto f = Family(kBuildInfo);
    f.metric.push_back(Gauge({L("version", build.version), L("revision", build.revision)}, 1));
    Add(out, std::move(f));
  }

  // --- process ---
  auto add_process = [&out](const MetricDef& def, const std::optional<double>& v) {
    if (!v) return;
    auto f = Family(def);
    f.metric.push_back(def.type == MetricType::Counter ? Counter({}, *v) : Gauge({}, *v));
    Add(out, std::move(f));
  };
  add_process(kProcessCpu, process.cpu_seconds);
  add_process(kProcessResident, process.resident_bytes);
  add_process(kProcessVirtual, process.virtual_bytes);
  add_process(kProcessOpenFds, process.open_fds);
  add_process(kProcessMaxFds, process.max_fds);
  add_process(kProcessStart, process.start_time_seconds);

  return out;
}

}  // namespace provledger::render
