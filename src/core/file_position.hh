// A position in a file-backed stream (the otlp_file trace store), kept in the
// state file. Pure data, no I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "core/rows.hh"

namespace provledger {

// File identity (st_dev, st_ino), the byte offset of the next unread line,
// and the watermark: every span that started at or before it lies in the
// stream before this position (see source/otlp_file_source.hh).
// dev == 0 && ino == 0: no file yet.
struct FilePosition {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t offset = 0;
  Micros watermark = kMinMicros;
  bool operator==(const FilePosition&) const = default;
};

// What a file source keeps: where it reads, and the positions a restart may
// replay from (oldest first, watermarks non-decreasing).
struct FileCursors {
  FilePosition read;
  std::vector<FilePosition> replay;
  bool operator==(const FileCursors&) const = default;
};

}  // namespace provledger
