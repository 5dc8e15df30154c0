#include "state/state_file.hh"

#include "state/atomic_file.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "config/yaml_document.hh"
#include "decode/decode.hh"
#include "decode/utf8.hh"

namespace provledger::state {

using nlohmann::json;
using compute::HistogramData;
using compute::PersistentState;

namespace {

json Hist(const HistogramData& h) { return {{"buckets", h.bucket_counts}, {"count", h.count}, {"sum", h.sum}}; }

[[noreturn]] void Unusable(const std::string& what) { throw UnusableState(what); }

// nlohmann converts -1 to 2^64-1 for get<uint64_t>(): counters must be
// written as unsigned JSON integers.
std::uint64_t Count(const json& j, const char* what) {
  if (!j.is_number_unsigned()) Unusable(std::string(what) + " must be a non-negative integer");
  return j.get<std::uint64_t>();
}

std::vector<std::uint64_t> Counts(const json& j, const char* what) {
  if (!j.is_array()) Unusable(std::string(what) + " must be a list");
  std::vector<std::uint64_t> out;
  out.reserve(j.size());
  for (const auto& v : j) out.push_back(Count(v, what));
  return out;
}

HistogramData Hist(const json& j) {
  HistogramData h;
  h.bucket_counts = Counts(j.at("buckets"), "anchor_latency buckets");
  h.count = Count(j.at("count"), "anchor_latency count");
  h.sum = j.at("sum").get<double>();
  return h;
}

bool TimeOk(Micros t, Micros now) {
  return t >= now - kMaxStatePastUs && t <= now + kMaxStateFutureUs;
}

std::string TimeProblem(const std::string& what, Micros t, Micros now) {
  return what + " " + std::to_string(t) + " is outside [now - 10 years, now + 1 day] (now " + std::to_string(now) +
         ")";
}

std::string TenantProblem(const std::string& where, const std::string& name) {
  // Names in the state were admitted by decode's rule; a longer bound than
  // tenants.max_name_bytes, which may have changed since.
  std::string why = decode::ValidateTenant(name, 4096);
  return why.empty() ? why : where + ": " + why;
}

// dev and ino as decimal strings (they may not fit a JSON reader's doubles).
json FilePos(const FilePosition& p) {
  return {{"dev", std::to_string(p.dev)}, {"ino", std::to_string(p.ino)}, {"offset", p.offset},
          {"watermark_us", p.watermark}};
}

std::uint64_t U64(const json& j, const char* key) {
  const std::string s = j.at(key).get<std::string>();
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || s[0] < '0' || s[0] > '9') {
    Unusable(std::string("file cursor ") + key + " is not a decimal integer: " + decode::Printable(s, 40));
  }
  return v;
}

FilePosition FilePos(const json& j) {
  FilePosition p;
  p.dev = U64(j, "dev");
  p.ino = U64(j, "ino");
  p.offset = j.at("offset").get<std::uint64_t>();
  p.watermark = j.at("watermark_us").get<std::int64_t>();
  return p;
}

}  // namespace

std::string EncodeState(const PersistentState& st) {
  json j;
  j["version"] = st.version;
  j["saved_at_us"] = st.saved_at;
  j["window_end_us"] = st.window_end;
  json cursors = json::object();
  for (const auto& [name, pos] : st.anchored_cursors) cursors[name] = {{"ts_us", pos.ts}, {"id", pos.id}};
  j["anchored_cursors"] = cursors;
  json settled = json::object();
  for (const auto& [t, c] : st.settled) {
    settled[t] = {{"attested", c.attested}, {"missing", c.missing}, {"divergent", c.divergent}};
  }
  j["settled"] = settled;
  j["divergence"] = st.divergence;
  j["latency_bounds_ms"] = st.latency_bounds_ms;
  j["latency_per_tenant"] = st.latency_per_tenant;
  json lat = json::array();
  for (const auto& [key, h] : st.anchor_latency) {
    json e = Hist(h);
    e["region"] = key.first;
    e["tenant"] = key.second;
    lat.push_back(std::move(e));
  }
  j["anchor_latency"] = lat;
  json keys = json::array();
  for (const auto& [k, created] : st.counted_receipt_divergences) keys.push_back({k, created});
  j["counted_receipt_divergences"] = keys;
  j["tenants_dropped"] = st.tenants_dropped;
  j["dropped_tenants"] = st.dropped_tenants;
  if (!st.file_cursors.empty()) {
    json files = json::object();
    for (const auto& [name, c] : st.file_cursors) {
      json replay = json::array();
      for (const auto& p : c.replay) replay.push_back(FilePos(p));
      files[name] = {{"read", FilePos(c.read)}, {"replay", replay}};
    }
    j["file_cursors"] = files;
  }
  return j.dump();
}

PersistentState DecodeState(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    // nlohmann quotes the bytes it read: escape them (they may be anything).
    Unusable("state is not valid JSON: " + decode::Printable(e.what(), 200));
  }
  try {
    PersistentState st;
    st.version = j.at("version").get<int>();
    if (st.version != PersistentState::kVersion) {
      Unusable("state version " + std::to_string(st.version) + " is not supported (want " +
               std::to_string(PersistentState::kVersion) + ")");
    }
    st.saved_at = j.at("saved_at_us").get<std::int64_t>();
    st.window_end = j.at("window_end_us").get<std::int64_t>();
    for (const auto& [name, c] : j.at("anchored_cursors").items()) {
      st.anchored_cursors[name] = {c.at("ts_us").get<std::int64_t>(), c.at("id").get<std::string>()};
    }
    for (const auto& [t, c] : j.at("settled").items()) {
      st.settled[t] = {Count(c.at("attested"), "settled"), Count(c.at("missing"), "settled"),
                       Count(c.at("divergent"), "settled")};
    }
    for (const auto& [t, n] : j.at("divergence").items()) st.divergence[t] = Count(n, "divergence");
    st.latency_bounds_ms = j.at("latency_bounds_ms").get<std::vector<double>>();
    st.latency_per_tenant = j.at("latency_per_tenant").get<bool>();
    for (const auto& e : j.at("anchor_latency")) {
      auto h = Hist(e);
      if (h.bucket_counts.size() != st.latency_bounds_ms.size()) {
        Unusable("anchor_latency bucket count does not match latency_bounds_ms");
      }
      st.anchor_latency[{e.at("region").get<std::string>(), e.at("tenant").get<std::string>()}] = std::move(h);
    }
    for (const auto& k : j.at("counted_receipt_divergences")) {
      st.counted_receipt_divergences.emplace_back(Count(k.at(0), "counted_receipt_divergences key"),
                                                  k.at(1).get<std::int64_t>());
    }
    st.tenants_dropped = Count(j.at("tenants_dropped"), "tenants_dropped");
    st.dropped_tenants = Counts(j.at("dropped_tenants"), "dropped_tenants");
    // Added with the otlp_file store; older state files have none.
    if (auto it = j.find("file_cursors"); it != j.end()) {
      for (const auto& [name, c] : it->items()) {
        FileCursors fc;
        fc.read = FilePos(c.at("read"));
        for (const auto& p : c.at("replay")) fc.replay.push_back(FilePos(p));
        st.file_cursors[name] = std::move(fc);
      }
    }
    return st;
  } catch (const json::exception& e) {
    Unusable("state has a missing or mistyped field: " + decode::Printable(e.what(), 200));
  }
}

std::string PlausibilityProblem(const PersistentState& st, Micros now) {
  if (!TimeOk(st.saved_at, now)) return TimeProblem("saved_at_us", st.saved_at, now);
  if (st.window_end != kMinMicros && !TimeOk(st.window_end, now)) {
    return TimeProblem("window_end_us", st.window_end, now);
  }
  for (const auto& [name, pos] : st.anchored_cursors) {
    const std::string where = "anchored_cursors[" + decode::Printable(name) + "]";
    if (pos.ts != kMinMicros && !TimeOk(pos.ts, now)) return TimeProblem(where + ".ts_us", pos.ts, now);
    if (pos.id.size() > 4096 || !decode::IsValidUtf8(pos.id)) return where + ".id is not a plausible row id";
  }
  auto counter = [](const std::string& what, std::uint64_t v) {
    return v > kMaxStateCounter ? what + " " + std::to_string(v) + " is larger than 2^53" : std::string();
  };
  for (const auto& [tenant, c] : st.settled) {
    if (auto p = TenantProblem("settled", tenant); !p.empty()) return p;
    for (std::uint64_t v : {c.attested, c.missing, c.divergent}) {
      if (auto p = counter("settled[" + tenant + "]", v); !p.empty()) return p;
    }
  }
  for (const auto& [tenant, n] : st.divergence) {
    if (auto p = TenantProblem("divergence", tenant); !p.empty()) return p;
    if (auto p = counter("divergence[" + tenant + "]", n); !p.empty()) return p;
  }
  for (std::size_t i = 0; i < st.latency_bounds_ms.size(); ++i) {
    const double b = st.latency_bounds_ms[i];
    if (!std::isfinite(b) || b <= 0 || (i > 0 && b <= st.latency_bounds_ms[i - 1])) {
      return "latency_bounds_ms must be positive, finite and increasing";
    }
  }
  for (const auto& [key, h] : st.anchor_latency) {
    if (!key.second.empty()) {
      if (auto p = TenantProblem("anchor_latency", key.second); !p.empty()) return p;
    }
    if (auto p = counter("anchor_latency count", h.count); !p.empty()) return p;
    std::uint64_t in_buckets = 0;
    for (std::uint64_t b : h.bucket_counts) {
      if (b > h.count - in_buckets) return "anchor_latency buckets add up to more than its count";
      in_buckets += b;
    }
    if (!std::isfinite(h.sum) || h.sum < 0) return "anchor_latency sum must be finite and non-negative";
  }
  for (const auto& [key, created] : st.counted_receipt_divergences) {
    if (!TimeOk(created, now)) return TimeProblem("counted_receipt_divergences created time", created, now);
  }
  if (auto p = counter("tenants_dropped", st.tenants_dropped); !p.empty()) return p;
  if (st.tenants_dropped < st.dropped_tenants.size()) return "tenants_dropped is less than the dropped tenants listed";
  return "";
}

void WriteStateFile(const std::string& path, const PersistentState& st) {
  WriteFileAtomic(path, EncodeState(st), 0600);
}

std::optional<PersistentState> ReadStateFile(const std::string& path, Micros now) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0 && errno == ENOENT) return std::nullopt;
  std::string text;
  if (std::string why = config::ReadBoundedFile(path, kMaxStateFileBytes, text, "state file"); !why.empty()) {
    Unusable(path + ": " + why);
  }
  PersistentState st;
  try {
    st = DecodeState(text);
  } catch (const std::exception& e) {
    Unusable(path + ": " + e.what());
  }
  if (std::string p = PlausibilityProblem(st, now); !p.empty()) Unusable(path + ": implausible value: " + decode::Printable(p, 300));
  return st;
}

std::string SetAsideUnusable(const std::string& path, std::string* error) {
  const std::string aside = path + ".unusable";
  if (::rename(path.c_str(), aside.c_str()) != 0) {
    if (error != nullptr) *error = std::strerror(errno);
    return "";
  }
  return aside;
}

}  // namespace provledger::state
