// Snapshot -> prometheus::MetricFamily: the whole exposition, built once per
// poll from an immutable compute::Snapshot. Pure: no I/O, no clock.
//
// Contract:
// - Family names, types and HELP come from metrics.hh only.
// - Families appear in kMetrics order; a family with no samples is omitted.
//   Samples within a family are sorted by their label values.
// - Histograms: cumulative buckets in ascending `le`, computed from the
//   snapshot's non-cumulative per-bound counts; the +Inf bucket equals the
//   count (written by the serializer).
// - With snapshot.latency_per_tenant == false, ledger_anchor_latency_ms has
//   only the `region` label (series of one region are merged).
// - Label values are passed through as UTF-8; invalid UTF-8 sequences are
//   replaced by U+FFFD (Prometheus rejects a scrape with invalid UTF-8).
//   Escaping of \, " and newline is done by prometheus-cpp's serializer.
// - Empty ProcessStats fields omit the matching process_* family (the golden
//   test renders with ProcessStats{} to leave them out).
// - Throws only std::bad_alloc. Thread-safe (reads its arguments only).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "compute/snapshot.hh"
#include "render/process.hh"

namespace provledger::render {

struct BuildInfo {
  std::string version;
  std::string revision;
};

// Version and git revision this binary was built from (build_info.hh).
BuildInfo CurrentBuildInfo();

std::vector<prometheus::MetricFamily> RenderFamilies(const compute::Snapshot& snapshot,
                                                     const ProcessStats& process,
                                                     const BuildInfo& build);

// `value` when it is valid UTF-8, else a copy with each invalid sequence
// replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view value);

}  // namespace provledger::render
