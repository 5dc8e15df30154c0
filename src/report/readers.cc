#include "report/readers.hh"

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <variant>

namespace provledger::report {

std::size_t RowsOf(const source::Batch& page) {
  if (const auto* t = std::get_if<TraceBatch>(&page)) return t->spans.size();
  if (const auto* l = std::get_if<LedgerBatch>(&page)) return l->receipts.size() + l->anchored.size();
  return 0;
}

PollQueue::PollQueue(std::size_t max_rows) : max_rows_(max_rows) {}

bool PollQueue::PushPage(source::Batch&& page) {
  const std::size_t n = RowsOf(page);
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock, [&] { return stop_ || items_.empty() || rows_ + n <= max_rows_; });
  if (stop_) return false;
  rows_ += n;
  items_.push_back({std::move(page), n, std::nullopt});
  ready_.notify_one();
  return true;
}

bool PollQueue::PushEnd(source::PollResult&& result) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return false;
  items_.push_back({source::Batch{}, 0, std::move(result)});
  ready_.notify_one();
  return true;
}

source::PollResult PollQueue::Next(const std::function<void(const source::Batch&)>& apply) {
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [&] { return stop_ || !items_.empty(); });
      if (items_.empty()) throw std::runtime_error("stopped");
      item = std::move(items_.front());
      items_.pop_front();
      rows_ -= item.rows;
    }
    space_.notify_one();
    if (item.end) return std::move(*item.end);
    apply(item.page);
  }
}

void PollQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  space_.notify_all();
  ready_.notify_all();
}

std::size_t PollQueue::rows() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rows_;
}

TraceRounds::TraceRounds(std::size_t stores) : upto_(stores), final_(stores, false), failed_(stores, false) {}

void TraceRounds::Record(std::size_t i, Micros upto, bool last, bool failed) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed) upto_[i].push_back(upto);
    final_[i] = last || failed;
    failed_[i] = failed;
  }
  cv_.notify_all();
}

std::optional<TraceRounds::Round> TraceRounds::Wait(std::size_t k, Micros day_last) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] {
    if (stop_) return true;
    for (std::size_t i = 0; i < upto_.size(); ++i) {
      if (upto_[i].size() <= k && !final_[i]) return false;
    }
    return true;
  });
  if (stop_) return std::nullopt;
  Round r;
  r.spans_upto = kMaxMicros;
  r.last = true;
  for (std::size_t i = 0; i < upto_.size(); ++i) {
    const std::vector<Micros>& u = upto_[i];
    // Store i failed in round u.size(); a store that ended short of the day
    // fails the run in its last round, u.size() - 1.
    if (failed_[i] ? k >= u.size() : (final_[i] && u.back() < day_last && k + 1 >= u.size())) {
      return std::nullopt;
    }
    r.spans_upto = std::min(r.spans_upto, u[std::min(k, u.size() - 1)]);
    if (!(final_[i] && u.size() <= k + 1)) r.last = false;
  }
  r.spans_upto = std::min(r.spans_upto, day_last);
  return r;
}

void TraceRounds::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

}  // namespace provledger::report
