#include "render/exposition.hh"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <prometheus/text_serializer.h>

namespace provledger::render {

std::string GzipCompress(std::string_view data, int level) {
  z_stream zs{};
  // windowBits 15 + 16 selects the gzip wrapper; memLevel 8 is zlib's default.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  std::size_t in_left = data.size();
  std::size_t produced = 0;
  int rc = Z_OK;
  do {
    if (produced == out.size()) out.resize(out.size() * 2);
    const auto chunk_in = static_cast<uInt>(std::min<std::size_t>(in_left, std::numeric_limits<uInt>::max()));
    zs.avail_in = chunk_in;
    const auto chunk_out =
        static_cast<uInt>(std::min<std::size_t>(out.size() - produced, std::numeric_limits<uInt>::max()));
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = chunk_out;
    const int flush = in_left == chunk_in ? Z_FINISH : Z_NO_FLUSH;
    rc = deflate(&zs, flush);
    in_left -= chunk_in - zs.avail_in;
    produced += chunk_out - zs.avail_out;
    if (rc == Z_STREAM_ERROR) {
      deflateEnd(&zs);
      throw std::runtime_error("gzip: deflate failed");
    }
  } while (rc != Z_STREAM_END);
  deflateEnd(&zs);
  out.resize(produced);
  return out;
}

Exposition RenderExposition(const compute::Snapshot& snapshot, const ProcessStats& process,
                            const BuildInfo& build) {
  Exposition e;
  e.text = prometheus::TextSerializer().Serialize(RenderFamilies(snapshot, process, build));
  std::size_t lines = 0;
  std::size_t pos = 0;
  while (pos < e.text.size()) {
    std::size_t eol = e.text.find('\n', pos);
    if (eol == std::string::npos) eol = e.text.size();
    if (eol > pos && e.text[pos] != '#') ++lines;
    pos = eol + 1;
  }
  e.series = lines;
  e.gzip = GzipCompress(e.text, 6);
  return e;
}

}  // namespace provledger::render
