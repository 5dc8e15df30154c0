#include "render/publisher.hh"

#include <utility>

namespace provledger::render {

std::shared_ptr<const Published> RenderPublished(compute::Snapshot snapshot,
                                                 const ProcessStats& process,
                                                 const BuildInfo& build, Recent recent) {
  auto p = std::make_shared<Published>();
  p->recent = std::move(recent);
  p->exposition = RenderExposition(snapshot, process, build);
  p->snapshot = std::move(snapshot);
  return p;
}

Publisher::Publisher(BuildInfo build)
    : build_(std::move(build)),
      current_(RenderPublished(compute::Snapshot{}, ReadProcessStats(), build_)) {}

std::shared_ptr<const Published> Publisher::Publish(compute::Snapshot snapshot) {
  Recent recent;
  {
    std::lock_guard<std::mutex> lock(tracker_mu_);
    recent = tracker_.Observe(snapshot);
  }
  auto p = RenderPublished(std::move(snapshot), ReadProcessStats(), build_, std::move(recent));
  Publish(p);
  return p;
}

void Publisher::Publish(std::shared_ptr<const Published> published) {
  if (!published) return;
  std::shared_ptr<const Published> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::exchange(current_, std::move(published));
  }
  // `old` may be the last reference: it is destroyed here, outside the lock.
}

std::shared_ptr<const Published> Publisher::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

}  // namespace provledger::render
