#include "source/flags_source.hh"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "config/yaml_document.hh"
#include "decode/decode.hh"

namespace provledger::source {

FlagsFileSource::FlagsFileSource(const config::Flags& flags, SourceOptions options)
    : name_(flags.name),
      path_(flags.file),
      options_(std::move(options)),
      log_(name_, options_) {}

FlagsFileSource::~FlagsFileSource() = default;

PollResult FlagsFileSource::Poll() {
  const auto started = std::chrono::steady_clock::now();
  PollResult out;
  out.report = detail::StartReport(name_, SourceKind::kFlags);
  PollReport& report = out.report;
  detail::RunGuarded(report, nullptr, last_error_, [&] {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      throw pq::PqError(ErrorKind::kQuery, "", path_ + ": cannot read flags file: " + std::strerror(errno));
    }
    Stamp now;
    now.dev = static_cast<std::uint64_t>(st.st_dev);
    now.ino = static_cast<std::uint64_t>(st.st_ino);
    now.size = static_cast<std::int64_t>(st.st_size);
    now.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (!have_ || !(now == stamp_)) {
      std::string text;
      if (std::string why = config::ReadBoundedFile(path_, kMaxFlagsSpecBytes, text, "flags file");
          !why.empty()) {
        throw pq::PqError(ErrorKind::kQuery, "", path_ + ": " + why);
      }
      FlagsSpec spec = ParseFlagsSpec(text, path_, options_.max_tenant_bytes);
      have_ = true;
      stamp_ = now;
      fatal_.clear();
      rows_.clear();
      if (spec.fatal) {
        fatal_ = spec.errors.empty() ? path_ + ": unusable" : spec.errors.back().str();
      } else {
        rows_ = std::move(spec.rows);
        for (const FlagsSpecError& e : spec.errors) {
          ++report.errors[static_cast<int>(ErrorKind::kDecode)];
          log_.BadRow("flags", e.file + ":" + std::to_string(e.line) + ":" + std::to_string(e.column),
                      e.message);
        }
        report.rows_read = rows_.size() + spec.errors.size();
      }
    }
    if (!fatal_.empty()) throw pq::PqError(ErrorKind::kDecode, "", fatal_);
    FlagsBatch batch;
    batch.source = name_;
    batch.flags = rows_;
    report.success = true;
    out.batch = std::move(batch);
  });
  log_.FlushSuppressed();
  detail::Finish(report, started);
  return out;
}

FlagsSqlSource::FlagsSqlSource(const config::Flags& flags, SourceOptions options)
    : cfg_(flags),
      options_(std::move(options)),
      log_(cfg_.name, options_),
      session_(cfg_.conn, &log_) {}

FlagsSqlSource::~FlagsSqlSource() = default;

void FlagsSqlSource::RequestStop() { session_.RequestStop(); }
void FlagsSqlSource::ClearStop() { session_.ClearStop(); }

void FlagsSqlSource::Close() { session_.Close(); }

PollResult FlagsSqlSource::Poll() {
  const auto started = std::chrono::steady_clock::now();
  PollResult out;
  out.report = detail::StartReport(cfg_.name, SourceKind::kFlags);
  PollReport& report = out.report;
  const decode::Limits limits{options_.max_tenant_bytes};
  detail::RunGuarded(report, &session_, last_error_, [&] {
    if (cfg_.query.empty()) throw pq::PqError(ErrorKind::kQuery, "", "flags query is empty");
    pq::Connection& c = session_.Get();
    pq::Result r = detail::ExecNamed(c, "flags", cfg_.query);
    r.ExpectColumns(decode::kFlagColumns, "flags");
    FlagsBatch batch;
    batch.source = cfg_.name;
    for (int i = 0; i < r.rows(); ++i) {
      decode::FlagColumns fc{detail::Col(r, i, 0), detail::Col(r, i, 1), detail::Col(r, i, 2)};
      auto d = decode::DecodeFlag(fc, limits);
      if (d.ok()) {
        batch.flags.push_back(std::move(d.value()));
      } else {
        ++report.errors[static_cast<int>(ErrorKind::kDecode)];
        log_.BadRow("flags", "row " + std::to_string(i + 1), d.error());
      }
    }
    report.rows_read = static_cast<std::uint64_t>(r.rows());
    report.success = true;
    out.batch = std::move(batch);
  });
  log_.FlushSuppressed();
  detail::Finish(report, started);
  return out;
}

}  // namespace provledger::source
