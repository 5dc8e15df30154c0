// The two flags sources: flag_ramp_pct comes from a flags.spec YAML file
// (FlagsFileSource) or from a SQL query (FlagsSqlSource). Each successful
// poll returns the FULL current set (FlagsBatch replaces the previous set of
// the source wholesale); a failed poll returns no batch, so the consumer
// keeps the last good set. Thread safety: see Source.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hh"
#include "source/flags_spec.hh"
#include "source/options.hh"
#include "source/source.hh"
#include "source/source_common.hh"

namespace provledger::source {

// Reads config::Flags::file. The file is re-read and re-parsed only when its
// identity or content stamp changed (device, inode, size, mtime in ns); in
// between, each poll returns the cached set (rows_read 0).
// - Missing/unreadable file: failed poll, kind kQuery, every poll until it
//   is back.
// - YAML syntax error / top level not a mapping: failed poll, kind kDecode,
//   message "file:line:column: ...", every poll until the file changes.
// - Bad entries: dropped, each counted once (on the poll that read the
//   change) in errors[kDecode] and logged (rate-limited); the rest is kept.
class FlagsFileSource final : public Source {
 public:
  explicit FlagsFileSource(const config::Flags& flags, SourceOptions options = {});
  ~FlagsFileSource() override;

  const std::string& name() const override { return name_; }
  SourceKind kind() const override { return SourceKind::kFlags; }
  PollResult Poll() override;
  void Close() override {}
  const std::string& last_error() const { return last_error_; }

 private:
  struct Stamp {
    std::uint64_t dev = 0, ino = 0;
    std::int64_t size = -1, mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

  std::string name_;
  std::string path_;
  SourceOptions options_;
  detail::SourceLog log_;
  bool have_ = false;               // stamp_ describes the last parse
  Stamp stamp_;
  std::vector<FlagRow> rows_;       // last parse (empty if fatal)
  std::string fatal_;               // last parse was unusable: why
  std::string last_error_;
};

// Runs config::Flags::query -> (tenant text, feature text, pct double
// precision) on config::Flags::conn each poll; rows decoded with
// decode::DecodeFlag (bad rows: kDecode, logged rate-limited, skipped).
// RequestStop() cancels the query in flight (see Source).
class FlagsSqlSource final : public Source {
 public:
  explicit FlagsSqlSource(const config::Flags& flags, SourceOptions options = {});
  ~FlagsSqlSource() override;

  const std::string& name() const override { return cfg_.name; }
  SourceKind kind() const override { return SourceKind::kFlags; }
  PollResult Poll() override;
  void Close() override;
  void RequestStop() override;
  void ClearStop() override;
  const std::string& last_error() const { return last_error_; }

 private:
  config::Flags cfg_;
  SourceOptions options_;
  detail::SourceLog log_;
  detail::PgSession session_;
  std::string last_error_;
};

}  // namespace provledger::source
