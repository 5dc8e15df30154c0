// OtlpFileSource: a trace store of kind otlp_file (config::TraceStore with
// kind kOtlpFile): the OpenTelemetry Collector's file exporter output, one
// OTLP/JSON ExportTraceServiceRequest per line (decode/otlp.hh), read
// incrementally. README "OTLP file trace store" is the user-facing text.
//
// Files: the live file `path` and its rotated siblings, `<stem>-<timestamp><ext>`
// in the same directory (the exporter's rotation renames the live file to
// that name and starts a new one); siblings are ordered by name (the
// timestamps sort), the live file comes last.
//
// Cursor (FileCursors): file identity (st_dev, st_ino) and the byte offset of
// the next unread line, plus the watermark (below). Each Poll():
// - stats the live file (missing: the poll fails, kind connect, cursor kept);
// - finds the cursor's file among siblings + live by identity. Not found (a
//   rotated file deleted before it was finished): reported (error log,
//   poll_errors_total{kind="query"} +1) and reading goes on from the oldest
//   remaining file, offset 0 (the exporter deletes the oldest files first).
//   The file shorter than the offset (truncated in place): logged, read again
//   from offset 0. No position yet: the oldest file, offset 0;
// - reads whole lines from the offset: the cursor's file to its end, then
//   every newer sibling, then the live file; a partial last line of the live
//   file stays for the next poll (the rest of a rotated file is read as a
//   line). Memory: one 1 MiB read buffer plus at most one line; a line longer
//   than max_line_bytes is refused (a decode error naming its offset) and
//   skipped without being buffered;
// - parses each line (decode::OtlpParser): spans are rows as in the
//   PostgreSQL store; a malformed line and each bad span is a decode error
//   (counted, logged rate-limited), and reading goes on. Spans that started
//   at or before the replay_from given to StartFrom are dropped (not rows), as
//   the PostgreSQL store never reads before its starting cursor;
// - stops after the line that reaches max_rows_per_poll rows (more=true), or
//   before a line whose earliest span starts after the read limit (that line
//   is read again by the next poll), or at the end of the live file.
// With a sink, every batch_size rows are handed over as a page and the cursor
// committed past the page's last line (see Source::Poll).
//
// Watermark and complete_upto: out_of_order bounds how long after its start
// a span is written (span duration + export delay). A line holding a span
// that ended at e was written after e, so every span that started at or
// before e - out_of_order is in the file before that line: the watermark is
// max over read lines of min(max end, now) - out_of_order, and reading to the
// end of the live file raises it to (poll start) - out_of_order.
// TraceBatch::complete_upto = the watermark.
//
// Restarts: the state file keeps FileCursors (durable_position): the read
// position and replay checkpoints (positions with their watermark, one per
// ~1/16 of the window + grace, older than the replay floor pruned). A
// restart (StartFrom) resumes at the newest checkpoint whose watermark is at
// or before replay_from: every span that started after replay_from is after
// it, so the engine rebuilds its window exactly as with a PostgreSQL store,
// and counts nothing twice (see compute/engine.hh on restarts).
//
// compression: zstd reads the exporter's framing for compressed JSON: each
// message a 4-byte big-endian length and one zstd frame holding one JSON
// message. A file that is a single zstd stream (the Collector's native
// compression feature gate) is refused with an error saying so.
// RequestStop(): checked between lines; the poll fails with kStoppedError.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hh"
#include "decode/otlp.hh"
#include "source/options.hh"
#include "source/source.hh"
#include "source/source_common.hh"

namespace provledger::source {

class OtlpFileSource final : public detail::StreamSourceBase {
 public:
  explicit OtlpFileSource(const config::TraceStore& store, SourceOptions options = {});
  ~OtlpFileSource() override;

  SourceKind kind() const override { return SourceKind::kTraces; }
  PollResult Poll() override;
  void Close() override {}
  void RequestStop() override { stop_.store(true); }
  void ClearStop() override { stop_.store(false); }

  FileCursors cursors() const { return cursors_; }
  void SetCursors(const FileCursors& c) { cursors_ = c; }

  // Path, compression, attribute keys and span-name filter.
  std::string fingerprint() const override;
  Cursors saved_cursors() const override { return cursors_; }
  void RestoreCursors(const Cursors& c) override;
  void StartFrom(Micros replay_from, const DurablePosition& saved) override;
  DurablePosition durable_position() const override;
  void SetReplayFloor(Micros floor) override;

  // Rotated siblings of `live` in the same directory, oldest first (pure
  // name matching: "<stem>-<anything><ext>"). Exposed for tests.
  static bool IsRotatedName(const std::string& live_name, const std::string& candidate);

 private:
  struct FileEntry;
  struct Reader;
  void AddCheckpoint(const FilePosition& p);

  config::TraceStore cfg_;
  decode::OtlpParser parser_;
  FileCursors cursors_;
  Micros skip_upto_ = kMinMicros;
  Micros replay_floor_ = kMinMicros;
  std::atomic<bool> stop_{false};
  std::vector<char> buf_;   // read buffer (+ padding)
};

}  // namespace provledger::source
