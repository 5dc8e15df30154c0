#include "evidence_api/jobs.hh"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "evidence/cli.hh"

namespace provledger::evidence_api {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxTenantBytes = 256;
constexpr std::size_t kMaxOpIdBytes = 1024;

json QueryJson(const evidence::Query& q) {
  json j{{"tenant", q.tenant}};
  if (!q.op_ids.empty()) j["op_ids"] = q.op_ids;
  if (q.from) j["from_us"] = *q.from;
  if (q.to) j["to_us"] = *q.to;
  return j;
}

// A time value of the request: RFC 3339 UTC string, or Unix seconds.
bool TimeOf(const json& v, Micros* out) {
  long long us = 0;
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!(d >= 0 && d < 253402300800.0)) return false;
    *out = static_cast<Micros>(d * 1e6);
    return true;
  }
  if (v.is_string() && evidence::ParseTime(v.get<std::string>(), &us)) {
    *out = us;
    return true;
  }
  return false;
}

}  // namespace

const char* JobStateName(JobState s) {
  switch (s) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
  }
  return "failed";
}

bool IsJobId(std::string_view s) {
  if (s.size() != 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string RecordToJson(const JobRecord& r) {
  json j{{"id", r.id},
         {"tenant", r.query.tenant},
         {"query", QueryJson(r.query)},
         {"state", JobStateName(r.state)},
         {"created_at_us", r.created_at},
         {"started_at_us", r.started_at},
         {"finished_at_us", r.finished_at},
         {"progress", {{"phase", r.phase}, {"done", r.progress_done}, {"total", r.progress_total}}},
         {"error", r.error},
         {"bundle_bytes", r.bundle_bytes}};
  if (r.state == JobState::kDone) {
    j["summary"] = {{"operations", r.summary.operations},
                    {"receipts", r.summary.receipts},
                    {"inclusion_proofs", r.summary.inclusion_proofs},
                    {"outcomes", r.summary.outcomes},
                    {"files", r.summary.files},
                    {"warnings", r.summary.warnings}};
  }
  return j.dump();
}

std::optional<JobRecord> RecordFromJson(std::string_view text, std::string* error) {
  try {
    const json j = json::parse(text);
    JobRecord r;
    r.id = j.at("id").get<std::string>();
    if (!IsJobId(r.id)) throw std::runtime_error("bad id");
    const json& q = j.at("query");
    r.query.tenant = q.at("tenant").get<std::string>();
    if (q.contains("op_ids")) r.query.op_ids = q.at("op_ids").get<std::vector<std::string>>();
    if (q.contains("from_us")) r.query.from = q.at("from_us").get<Micros>();
    if (q.contains("to_us")) r.query.to = q.at("to_us").get<Micros>();
    const std::string state = j.at("state").get<std::string>();
    if (state == "queued") r.state = JobState::kQueued;
    else if (state == "running") r.state = JobState::kRunning;
    else if (state == "done") r.state = JobState::kDone;
    else if (state == "failed") r.state = JobState::kFailed;
    else throw std::runtime_error("unknown state " + state);
    r.created_at = j.at("created_at_us").get<Micros>();
    r.started_at = j.at("started_at_us").get<Micros>();
    r.finished_at = j.at("finished_at_us").get<Micros>();
    const json& p = j.at("progress");
    r.phase = p.at("phase").get<std::string>();
    r.progress_done = p.at("done").get<std::uint64_t>();
    r.progress_total = p.at("total").get<std::uint64_t>();
    r.error = j.at("error").get<std::string>();
    r.bundle_bytes = j.at("bundle_bytes").get<std::uint64_t>();
    if (j.contains("summary")) {
      const json& s = j.at("summary");
      r.summary.operations = s.at("operations").get<std::size_t>();
      r.summary.receipts = s.at("receipts").get<std::size_t>();
      r.summary.inclusion_proofs = s.at("inclusion_proofs").get<std::size_t>();
      r.summary.outcomes = s.at("outcomes").get<std::map<std::string, int>>();
      r.summary.files = s.at("files").get<std::size_t>();
      r.summary.warnings = s.at("warnings").get<std::vector<std::string>>();
    }
    return r;
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
}

ParsedRequest ParseExportRequest(std::string_view body, std::size_t max_ops) {
  ParsedRequest out;
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception&) {
    out.error = "the body is not JSON";
    return out;
  }
  if (!j.is_object()) {
    out.error = "the body must be a JSON object";
    return out;
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "tenant" && k != "op_ids" && k != "from" && k != "to") {
      out.error = "unknown key \"" + k.substr(0, 60) + "\" (allowed: tenant, op_ids, from, to)";
      return out;
    }
  }
  evidence::Query q;
  if (!j.contains("tenant") || !j["tenant"].is_string() || j["tenant"].get<std::string>().empty() ||
      j["tenant"].get<std::string>().size() > kMaxTenantBytes) {
    out.error = "\"tenant\" must be a non-empty string of at most " + std::to_string(kMaxTenantBytes) + " bytes";
    return out;
  }
  q.tenant = j["tenant"].get<std::string>();
  const bool ids = j.contains("op_ids");
  const bool range = j.contains("from") || j.contains("to");
  if (ids == range) {
    out.error = "give either \"op_ids\" or both \"from\" and \"to\"";
    return out;
  }
  if (ids) {
    const json& a = j["op_ids"];
    if (!a.is_array() || a.empty()) {
      out.error = "\"op_ids\" must be a non-empty list of strings";
      return out;
    }
    if (a.size() > max_ops) {
      out.error = "\"op_ids\" has " + std::to_string(a.size()) + " entries, over the limit of " +
                  std::to_string(max_ops) + " operations per export (evidence.api.max_operations)";
      return out;
    }
    for (const auto& v : a) {
      if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > kMaxOpIdBytes) {
        out.error = "every op id must be a non-empty string of at most " + std::to_string(kMaxOpIdBytes) + " bytes";
        return out;
      }
      q.op_ids.push_back(v.get<std::string>());
    }
  } else {
    Micros from = 0, to = 0;
    if (!j.contains("from") || !j.contains("to") || !TimeOf(j["from"], &from) || !TimeOf(j["to"], &to) ||
        from >= to) {
      out.error = "\"from\" and \"to\" must both be times (RFC 3339 UTC or Unix seconds) with from < to";
      return out;
    }
    q.from = from;
    q.to = to;
  }
  out.query = std::move(q);
  return out;
}

std::vector<std::string> SweepPlan(const std::vector<JobRecord>& jobs, Micros now, Micros retention,
                                   std::uint64_t budget) {
  std::vector<std::string> out;
  std::vector<const JobRecord*> kept_done;
  for (const JobRecord& r : jobs) {
    if (r.state != JobState::kDone && r.state != JobState::kFailed) continue;
    if (r.finished_at <= now - retention) {
      out.push_back(r.id);
    } else if (r.state == JobState::kDone) {
      kept_done.push_back(&r);
    }
  }
  std::sort(kept_done.begin(), kept_done.end(), [](const JobRecord* a, const JobRecord* b) {
    return a->finished_at != b->finished_at ? a->finished_at > b->finished_at : a->id > b->id;
  });
  std::uint64_t used = 0;
  bool full = false;
  for (const JobRecord* r : kept_done) {
    if (!full && used + r->bundle_bytes <= budget) {
      used += r->bundle_bytes;
    } else {
      full = true;   // everything older goes too, even if it would fit
      out.push_back(r->id);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace provledger::evidence_api
