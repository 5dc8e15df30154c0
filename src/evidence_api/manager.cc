#include "evidence_api/manager.hh"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "evidence/export.hh"
#include "merkle/merkle.hh"
#include "pq/error.hh"
#include "state/atomic_file.hh"

namespace provledger::evidence_api {
namespace {

namespace fs = std::filesystem;

Micros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewJobId() {
  std::uint8_t b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("cannot draw a random job id (RAND_bytes)");
  return merkle::ToHex(std::span<const std::uint8_t>(b, sizeof b));
}

struct Stopped {};

constexpr const char* kStoppedRunning =
    "the exporter stopped while the job was running; the bundle was not finished (submit the export again)";
constexpr const char* kStoppedQueued = "the exporter stopped before the job started (submit the export again)";

}  // namespace

JobManager::JobManager(config::Config cfg, evidence::SigningKey key)
    : api_(cfg.evidence.api), key_(std::move(key)), cfg_(std::make_shared<const config::Config>(std::move(cfg))) {
  duration_.bucket_counts.assign(buckets_.size(), 0);
}

JobManager::~JobManager() { Stop(); }

std::string JobManager::JobDir(const std::string& id) const { return (fs::path(api_.job_dir) / id).string(); }
std::string JobManager::BundlePath(const std::string& id) const { return (fs::path(JobDir(id)) / "bundle.zip").string(); }

void JobManager::Persist(const JobRecord& r) const {
  state::WriteFileAtomic((fs::path(JobDir(r.id)) / "job.json").string(), RecordToJson(r), 0600);
}

void JobManager::SetOnChange(std::function<void()> f) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(f);
}

void JobManager::Notify() {
  std::function<void()> f;
  {
    std::lock_guard lock(mu_);
    f = on_change_;
  }
  if (f) f();
}

void JobManager::UpdateSources(config::Config cfg) {
  auto next = std::make_shared<const config::Config>(std::move(cfg));
  std::lock_guard lock(mu_);
  cfg_ = std::move(next);
}

void JobManager::Start() {
  std::error_code ec;
  if (!fs::exists(api_.job_dir, ec)) {
    if (::mkdir(api_.job_dir.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::runtime_error("evidence.api.job_dir " + api_.job_dir + ": cannot create: " + std::strerror(errno));
  }
  if (!fs::is_directory(api_.job_dir, ec))
    throw std::runtime_error("evidence.api.job_dir " + api_.job_dir + ": not a directory");
  if (::access(api_.job_dir.c_str(), W_OK | X_OK) != 0)
    throw std::runtime_error("evidence.api.job_dir " + api_.job_dir + ": not writable: " + std::strerror(errno));
  const Micros now = NowMicros();
  std::vector<JobRecord> recovered;
  fs::directory_iterator it(api_.job_dir, ec);
  if (ec) throw std::runtime_error("evidence.api.job_dir " + api_.job_dir + ": cannot read: " + ec.message());
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!IsJobId(name) || !entry.is_directory()) {
      spdlog::warn("evidence api: ignoring {} in job_dir (not a job)", entry.path().string());
      continue;
    }
    std::ifstream in(entry.path() / "job.json", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string why;
    std::optional<JobRecord> r = in ? RecordFromJson(ss.str(), &why) : std::nullopt;
    if (!r || r->id != name) {
      spdlog::warn("evidence api: removing job directory {}: unreadable job.json ({})", entry.path().string(),
                   r ? "id mismatch" : (in ? why : "missing"));
      fs::remove_all(entry.path(), ec);
      continue;
    }
    fs::remove(entry.path() / "bundle.zip.tmp", ec);
    bool changed = false;
    if (r->state == JobState::kQueued || r->state == JobState::kRunning) {
      r->error = r->state == JobState::kRunning
                     ? "the exporter restarted while the job was running; the bundle was not finished (submit the "
                       "export again)"
                     : "the exporter restarted before the job started (submit the export again)";
      r->state = JobState::kFailed;
      r->finished_at = now;
      ++failed_;
      changed = true;
    } else if (r->state == JobState::kDone && !fs::is_regular_file(BundlePath(r->id), ec)) {
      r->state = JobState::kFailed;
      r->error = "the bundle file is missing from the job directory";
      changed = true;
    }
    if (changed) {
      spdlog::warn("evidence api: job {} marked failed at start: {}", r->id, r->error);
      try {
        Persist(*r);
      } catch (const std::exception& e) {
        spdlog::error("evidence api: cannot update job {}: {}", r->id, e.what());
      }
    }
    recovered.push_back(std::move(*r));
  }
  {
    std::lock_guard lock(mu_);
    for (auto& r : recovered) jobs_.emplace(r.id, std::move(r));
    started_ = true;
    stopping_ = false;
  }
  spdlog::info("evidence api: {} jobs recovered from {}", recovered.size(), api_.job_dir);
  Sweep();
  for (std::int64_t i = 0; i < api_.max_concurrent_jobs; ++i) workers_.emplace_back([this] { WorkerMain(); });
  sweeper_ = std::thread([this] { SweeperMain(); });
}

void JobManager::Stop() {
  std::vector<JobRecord> failed;
  std::vector<std::shared_ptr<pq::CancelHandle>> cancels;
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    const Micros now = NowMicros();
    for (const auto& id : queue_) {
      JobRecord& r = jobs_.at(id);
      FinishLocked(r, kStoppedQueued, now);
      failed.push_back(r);
    }
    queue_.clear();
    for (auto& [id, h] : cancels_) cancels.push_back(h);
  }
  // Outside the lock: a cancel request is a (blocking) connection of its own.
  for (const auto& h : cancels) {
    if (h) h->Cancel();
  }
  cv_.notify_all();
  sweep_cv_.notify_all();
  for (const auto& r : failed) {
    try {
      Persist(r);
    } catch (const std::exception& e) {
      spdlog::error("evidence api: cannot update job {}: {}", r.id, e.what());
    }
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (sweeper_.joinable()) sweeper_.join();
}

JobManager::Submitted JobManager::Submit(evidence::Query q) {
  Submitted s;
  {
    std::lock_guard lock(mu_);
    const std::size_t idle = static_cast<std::size_t>(api_.max_concurrent_jobs) - running_;
    const std::size_t waiting = queue_.size() + reserved_;
    if (stopping_ || waiting >= static_cast<std::size_t>(api_.max_queued_jobs) + idle) {
      ++rejected_;
      return s;
    }
    ++reserved_;
  }
  JobRecord r;
  r.id = NewJobId();
  r.query = std::move(q);
  r.created_at = NowMicros();
  try {
    if (::mkdir(JobDir(r.id).c_str(), 0700) != 0)
      throw std::runtime_error("cannot create " + JobDir(r.id) + ": " + std::strerror(errno));
    Persist(r);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(JobDir(r.id), ec);
    std::lock_guard lock(mu_);
    --reserved_;
    throw;
  }
  {
    std::lock_guard lock(mu_);
    --reserved_;
    jobs_.emplace(r.id, r);
    queue_.push_back(r.id);
  }
  cv_.notify_one();
  Notify();
  s.accepted = true;
  s.record = std::move(r);
  return s;
}

std::optional<JobRecord> JobManager::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

compute::EvidenceJobStats JobManager::Stats() const {
  compute::EvidenceJobStats s;
  s.enabled = true;
  s.api_path = std::string(kApiPath);
  s.duration_buckets = buckets_;
  std::lock_guard lock(mu_);
  s.done = done_;
  s.failed = failed_;
  s.rejected = rejected_;
  s.duration = duration_;
  s.queued = queue_.size();
  s.running = running_;
  return s;
}

void JobManager::FinishLocked(JobRecord& r, std::string error, Micros now) {
  r.finished_at = now;
  r.error = std::move(error);
  r.state = r.error.empty() ? JobState::kDone : JobState::kFailed;
  ++(r.error.empty() ? done_ : failed_);
  if (r.started_at > 0) {
    const double secs = static_cast<double>(now - r.started_at) / 1e6;
    std::size_t i = 0;
    while (i < buckets_.size() && secs > buckets_[i]) ++i;
    if (i < buckets_.size()) ++duration_.bucket_counts[i];
    ++duration_.count;
    duration_.sum += secs;
  }
}

void JobManager::WorkerMain() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const std::string id = queue_.front();
    queue_.pop_front();
    ++running_;
    lock.unlock();
    Run(id);
    lock.lock();
    --running_;
  }
}

void JobManager::Run(const std::string& id) {
  JobRecord start;
  std::shared_ptr<const config::Config> cfg;
  {
    std::lock_guard lock(mu_);
    JobRecord& r = jobs_.at(id);
    r.state = JobState::kRunning;
    r.started_at = NowMicros();
    r.phase = "starting";
    start = r;
    cfg = cfg_;
  }
  std::string error;
  try {
    Persist(start);
  } catch (const std::exception& e) {
    error = std::string("cannot write job.json: ") + e.what();
  }
  Notify();
  const std::string bundle = BundlePath(id);
  std::uint64_t bytes = 0;
  evidence::ExportSummary summary;
  if (error.empty()) {
    evidence::CollectOptions opt;
    opt.max_operations = static_cast<std::size_t>(api_.max_operations);
    opt.statement_timeout_ms = api_.statement_timeout_ms;
    opt.application_name = "provledger_evidence_job";
    opt.progress = [&](const std::string& phase, std::size_t done, std::size_t total) {
      std::lock_guard lock(mu_);
      if (stopping_) throw Stopped{};
      JobRecord& r = jobs_.at(id);
      r.phase = phase;
      r.progress_done = done;
      r.progress_total = total;
    };
    opt.on_connect = [&](const pq::Connection& c) {
      auto h = std::make_shared<pq::CancelHandle>(c.cancel_handle());
      std::lock_guard lock(mu_);
      if (stopping_) throw Stopped{};   // Stop() already cancelled what it knew of
      cancels_[id] = std::move(h);
    };
    try {
      summary = evidence::ExportBundle(*cfg, start.query, key_, bundle, NowMicros(), opt);
      std::error_code ec;
      bytes = fs::file_size(bundle, ec);
      if (ec) throw std::runtime_error("cannot stat the bundle: " + ec.message());
      if (bytes > static_cast<std::uint64_t>(api_.max_disk_bytes)) {
        fs::remove(bundle, ec);
        error = "the bundle is " + std::to_string(bytes) + " bytes, over the disk budget of " +
                std::to_string(api_.max_disk_bytes) + " bytes (evidence.api.max_disk_bytes); export fewer operations";
        bytes = 0;
      }
    } catch (const Stopped&) {
      error = kStoppedRunning;
    } catch (const pq::PqError& e) {
      error = std::string("database: ") + e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  JobRecord fin;
  {
    std::lock_guard lock(mu_);
    cancels_.erase(id);
    if (stopping_ && !error.empty()) error = kStoppedRunning + std::string(" (") + error + ")";
    JobRecord& r = jobs_.at(id);
    r.bundle_bytes = bytes;
    r.summary = summary;
    if (error.empty()) {
      r.phase = "done";
      r.progress_done = r.progress_total;
    }
    FinishLocked(r, error, NowMicros());
    fin = r;
  }
  if (!error.empty()) {
    std::error_code ec;
    fs::remove(bundle, ec);
    spdlog::warn("evidence api: job {} failed tenant={} error=\"{}\"", id, fin.query.tenant, error);
  } else {
    spdlog::info("evidence api: job {} done tenant={} operations={} bytes={}", id, fin.query.tenant,
                 summary.operations, bytes);
  }
  try {
    Persist(fin);
  } catch (const std::exception& e) {
    spdlog::error("evidence api: cannot update job {}: {}", id, e.what());
  }
  Sweep();
  Notify();
}

void JobManager::Sweep() {
  std::vector<std::string> remove;
  {
    std::lock_guard lock(mu_);
    std::vector<JobRecord> finished;
    for (const auto& [id, r] : jobs_) {
      if (r.state == JobState::kDone || r.state == JobState::kFailed) finished.push_back(r);
    }
    remove = SweepPlan(finished, NowMicros(), api_.retention_ms * 1000,
                       static_cast<std::uint64_t>(api_.max_disk_bytes));
    for (const auto& id : remove) jobs_.erase(id);
  }
  for (const auto& id : remove) {
    std::error_code ec;
    fs::remove_all(JobDir(id), ec);
    if (ec) spdlog::error("evidence api: cannot remove job directory {}: {}", JobDir(id), ec.message());
    else spdlog::info("evidence api: job {} removed (retention or disk budget)", id);
  }
}

void JobManager::SweeperMain() {
  const auto period = std::chrono::milliseconds(std::clamp<std::int64_t>(api_.retention_ms / 4, 250, 60000));
  std::unique_lock lock(mu_);
  for (;;) {
    if (sweep_cv_.wait_for(lock, period, [this] { return stopping_; })) return;
    lock.unlock();
    Sweep();
    lock.lock();
  }
}

}  // namespace provledger::evidence_api
