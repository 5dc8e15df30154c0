// The rendered exposition: text format 0.0.4 plus its gzip, produced once per
// poll so that a scrape only writes bytes.
//
// Contract:
// - `text` is prometheus::TextSerializer's output of RenderFamilies(...)
//   (prometheus-cpp 1.0.1: label values escaped, 16 significant digits,
//   NaN written "Nan", infinities "+Inf"/"-Inf", no timestamps).
// - `gzip` is `text` compressed with zlib in the gzip wrapper (RFC 1952),
//   level 6; inflating it yields exactly `text`.
// - `series` is the number of sample lines (each histogram bucket, _sum and
//   _count counts as one).
// - Throws std::bad_alloc, or std::runtime_error if zlib fails. Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "compute/snapshot.hh"
#include "render/families.hh"
#include "render/process.hh"

namespace provledger::render {

struct Exposition {
  std::string text;
  std::string gzip;
  std::size_t series = 0;
};

Exposition RenderExposition(const compute::Snapshot& snapshot, const ProcessStats& process,
                            const BuildInfo& build);

// gzip (RFC 1952) of `data` at zlib `level` (0-9). Throws std::runtime_error
// if zlib fails.
std::string GzipCompress(std::string_view data, int level = 6);

}  // namespace provledger::render
