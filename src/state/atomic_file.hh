// WriteFileAtomic: the one implementation of "replace a file so that a crash
// leaves either the old or the new content, never a torn one": a new temp
// file beside `path` (mkostemp: never follows a planted symlink), chmod `mode`,
// write, fsync, rename over `path`, fsync of the directory (best effort). Used by the exporter's state file and the
// ramp controller's flags.spec and metrics textfile.
#pragma once

#include <string>
#include <string_view>

namespace provledger::state {

// Throws std::runtime_error with the path and errno text; on failure the temp
// file is removed and `path` is untouched.
void WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0600);

}  // namespace provledger::state
