// The state file: PersistentState as JSON, written atomically (temp file in
// the same directory, fsync, rename, fsync of the directory), so a crash
// leaves either the old or the new file, never a torn one.
#pragma once

#include <optional>
#include <string>

#include "compute/state.hh"

namespace provledger::state {

std::string EncodeState(const compute::PersistentState& st);
// Throws std::runtime_error naming what is wrong (bad JSON, wrong version,
// missing or mistyped field).
compute::PersistentState DecodeState(const std::string& text);

// Throws std::runtime_error with the path and errno text.
void WriteStateFile(const std::string& path, const compute::PersistentState& st);
// std::nullopt when the file does not exist; throws when it exists but cannot
// be read or decoded (the caller reports it and starts from the window).
std::optional<compute::PersistentState> ReadStateFile(const std::string& path);

}  // namespace provledger::state
