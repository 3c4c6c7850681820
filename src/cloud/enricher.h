// Enricher: a worker's side of the cloud handler (one per worker or HTTP ingestion target, used
// by its thread only). It keeps the view it read last (refreshed once per batch when the handler
// published a newer one), answers "what about this source?" with a hash probe and no lock, and
// collects the lines to park, handed to the handler in one call per datagram.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/handler.h"
#include "cloud/view.h"

namespace cstatsd::cloud {

class Enricher {
 public:
  explicit Enricher(CloudHandler* handler);

  enum class Action {
    kPass,    // no instance (no source, or the provider knows nothing): unchanged
    kEnrich,  // instance: source = instance->id, tags += instance->tags
    kPark,    // not looked up yet: park the line (Park) and go on
  };
  struct Resolution {
    Action action = Action::kPass;
    const Instance* instance = nullptr;  // kEnrich: valid until the next Refresh()
  };

  // Picks up the handler's newer view, if any (once per batch).
  void Refresh();
  // `may_park` false (a replayed line, HTTP ingestion): an unknown source passes unchanged.
  Resolution Resolve(std::string_view source, int64_t now_ns, bool may_park);

  // A line's DogStatsD `|c:` field (docs/cloud-providers.md#origin-detection): `ci-<id>`, a bare
  // `<id>` (DogStatsD 1.2), `in-<cgroup inode>` (known only with [k8s] cgroup-path) or several
  // joined with ','. The instance of the pod of the first known container id, else of the first
  // known inode (valid until the next Refresh()), or null: the caller falls back to the source.
  // A hash probe per item, no lock.
  const Instance* ResolveContainer(std::string_view field) const;

  // An event: enriched in place when its source is known (source = instance id, instance tags
  // added); kPark when it must wait for the lookup (ParkEvent), else kPass/kEnrich.
  Action ApplyToEvent(Event& e, int64_t now_ns, bool may_park);

  // Copies a line to park; Submit() hands what was collected to the handler.
  void Park(std::string_view source, std::string_view sender, std::string_view line);
  void Submit();

  CloudHandler* handler() { return handler_; }

  // cloudprovider.cache_hit / cache_miss, per metric and event (written by the owning thread).
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};

 private:
  CloudHandler* handler_;
  std::shared_ptr<const View> view_;
  uint64_t version_ = ~uint64_t{0};
  std::vector<ParkedLine> parked_;
  // The last source resolved (the lines of one datagram share it).
  std::string memo_source_;
  Resolution memo_;            // for a known source
  bool memo_unknown_ = false;  // the source is not in the view
  bool memo_valid_ = false;
};

}  // namespace cstatsd::cloud
