// Evidence export jobs: the record kept per job (in memory and as job.json
// in the job's directory), the request body of POST /api/v1/evidence/exports
// and the retention / disk-budget rule. Pure: no I/O, `now` is an argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evidence/export.hh"
#include "evidence/model.hh"

namespace provledger::evidence_api {

inline constexpr std::string_view kApiPath = "/api/v1/evidence/exports";

enum class JobState { kQueued, kRunning, kDone, kFailed };
const char* JobStateName(JobState s);   // "queued", "running", "done", "failed"

struct JobRecord {
  std::string id;                 // 32 lower-case hex digits (128 random bits)
  evidence::Query query;          // tenant + op ids or [from, to)
  JobState state = JobState::kQueued;
  Micros created_at = 0;          // Unix microseconds
  Micros started_at = 0;          // 0 = not started
  Micros finished_at = 0;         // 0 = not finished
  std::string phase;              // progress: what it is doing ("ledger eu", "writing bundle")
  std::uint64_t progress_done = 0, progress_total = 0;
  std::string error;              // failed: why
  std::uint64_t bundle_bytes = 0; // done: size of bundle.zip
  evidence::ExportSummary summary;   // done
};

bool IsJobId(std::string_view s);

// job.json (and the status response, which adds URLs) of a record.
std::string RecordToJson(const JobRecord& r);
// Reads job.json; nullopt (and *error) when it is not a record.
std::optional<JobRecord> RecordFromJson(std::string_view text, std::string* error);

// The body of POST /api/v1/evidence/exports:
//   {"tenant": "T", "op_ids": ["a", "b"]}  or
//   {"tenant": "T", "from": TIME, "to": TIME}
// TIME: RFC 3339 UTC string or Unix seconds (number or string), from < to.
// Unknown keys, both or neither selection, empty or over-long strings,
// duplicate-free lists over max_ops entries are refused with a message.
struct ParsedRequest {
  std::optional<evidence::Query> query;
  std::string error;   // when !query: for a 400 body
};
ParsedRequest ParseExportRequest(std::string_view body, std::size_t max_ops);

// Which finished jobs (done or failed) to delete: every job finished at or
// before now - retention; then, newest first, done bundles are kept while
// their sizes add up to at most `budget` bytes and the older rest is
// deleted. Queued and running jobs are never chosen. Sorted ids.
std::vector<std::string> SweepPlan(const std::vector<JobRecord>& jobs, Micros now, Micros retention,
                                   std::uint64_t budget);

}  // namespace provledger::evidence_api
