#include "state/state_file.hh"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace provledger::state {

using nlohmann::json;
using compute::HistogramData;
using compute::PersistentState;

namespace {

json Hist(const HistogramData& h) { return {{"buckets", h.bucket_counts}, {"count", h.count}, {"sum", h.sum}}; }

HistogramData Hist(const json& j) {
  HistogramData h;
  h.bucket_counts = j.at("buckets").get<std::vector<std::uint64_t>>();
  h.count = j.at("count").get<std::uint64_t>();
  h.sum = j.at("sum").get<double>();
  return h;
}

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
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
  return j.dump();
}

PersistentState DecodeState(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("state is not valid JSON: ") + e.what());
  }
  try {
    PersistentState st;
    st.version = j.at("version").get<int>();
    if (st.version != PersistentState::kVersion) {
      throw std::runtime_error("state version " + std::to_string(st.version) + " is not supported (want " +
                               std::to_string(PersistentState::kVersion) + ")");
    }
    st.saved_at = j.at("saved_at_us").get<std::int64_t>();
    st.window_end = j.at("window_end_us").get<std::int64_t>();
    for (const auto& [name, c] : j.at("anchored_cursors").items()) {
      st.anchored_cursors[name] = {c.at("ts_us").get<std::int64_t>(), c.at("id").get<std::string>()};
    }
    for (const auto& [t, c] : j.at("settled").items()) {
      st.settled[t] = {c.at("attested").get<std::uint64_t>(), c.at("missing").get<std::uint64_t>(),
                       c.at("divergent").get<std::uint64_t>()};
    }
    st.divergence = j.at("divergence").get<std::map<std::string, std::uint64_t>>();
    st.latency_bounds_ms = j.at("latency_bounds_ms").get<std::vector<double>>();
    st.latency_per_tenant = j.at("latency_per_tenant").get<bool>();
    for (const auto& e : j.at("anchor_latency")) {
      auto h = Hist(e);
      if (h.bucket_counts.size() != st.latency_bounds_ms.size()) {
        throw std::runtime_error("anchor_latency bucket count does not match latency_bounds_ms");
      }
      st.anchor_latency[{e.at("region").get<std::string>(), e.at("tenant").get<std::string>()}] = std::move(h);
    }
    for (const auto& k : j.at("counted_receipt_divergences")) {
      st.counted_receipt_divergences.emplace_back(k.at(0).get<std::uint64_t>(), k.at(1).get<std::int64_t>());
    }
    st.tenants_dropped = j.at("tenants_dropped").get<std::uint64_t>();
    st.dropped_tenants = j.at("dropped_tenants").get<std::vector<std::uint64_t>>();
    return st;
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("state has a missing or mistyped field: ") + e.what());
  }
}

void WriteStateFile(const std::string& path, const PersistentState& st) {
  const std::string data = EncodeState(st);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Fail("cannot create", tmp);
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      errno = saved;
      Fail("cannot write", tmp);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    Fail("cannot fsync", tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) Fail("cannot rename to", path);
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);   // best effort: the rename is durable once the directory is
    ::close(dfd);
  }
}

std::optional<PersistentState> ReadStateFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    Fail("cannot open", path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return DecodeState(ss.str());
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace provledger::state
