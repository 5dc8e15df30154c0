// The job manager of the evidence export API: a bounded queue, a fixed pool
// of worker threads (evidence.api.max_concurrent_jobs), one directory per job
// under evidence.api.job_dir (job.json, written atomically at every state
// change, and bundle.zip), retention and a disk budget for finished bundles.
//
// A job runs evidence::ExportBundle (the CLI's export) with connections of
// its own (never a poller's), the API's statement_timeout and
// application_name "provledger_evidence_job"; status requests and scrapes
// only take the manager's mutex for a copy, never wait for a job.
//
// Restart: Start() reads job_dir; finished jobs (done with their bundle, or
// failed) are kept until retention or the budget removes them; jobs found
// queued or running are marked failed with the reason (never re-run, never
// left "running"). Stop() fails queued jobs, cancels the running jobs'
// statements (pq::CancelHandle) and waits for the workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "compute/snapshot.hh"
#include "config/config.hh"
#include "evidence/keys.hh"
#include "evidence_api/jobs.hh"
#include "pq/connection.hh"

namespace provledger::evidence_api {

class JobManager {
 public:
  // Buckets of provledger_exporter_evidence_job_duration_seconds.
  static std::vector<double> DurationBuckets() { return {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900}; }

  // `cfg` gives the sources and cfg.evidence.api the limits (kept for the
  // manager's life; UpdateSources changes only the sources).
  JobManager(config::Config cfg, evidence::SigningKey key);
  ~JobManager();
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Creates job_dir (mode 0700) if needed, recovers the jobs in it, applies
  // retention and the budget, starts the workers and the sweeper. Throws
  // std::runtime_error when job_dir cannot be created or read.
  void Start();
  void Stop();
  // Later jobs read the sources of `cfg` (SIGHUP reload); limits unchanged.
  void UpdateSources(config::Config cfg);
  // Called (without the manager's lock) after a job changes state.
  void SetOnChange(std::function<void()> f);

  struct Submitted {
    bool accepted = false;   // false: the queue is full (429)
    JobRecord record;
  };
  // Throws std::runtime_error when the job cannot be written to disk.
  Submitted Submit(evidence::Query q);
  std::optional<JobRecord> Get(const std::string& id) const;
  std::string BundlePath(const std::string& id) const;

  compute::EvidenceJobStats Stats() const;
  const config::Evidence::Api& api() const { return api_; }

  // Runs the retention/budget sweep now (also done by the sweeper thread
  // and after every job).
  void Sweep();

 private:
  void WorkerMain();
  void SweeperMain();
  void Run(const std::string& id);
  void Persist(const JobRecord& r) const;
  std::string JobDir(const std::string& id) const;
  void Notify();
  void FinishLocked(JobRecord& r, std::string error, Micros now);

  const config::Evidence::Api api_;
  const evidence::SigningKey key_;
  const std::vector<double> buckets_ = DurationBuckets();

  mutable std::mutex mu_;
  std::condition_variable cv_;         // workers: a job is queued, or stopping
  std::condition_variable sweep_cv_;   // sweeper: stopping
  std::shared_ptr<const config::Config> cfg_;
  std::map<std::string, JobRecord> jobs_;
  std::deque<std::string> queue_;
  std::size_t reserved_ = 0;   // submissions being written to disk
  std::size_t running_ = 0;
  std::map<std::string, std::shared_ptr<pq::CancelHandle>> cancels_;   // running job -> its statement
  std::function<void()> on_change_;
  bool started_ = false;
  bool stopping_ = false;
  std::uint64_t done_ = 0, failed_ = 0, rejected_ = 0;
  compute::HistogramData duration_;
  std::vector<std::thread> workers_;
  std::thread sweeper_;
};

}  // namespace provledger::evidence_api
