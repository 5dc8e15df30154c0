#include "source/otlp_file_source.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "decode/utf8.hh"

namespace provledger::source {

namespace {

constexpr std::size_t kChunk = 1 << 20;   // bytes per read
constexpr std::size_t kMaxCheckpoints = 64;

Micros WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A failure of the poll as a whole (kind + message).
struct PollFailure : std::runtime_error {
  ErrorKind kind;
  PollFailure(ErrorKind k, const std::string& m) : std::runtime_error(m), kind(k) {}
};

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void SplitPath(const std::string& path, std::string& dir, std::string& name) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    dir = ".";
    name = path;
  } else {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    name = path.substr(slash + 1);
  }
}

// RAII file descriptor.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool SameFile(const FilePosition& p, const struct stat& st) {
  return p.dev == static_cast<std::uint64_t>(st.st_dev) && p.ino == static_cast<std::uint64_t>(st.st_ino);
}

}  // namespace

struct OtlpFileSource::FileEntry {
  std::string path;
  std::uint64_t dev = 0, ino = 0, size = 0;
  bool live = false;
};

bool OtlpFileSource::IsRotatedName(const std::string& live_name, const std::string& candidate) {
  const auto dot = live_name.find_last_of('.');
  const std::string stem = dot == std::string::npos || dot == 0 ? live_name : live_name.substr(0, dot);
  const std::string ext = dot == std::string::npos || dot == 0 ? std::string() : live_name.substr(dot);
  const std::string prefix = stem + "-";
  if (candidate.size() <= prefix.size() + ext.size()) return false;
  if (candidate.compare(0, prefix.size(), prefix) != 0) return false;
  if (candidate.compare(candidate.size() - ext.size(), ext.size(), ext) != 0) return false;
  // The timestamp part starts with a digit (2006-01-02T15-04-05.000).
  const char c = candidate[prefix.size()];
  return c >= '0' && c <= '9';
}

OtlpFileSource::OtlpFileSource(const config::TraceStore& store, SourceOptions options)
    : StreamSourceBase(store.name, std::move(options)),
      cfg_(store),
      parser_(decode::OtlpKeys{store.otlp.tenant_attribute, store.otlp.op_id_attribute,
                               store.otlp.attested_hash_attribute, store.otlp.span_names},
              decode::Limits{options_.max_tenant_bytes}) {}

OtlpFileSource::~OtlpFileSource() = default;

std::string OtlpFileSource::fingerprint() const {
  const auto& o = cfg_.otlp;
  std::string f = "otlp_file\x1f" + o.path + '\x1f' + o.compression + '\x1f' + o.tenant_attribute + '\x1f' +
                  o.op_id_attribute + '\x1f' + o.attested_hash_attribute;
  for (const auto& n : o.span_names) f += '\x1f' + n;
  return f;
}

void OtlpFileSource::RestoreCursors(const Cursors& c) {
  if (const auto* f = std::get_if<FileCursors>(&c)) cursors_ = *f;
}

void OtlpFileSource::StartFrom(Micros replay_from, const DurablePosition& saved) {
  skip_upto_ = replay_from;
  replay_floor_ = replay_from;
  cursors_ = FileCursors{};
  if (!saved.file) return;   // no state: the oldest file from its start
  const FileCursors& s = *saved.file;
  if (s.replay.empty()) {
    cursors_ = s;
    return;
  }
  // The newest checkpoint at or before replay_from (else the oldest one).
  std::size_t pick = 0;
  for (std::size_t i = 0; i < s.replay.size(); ++i) {
    if (s.replay[i].watermark <= replay_from) pick = i;
  }
  cursors_.read = s.replay[pick];
  cursors_.replay.assign(s.replay.begin() + static_cast<std::ptrdiff_t>(pick), s.replay.end());
}

DurablePosition OtlpFileSource::durable_position() const {
  DurablePosition d;
  d.file = cursors_;
  return d;
}

void OtlpFileSource::SetReplayFloor(Micros floor) {
  replay_floor_ = floor;
  // Keep the newest checkpoint at or before the floor and everything after.
  auto& r = cursors_.replay;
  std::size_t keep_from = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r[i].watermark <= floor) keep_from = i;
  }
  if (keep_from > 0) r.erase(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(keep_from));
}

void OtlpFileSource::AddCheckpoint(const FilePosition& p) {
  auto& r = cursors_.replay;
  const Micros lookback = options_.cold_start_lookback_ms ? *options_.cold_start_lookback_ms * 1000 : 3600000000LL;
  const Micros step = std::max<Micros>(lookback / 16, 1000000);
  if (!r.empty() && (r.back().dev != p.dev || r.back().ino != p.ino || r.back().offset != p.offset) &&
      p.watermark < r.back().watermark + step) {
    return;
  }
  if (!r.empty() && r.back() == p) return;
  r.push_back(p);
  SetReplayFloor(replay_floor_);
  if (r.size() > kMaxCheckpoints) r.erase(r.begin() + 1);   // thin the oldest but one
}

// Reads one file from an offset, line by line (or zstd message by message).
struct OtlpFileSource::Reader {
  OtlpFileSource& src;
  int fd;
  bool finished;          // a rotated file: nothing more will be written
  std::string long_line;  // a line crossing read chunks
  bool skipping = false;  // inside a line longer than max_line_bytes
  std::uint64_t skip_start = 0;

  // Calls on_line(text, end_offset) for every whole line from `start`;
  // on_line returns false to stop (then the reader stops at that line's start
  // or end, as on_line decides through the position it commits). Returns the
  // offset after the last whole line handed over (and accepted), and sets
  // *eof when the end of the file was reached.
  template <class OnLine, class OnLong>
  std::uint64_t Lines(std::uint64_t start, OnLine&& on_line, OnLong&& on_long, bool* eof) {
    auto& buf = src.buf_;
    const std::size_t max_line = static_cast<std::size_t>(src.cfg_.otlp.max_line_bytes);
    if (buf.size() < kChunk + decode::kOtlpPadding) buf.assign(kChunk + decode::kOtlpPadding, 0);
    std::uint64_t pos = start;        // file offset of buf[0]
    std::uint64_t line_start = start;
    *eof = false;
    for (;;) {
      ssize_t n;
      do {
        n = ::pread(fd, buf.data(), kChunk, static_cast<off_t>(pos));
      } while (n < 0 && errno == EINTR);
      if (n < 0) throw PollFailure(ErrorKind::kQuery, Errno("cannot read", "file"));
      if (n == 0) {
        *eof = true;
        if (finished && (skipping || !long_line.empty())) {
          // The last line of a rotated file without its newline.
          if (skipping) {
            on_long(skip_start, pos);
          } else {
            long_line.append(decode::kOtlpPadding, '\0');
            const std::string_view text(long_line.data(), long_line.size() - decode::kOtlpPadding);
            if (!on_line(text, pos)) return line_start;
          }
          long_line.clear();
          skipping = false;
          return pos;
        }
        return line_start;
      }
      const char* b = buf.data();
      const char* e = b + n;
      const char* s = b;
      while (s < e) {
        const char* nl = static_cast<const char*>(std::memchr(s, '\n', static_cast<std::size_t>(e - s)));
        if (nl == nullptr) break;
        const std::uint64_t end_off = pos + static_cast<std::uint64_t>(nl - b) + 1;
        bool go = true;
        if (skipping) {
          on_long(skip_start, end_off);
          skipping = false;
        } else if (!long_line.empty()) {
          if (long_line.size() + static_cast<std::size_t>(nl - s) > max_line) {
            on_long(line_start, end_off);
          } else {
            long_line.append(s, nl);
            const std::size_t len = long_line.size();
            long_line.append(decode::kOtlpPadding, '\0');
            go = on_line(std::string_view(long_line.data(), len), end_off);
          }
          long_line.clear();
          long_line.shrink_to_fit();
        } else if (static_cast<std::size_t>(nl - s) > max_line) {
          on_long(line_start, end_off);
        } else {
          // Bytes after the line (the rest of the chunk, then the padding) are readable.
          go = on_line(std::string_view(s, static_cast<std::size_t>(nl - s)), end_off);
        }
        if (!go) return line_start;
        line_start = end_off;
        s = nl + 1;
      }
      // The rest of the chunk is the start of a line.
      if (!skipping && s < e) {
        if (long_line.size() + static_cast<std::size_t>(e - s) > max_line) {
          skipping = true;
          skip_start = line_start;
          long_line.clear();
          long_line.shrink_to_fit();
        } else {
          long_line.append(s, e);
        }
      }
      pos += static_cast<std::uint64_t>(n);
    }
  }
};

PollResult OtlpFileSource::Poll() {
  const auto started = std::chrono::steady_clock::now();
  PollResult out;
  out.report = detail::StartReport(name_, SourceKind::kTraces);
  PollReport& report = out.report;
  detail::PageTally tally;
  const auto& o = cfg_.otlp;
  const Micros ooo = cfg_.out_of_order_ms * 1000;
  std::string fail_msg;
  ErrorKind fail_kind = ErrorKind::kQuery;
  try {
    if (stop_.load()) throw PollFailure(ErrorKind::kQuery, kStoppedError);
    const Micros now = WallNow();
    const Micros horizon = now - ooo;

    // The files: rotated siblings (by name) then the live one.
    std::string dir, live_name;
    SplitPath(o.path, dir, live_name);
    struct stat live_st {};
    if (::stat(o.path.c_str(), &live_st) != 0) throw PollFailure(ErrorKind::kConnect, Errno("cannot stat", o.path));
    std::vector<FileEntry> files;
    if (DIR* d = ::opendir(dir.c_str())) {
      std::vector<std::string> names;
      while (const dirent* de = ::readdir(d)) {
        if (IsRotatedName(live_name, de->d_name)) names.emplace_back(de->d_name);
      }
      ::closedir(d);
      std::sort(names.begin(), names.end());
      for (const auto& n : names) {
        FileEntry f;
        f.path = dir + "/" + n;
        struct stat st {};
        if (::stat(f.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        f.dev = static_cast<std::uint64_t>(st.st_dev);
        f.ino = static_cast<std::uint64_t>(st.st_ino);
        f.size = static_cast<std::uint64_t>(st.st_size);
        files.push_back(std::move(f));
      }
    } else {
      throw PollFailure(ErrorKind::kConnect, Errno("cannot list", dir));
    }
    {
      FileEntry f;
      f.path = o.path;
      f.dev = static_cast<std::uint64_t>(live_st.st_dev);
      f.ino = static_cast<std::uint64_t>(live_st.st_ino);
      f.size = static_cast<std::uint64_t>(live_st.st_size);
      f.live = true;
      // The live file may also be listed as a sibling (hard link): keep it once, last.
      files.erase(std::remove_if(files.begin(), files.end(),
                                 [&](const FileEntry& x) { return x.dev == f.dev && x.ino == f.ino; }),
                  files.end());
      files.push_back(std::move(f));
    }

    // Where to start.
    FileCursors next = cursors_;
    std::size_t idx = 0;
    if (next.read.ino == 0 && next.read.dev == 0) {
      next.read = FilePosition{files[0].dev, files[0].ino, 0, kMinMicros};
      AddCheckpoint(next.read);
      next.replay = cursors_.replay;
    } else {
      auto it = std::find_if(files.begin(), files.end(), [&](const FileEntry& f) {
        return f.dev == next.read.dev && f.ino == next.read.ino;
      });
      if (it == files.end()) {
        ++report.errors[static_cast<int>(ErrorKind::kQuery)];
        log_.Log(LogLevel::kError, "the file being read disappeared before it was finished; its unread spans are lost",
                 {{"dev", std::to_string(next.read.dev)},
                  {"inode", std::to_string(next.read.ino)},
                  {"offset", std::to_string(next.read.offset)},
                  {"continuing_with", files[0].path}});
        next.read = FilePosition{files[0].dev, files[0].ino, 0, next.read.watermark};
      } else {
        idx = static_cast<std::size_t>(it - files.begin());
        if (it->size < next.read.offset) {
          log_.Log(LogLevel::kWarn, "file truncated; reading it again from the start",
                   {{"path", it->path}, {"offset", std::to_string(next.read.offset)},
                    {"size", std::to_string(it->size)}});
          next.read.offset = 0;
        }
      }
    }

    TraceBatch batch;
    batch.source = name_;
    const std::int64_t page_rows = cfg_.batch_size <= 0 ? 1 : cfg_.batch_size;
    const std::int64_t max_rows = options_.max_rows_per_poll;
    std::int64_t rows_this_poll = 0, rows_in_page = 0;
    bool stop_reading = false, reached_live_end = false, at_read_limit = false;
    std::uint64_t lines = 0;

    auto deliver = [&] {
      if (sink_ && rows_in_page > 0) {
        TraceBatch page;
        page.source = name_;
        page.spans = std::move(batch.spans);
        batch.spans.clear();
        detail::DeliverPage(sink_, Batch(std::move(page)), cursors_, next);
        tally.Delivered();
        AddCheckpoint(next.read);
        next.replay = cursors_.replay;
      }
      rows_in_page = 0;
    };

    for (; idx < files.size() && !stop_reading; ++idx) {
      const FileEntry& fe = files[idx];
      if (idx > 0 && !(fe.dev == next.read.dev && fe.ino == next.read.ino)) {
        next.read = FilePosition{fe.dev, fe.ino, 0, next.read.watermark};
      }
      Fd fd(::open(fe.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.fd < 0) {
        if (errno == ENOENT) break;   // rotated away meanwhile: the next poll lists again
        throw PollFailure(ErrorKind::kConnect, Errno("cannot open", fe.path));
      }
      struct stat st {};
      if (::fstat(fd.fd, &st) != 0) throw PollFailure(ErrorKind::kConnect, Errno("cannot stat", fe.path));
      if (!SameFile(next.read, st)) break;   // replaced since the listing: the next poll lists again
      const bool finished = !fe.live;

      auto on_line = [&](std::string_view text, std::uint64_t end_off) -> bool {
        if ((++lines & 255) == 0 && stop_.load()) throw PollFailure(ErrorKind::kQuery, kStoppedError);
        if (text.empty() || (text.size() == 1 && text[0] == '\r')) {
          next.read.offset = end_off;
          return true;
        }
        const std::size_t before = batch.spans.size();
        decode::OtlpLineResult r = parser_.Parse(text, batch.spans);
        if (r.min_start_us != kMaxMicros && r.min_start_us > read_limit_) {
          batch.spans.resize(before);   // backpressure: this line waits
          stop_reading = true;
          at_read_limit = true;
          return false;
        }
        // Spans from before the starting point are not read (as a SQL cursor).
        if (skip_upto_ != kMinMicros) {
          const auto first = batch.spans.begin() + static_cast<std::ptrdiff_t>(before);
          const auto keep = std::remove_if(first, batch.spans.end(),
                                           [&](const SpanRow& s) { return s.start <= skip_upto_; });
          r.rows -= static_cast<std::uint64_t>(batch.spans.end() - keep);
          batch.spans.erase(keep, batch.spans.end());
        }
        const auto at = [&] { return fe.path + ":" + std::to_string(end_off); };
        if (!r.line_error.empty()) {
          tally.Bad(report);
          log_.BadRow("spans", at(), r.line_error);
        }
        for (const auto& err : r.span_errors) {
          tally.Bad(report);
          log_.BadRow("spans", at(), err);
        }
        for (std::uint64_t i = 0; i < r.rows; ++i) tally.Row();
        report.rows_read += r.rows;
        rows_this_poll += static_cast<std::int64_t>(r.rows);
        rows_in_page += static_cast<std::int64_t>(r.rows);
        if (r.max_end_us != kMinMicros) {
          next.read.watermark = std::max(next.read.watermark, std::min(r.max_end_us, now) - ooo);
        }
        next.read.offset = end_off;
        if (rows_in_page >= page_rows) deliver();
        if (max_rows > 0 && rows_this_poll >= max_rows) {
          out.more = true;
          stop_reading = true;
          return false;
        }
        return true;
      };
      auto on_long = [&](std::uint64_t start, std::uint64_t end_off) {
        tally.Bad(report);
        log_.BadRow("spans", fe.path + ":" + std::to_string(start),
                    "line of " + std::to_string(end_off - start) + " bytes is longer than max_line_bytes (" +
                        std::to_string(o.max_line_bytes) + "); skipped");
        next.read.offset = end_off;
      };

      bool eof = false;
      if (o.compression == "zstd") {
        // 4-byte big-endian length + one zstd frame per message.
        std::uint64_t off = next.read.offset;
        std::string frame, text;
        for (;;) {
          unsigned char hdr[4];
          ssize_t n = ::pread(fd.fd, hdr, 4, static_cast<off_t>(off));
          if (n < 0) throw PollFailure(ErrorKind::kQuery, Errno("cannot read", fe.path));
          if (n < 4) {
            eof = true;
            break;
          }
          if (off == 0 && hdr[0] == 0x28 && hdr[1] == 0xB5 && hdr[2] == 0x2F && hdr[3] == 0xFD) {
            throw PollFailure(ErrorKind::kQuery,
                              fe.path + " is one zstd stream (the Collector's native compression), which cannot be "
                                        "read incrementally; use the exporter's per-message zstd (feature gate "
                                        "off) or no compression");
          }
          const std::uint64_t len = (std::uint64_t{hdr[0]} << 24) | (std::uint64_t{hdr[1]} << 16) |
                                    (std::uint64_t{hdr[2]} << 8) | hdr[3];
          const std::uint64_t end_off = off + 4 + len;
          if (end_off > static_cast<std::uint64_t>(st.st_size)) {
            // Partial message (still being written); re-stat for a file that grew.
            struct stat now_st {};
            if (::fstat(fd.fd, &now_st) != 0 || end_off > static_cast<std::uint64_t>(now_st.st_size)) {
              eof = true;
              break;
            }
            st = now_st;
          }
          if (len > static_cast<std::uint64_t>(o.max_line_bytes)) {
            on_long(off, end_off);
            off = end_off;
            continue;
          }
          frame.resize(len);
          std::size_t got = 0;
          while (got < len) {
            n = ::pread(fd.fd, frame.data() + got, len - got, static_cast<off_t>(off + 4 + got));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw PollFailure(ErrorKind::kQuery, Errno("cannot read", fe.path));
            got += static_cast<std::size_t>(n);
          }
          const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
          std::string err;
          if (size == ZSTD_CONTENTSIZE_ERROR) {
            err = "message is not a zstd frame";
          } else if (size == ZSTD_CONTENTSIZE_UNKNOWN || size > static_cast<unsigned long long>(o.max_line_bytes)) {
            if (size != ZSTD_CONTENTSIZE_UNKNOWN) {
              on_long(off, end_off);
              off = end_off;
              continue;
            }
            err = "zstd frame without a content size";
          } else {
            text.resize(static_cast<std::size_t>(size) + decode::kOtlpPadding);
            const std::size_t r = ZSTD_decompress(text.data(), static_cast<std::size_t>(size), frame.data(), frame.size());
            if (ZSTD_isError(r) || r != size) {
              err = std::string("zstd: ") + (ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size mismatch");
            }
          }
          if (!err.empty()) {
            tally.Bad(report);
            log_.BadRow("spans", fe.path + ":" + std::to_string(off), err);
            next.read.offset = end_off;
            off = end_off;
            continue;
          }
          if (!on_line(std::string_view(text.data(), static_cast<std::size_t>(size)), end_off)) break;
          off = end_off;
        }
      } else {
        Reader rd{*this, fd.fd, finished, {}, false, 0};
        rd.Lines(next.read.offset, on_line, on_long, &eof);
      }
      if (!eof || stop_reading) break;
      if (fe.live) reached_live_end = true;
    }
    if (reached_live_end) next.read.watermark = std::max(next.read.watermark, horizon);
    deliver();
    batch.complete_upto = next.read.watermark;
    // Stopped at the read limit: the lines after it may hold spans that start
    // up to the watermark, so nothing past the limit is complete.
    if (at_read_limit) batch.complete_upto = std::min(batch.complete_upto, read_limit_);
    out.limited = at_read_limit;
    batch.limited = at_read_limit || out.more;
    cursors_ = next;
    AddCheckpoint(cursors_.read);
    report.success = true;
    out.batch = std::move(batch);
    last_error_.clear();
  } catch (const PollFailure& e) {
    fail_kind = e.kind;
    fail_msg = e.what();
  } catch (const std::exception& e) {
    fail_msg = e.what();
  }
  if (!report.success) {
    detail::Fail(report, fail_kind, fail_msg);
    if (stop_.load()) detail::Fail(report, ErrorKind::kQuery, kStoppedError);
    last_error_ = report.error;
    tally.KeepDelivered(report, static_cast<bool>(sink_));
  }
  log_.FlushSuppressed();
  detail::Finish(report, started);
  return out;
}

}  // namespace provledger::source
