// The one way this program reads a YAML file (the config file, flags.spec, the
// web config, the ramp plan and the report's mapper catalog):
// at most `max_bytes` of text, exactly one document. yaml-cpp's LoadAll loops
// without end on some inputs (a file that is just "," yields empty documents
// forever, allocating as it goes), so documents are pulled one at a time and
// the second one is an error.
//
// This header exposes yaml-cpp types: include it only from .cc files of areas
// that already depend on yaml-cpp (config, source, http, ramp, report).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

// yaml-cpp 0.7's node/impl.h trips GCC 12's -Wdangling-pointer (a false
// positive on its node_ref temporaries); silence it for that header only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <yaml-cpp/yaml.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace provledger::config {

// Largest config file read, bytes (a real one is a few KiB).
inline constexpr std::size_t kMaxConfigBytes = 1 << 20;

struct YamlDocument {
  YAML::Node root;        // Null for an empty text
  bool ok = false;
  int line = 0;           // 1-based position of the problem; 0 = the file as a whole
  int column = 0;
  std::string message;    // set when !ok; never quotes the text
};

YamlDocument LoadSingleYamlDocument(std::string_view text, std::size_t max_bytes);

// Reads at most max_bytes + 1 bytes of `path` into `out` (so /dev/zero or a
// huge file costs at most that). Returns "" on success, else the reason
// ("cannot read <what>: <errno text>" or "<what> is larger than N bytes").
std::string ReadBoundedFile(const std::string& path, std::size_t max_bytes, std::string& out,
                            std::string_view what);

}  // namespace provledger::config
