// Provider: what a cloud provider (aws/, k8s/) offers the cloud handler (cloud/handler.h), which
// owns the cache, the lookup thread, the parked metrics and the enrichment
// (docs/cloud-providers.md). Two kinds: a provider that is asked about batches of sources (aws:
// Lookup, on the handler's lookup thread, cached by the handler) and one that keeps an index of
// every source it knows and publishes it whole when it changes (k8s: Publish, from the provider's
// own thread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace cstatsd::cloud {

// What is known about a sender: its identity (becomes the metric's source) and its tags
// ("key:value", appended to the metric's tags).
struct Instance {
  std::string id;
  std::vector<std::string> tags;
};

// Every source an index provider knows: source (IP text) → instance.
using Index = std::unordered_map<std::string, std::shared_ptr<const Instance>>;

// A hash for looking a std::string key up by std::string_view (no string made per lookup).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Every container an index provider knows (k8s: from the pods' container statuses): container id,
// without the runtime's `containerd://` prefix, and "in-<cgroup inode>" of its cgroup directory
// (with [k8s] cgroup-path) → the instance of its pod. What a line's DogStatsD `|c:` field resolves
// through (docs/cloud-providers.md#origin-detection).
using ContainerIndex =
    std::unordered_map<std::string, std::shared_ptr<const Instance>, StringHash, std::equal_to<>>;

enum class LookupStatus {
  kFound,     // instance is set
  kNotFound,  // the provider knows nothing about this source (a negative cache entry)
  kError,     // the lookup failed (a refresh keeps the previous answer; a first lookup is negative)
};

struct LookupAnswer {
  LookupStatus status = LookupStatus::kNotFound;
  std::shared_ptr<const Instance> instance;  // kFound only
};

// A provider's own internal metric (e.g. cloudprovider.aws.describeinstancecount), cumulative,
// reported at every flush as a gauge.
struct ProviderStat {
  std::string name;
  uint64_t value = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;

  virtual std::string_view name() const = 0;

  // Whether the handler asks Lookup() (true: aws) or the provider publishes an Index (false: k8s).
  virtual bool answers_lookups() const = 0;

  // Called once on the main thread before any other call but set_publish(): checks that the
  // provider can work (aws: the region from the metadata service; k8s: a first list of the pods,
  // published before it returns). An error stops startup.
  virtual Status Start() = 0;
  // The body of the provider's background thread, if it needs one (k8s: the watch loop), which
  // the server creates after Start() (threads are created in server/ only). Returns soon after
  // Stop().
  virtual bool has_background_loop() const { return false; }
  virtual void Run() {}
  // Ends Run() and any wait in Lookup(), bounded (a few seconds at most); thread-safe.
  virtual void Stop() {}

  // --- providers that answer lookups ---
  // The most sources one Lookup() takes (aws: max_instances_batch).
  virtual size_t max_batch() const { return 32; }
  // One answer per source, in the same order. Runs on the handler's lookup thread only; may
  // block on the network, bounded by the provider's own timeouts and retries.
  virtual std::vector<LookupAnswer> Lookup(const std::vector<std::string>& sources) {
    return std::vector<LookupAnswer>(sources.size());
  }

  // --- providers that keep an index ---
  // Called by the provider (from any one thread at a time) with the complete index by source and
  // by container (null: none) whenever either changes. Set by the handler before Start().
  using Publish = std::function<void(std::shared_ptr<const Index> by_source,
                                     std::shared_ptr<const ContainerIndex> by_container)>;
  void set_publish(Publish publish) { publish_ = std::move(publish); }

  // The provider's cumulative internal metrics, read by the flusher thread (thread-safe).
  virtual void Stats(std::vector<ProviderStat>& out) const { (void)out; }

 protected:
  Publish publish_;
};

}  // namespace cstatsd::cloud
