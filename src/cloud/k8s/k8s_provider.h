// K8sProvider: the k8s cloud provider (docs/cloud-providers.md), an index provider. Start() lists
// the pods once (the startup permission check) and publishes the index of pods by IP; Run(), on the
// provider's own thread that server/ creates, watches the pods, re-publishes the index when it
// changes (at most every publish_interval), re-lists every resync-period and after a 410 Gone,
// and reconnects with backoff. Owned by the cloud handler; Start() runs on the main thread,
// Run() on the provider thread, Stop() and Stats() on any thread; destroyed after Run() returned.
// The pod set, the resourceVersion and the publishing belong to whichever of Start() and Run()
// is running (never both); Stats() reads atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/k8s/api_client.h"
#include "cloud/k8s/k8s_options.h"
#include "cloud/k8s/kubeconfig.h"
#include "cloud/k8s/pod_index.h"
#include "cloud/k8s/watch_stream.h"
#include "cloud/provider.h"
#include "config/config.h"
#include "core/result.h"
#include "stats/rate_limiter.h"

namespace cstatsd::cloud::k8s {

class K8sProvider : public cloud::Provider {
 public:
  K8sProvider(K8sOptions options, Connection connection, TagRules rules);
  ~K8sProvider() override;

  std::string_view name() const override { return "k8s"; }
  bool answers_lookups() const override { return false; }
  Status Start() override;
  bool has_background_loop() const override { return true; }
  void Run() override;
  void Stop() override;
  void Stats(std::vector<ProviderStat>& out) const override;

 private:
  enum class WatchEnd { kEnded, kGone, kError, kStopped };

  // Lists every pod (all pages) into a new pod set and remembers its resourceVersion.
  Status List(bool startup);
  WatchEnd Watch();
  // Applies one watch event line; false ends the watch (`end` says why).
  bool OnEvent(std::string_view line, WatchEnd& end);
  void MaybePublish(bool force);
  std::string PodsPath() const;  // "/api/v1/pods?" and the field selector, if any
  Duration Backoff();

  const K8sOptions options_;
  const TagRules rules_;
  StopSignal stop_;
  ApiClient api_;

  // The provider thread's state (Start()'s, before the thread exists).
  PodSet pods_;
  std::string resource_version_;
  bool dirty_ = false;  // pods_ changed since the last publish
  std::chrono::steady_clock::time_point last_publish_{};
  std::chrono::steady_clock::time_point next_relist_{};
  Duration backoff_{0};
  stats::RateLimiter warn_limiter_{6, 3};
  stats::RateLimiter conflict_limiter_{1, 1};

  // Cumulative stats, read by Stats() on the flusher thread.
  std::atomic<uint64_t> stat_pods_{0};           // pods in the last published index
  std::atomic<uint64_t> stat_containers_{0};     // container ids in the last published index
  std::atomic<uint64_t> stat_cgroup_inodes_{0};  // ... and cgroup inodes (cgroup-path)
  std::atomic<uint64_t> stat_lists_{0};
  std::atomic<uint64_t> stat_relists_{0};
  std::atomic<uint64_t> stat_watches_{0};
  std::atomic<uint64_t> stat_watch_events_{0};
  std::atomic<uint64_t> stat_errors_{0};
  std::atomic<uint64_t> stat_publishes_{0};
  std::atomic<uint64_t> stat_ip_conflicts_{0};
};

// The factory: [k8s] from the config, the connection (kubeconfig or in-cluster), the provider.
// Errors name the key ("k8s.<key>: ..."), every problem of the section at once. Unknown keys are
// logged as warnings. Main thread.
Result<std::unique_ptr<cloud::Provider>> CreateK8sProvider(const config::Config& config);

}  // namespace cstatsd::cloud::k8s
