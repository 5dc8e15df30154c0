// Holds the last published snapshot and its pre-rendered exposition for the
// HTTP side. The poll loop renders and publishes once per poll; a scrape only
// copies a shared_ptr and writes bytes.
//
// Thread safety: all members may be called from any thread. The mutex guards
// only a shared_ptr copy or swap, never rendering, so a reader blocks a
// writer (and vice versa) for at most one pointer copy. A Published object is
// immutable once published and lives as long as any reader holds it.
#pragma once

#include <memory>
#include <mutex>

#include "compute/snapshot.hh"
#include "render/exposition.hh"
#include "render/families.hh"
#include "render/process.hh"
#include "render/recent.hh"

namespace provledger::render {

struct Published {
  compute::Snapshot snapshot;
  Exposition exposition;
  Recent recent;  // last hour / 5 minutes, for the landing page (render/recent.hh)
};

// Renders `snapshot` (outside any lock) into a Published. Throws as
// RenderExposition does.
std::shared_ptr<const Published> RenderPublished(compute::Snapshot snapshot,
                                                 const ProcessStats& process,
                                                 const BuildInfo& build, Recent recent = {});

class Publisher {
 public:
  // Starts with the exposition of an empty Snapshot (build_info, process_*
  // and the scalar health gauges), so a scrape before the first poll gets a
  // valid 200 response.
  explicit Publisher(BuildInfo build = CurrentBuildInfo());

  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Renders `snapshot` with fresh process stats (ReadProcessStats) and this
  // publisher's build info, adds the recent activity (RecentTracker, fed every
  // snapshot published this way), then swaps it in. Returns what was published.
  std::shared_ptr<const Published> Publish(compute::Snapshot snapshot);

  // Swaps in an already rendered Published; a null pointer is ignored.
  void Publish(std::shared_ptr<const Published> published);

  // Never null.
  std::shared_ptr<const Published> Current() const;

  const BuildInfo& build() const { return build_; }

 private:
  const BuildInfo build_;
  mutable std::mutex mu_;
  std::shared_ptr<const Published> current_;
  std::mutex tracker_mu_;  // Publish(snapshot) callers, one at a time through the tracker
  RecentTracker tracker_;
};

}  // namespace provledger::render
