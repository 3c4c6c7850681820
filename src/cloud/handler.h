// CloudHandler (docs/aggregation.md#pipeline, docs/cloud-providers.md): the cache of what the cloud
// provider said about each source, the lookups, and the metrics that wait for them. The workers
// never wait: they read the published View (cloud/enricher.h); a metric whose source is not in it
// yet is parked here (bounded per source and in total; overflow counted), its source is queued for
// lookup, and once the answer is in, the parked lines go to the replay queue that the workers drain
// between batches. Lookups run on the handler's own thread (Run(), created by the server): batched
// (up to the provider's max_batch, gathered for 10 ms), rate limited by a token bucket of
// max-cloud-requests/s with burst-cloud-requests, cached for cloud-cache-ttl (negative answers
// cloud-cache-negative-ttl), refreshed in the background every cloud-cache-refresh-period when
// expired (the stale answer is served meanwhile; a failed refresh keeps it), and evicted after
// cloud-cache-evict-after-idle-period without use. An index provider (k8s) publishes its whole
// index instead: nothing is parked or looked up. Every method is thread-safe. Run() is built from
// two steps, LookupOnce() and RefreshScan(), that a test calls on its own thread (instead of
// running Run()) with the times of an injected HandlerClock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cloud/provider.h"
#include "cloud/view.h"
#include "config/options.h"
#include "core/metric.h"
#include "stats/rate_limiter.h"
#include "stats/token_bucket.h"

namespace cstatsd::cloud {

struct HandlerOptions {
  std::chrono::nanoseconds cache_ttl = std::chrono::minutes(30);
  std::chrono::nanoseconds cache_negative_ttl = std::chrono::minutes(1);
  std::chrono::nanoseconds refresh_period = std::chrono::minutes(1);
  std::chrono::nanoseconds evict_after_idle = std::chrono::minutes(10);
  double max_requests = 10;  // lookups per second; <= 0: unlimited
  int burst_requests = 15;
  size_t max_parked_per_source = 1000;  // metric lines waiting for one source's lookup
  size_t max_parked = 100000;           // ... for all sources together
  size_t max_parked_events_per_source = 100;
  std::chrono::milliseconds gather = std::chrono::milliseconds(10);  // batch gathering

  static HandlerOptions From(const config::Options& o);
};

// The handler's clocks: wall-clock nanoseconds (cache expiry, last use: compared with the times
// the workers pass to Enricher::Resolve) and the steady time of the rate limit and of Run()'s
// refresh period. Tests inject their own and drive LookupOnce() / RefreshScan() with it.
struct HandlerClock {
  std::function<int64_t()> wall_ns;  // empty: std::chrono::system_clock
  std::function<std::chrono::steady_clock::time_point()> steady;  // empty: steady_clock
};

// A metric line waiting for its source's lookup: replayed through a worker as if received again.
struct ParkedLine {
  std::string source;  // what was looked up
  std::string sender;  // the datagram's sender (the source, unless ignore-host)
  std::string line;
};

struct HandlerStats {
  uint64_t cache_positive = 0;         // entries now
  uint64_t cache_negative = 0;         // entries now
  uint64_t refresh_positive = 0;       // cumulative: successful refreshes
  uint64_t refresh_negative = 0;       // cumulative: failed refreshes (old answer kept)
  uint64_t hosts_queued_metrics = 0;   // sources with parked lines now
  uint64_t hosts_queued_events = 0;    // sources with parked events now
  uint64_t items_queued_metrics = 0;   // parked lines now
  uint64_t items_queued_events = 0;    // parked events now
  uint64_t items_dropped_metrics = 0;  // cumulative: lines refused by a full queue
  uint64_t items_dropped_events = 0;   // cumulative: events refused by a full queue
  uint64_t lookups = 0;                // cumulative: sources asked of the provider
};

class CloudHandler {
 public:
  CloudHandler(std::unique_ptr<Provider> provider, HandlerOptions options, HandlerClock clock = {});
  ~CloudHandler();

  Provider& provider() { return *provider_; }
  bool answers_lookups() const { return lookups_; }

  // Main thread, once: starts the provider (an error stops startup).
  Status Start();
  // The lookup thread's body (lookup providers only); returns after Stop(). Each round: waits
  // for wanted sources (or the next refresh scan), gathers a batch for options.gather, runs
  // RefreshScan() every refresh_period, waits for the rate limit's token, then LookupOnce().
  // Its waits are in real time (condition variables), whatever the clock.
  void Run();

  // The lookup thread's steps (lookup providers only), called by Run(), or by a test on its own
  // thread instead of running Run() (never both, one call at a time).
  //
  // One lookup round at steady time `now`: when sources are wanted and the rate limit has a
  // token at `now`, takes up to the provider's max_batch of them, asks the provider (mu_ not
  // held), applies the answers at the clock's wall time (cache, parked lines to the replay
  // queue, parked events enriched), publishes the view, wakes Await(), dispatches the events
  // and calls the replay notifier. Returns zero when it looked up or nothing was wanted (or
  // after Stop()); else how long until the token, which stays reserved for the next call.
  std::chrono::nanoseconds LookupOnce(std::chrono::steady_clock::time_point now);
  // The background refresh at wall time `now_ns`: evicts entries unused for longer than
  // evict_after_idle (and publishes) and queues expired ones for a refresh lookup.
  void RefreshScan(int64_t now_ns);
  // Stops Run() and the provider; bounded.
  void Stop();

  // The current view and its version (a worker re-reads the view when the version changed).
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::shared_ptr<const View> view() const;

  // Workers: lines whose source missed the view (moved out; `lines` is left empty).
  void Park(std::vector<ParkedLine>& lines);
  // An event whose source missed the view: enriched and dispatched when the answer is in.
  void ParkEvent(std::string source, Event&& event);
  // Where resolved events go (the server's dispatch); set before Start().
  void SetEventSink(std::function<void(Event&&)> sink);
  // Called (from the lookup thread) when lines are ready for replay: wake a worker.
  void SetReplayNotifier(std::function<void()> notify);

  // Workers: how many lines wait for replay, and up to `max` of them.
  size_t replay_ready() const { return replay_size_.load(std::memory_order_relaxed); }
  void TakeReplay(std::vector<ParkedLine>& out, size_t max);

  // HTTP ingestion: asks for the sources not known yet and waits (bounded) for their answers.
  void Await(const std::vector<std::string>& sources, std::chrono::milliseconds timeout);

  // Shutdown, after the workers stopped: every parked and replayable line (to be processed
  // without enrichment if still unknown) and every parked event (dispatched unenriched).
  std::vector<ParkedLine> ReleaseAll();

  HandlerStats stats() const;

  // Enriches an event with an instance (source = instance id, tags appended).
  static void EnrichEvent(Event& e, const Instance& instance);

 private:
  struct CacheEntry {
    std::shared_ptr<Entry> entry;
    int64_t expires_ns = 0;
  };
  struct Parked {
    std::vector<ParkedLine> lines;
    std::vector<Event> events;
  };
  struct Wanted {
    std::string source;
    bool refresh = false;
  };

  void WantLocked(const std::string& source, bool refresh);
  void PublishLocked();
  void PublishIndex(std::shared_ptr<const Index> index,
                    std::shared_ptr<const ContainerIndex> containers);
  void RefreshScanLocked(int64_t now_ns);
  std::chrono::nanoseconds LookupOnceLocked(std::unique_lock<std::mutex>& lock,
                                            std::chrono::steady_clock::time_point now);
  int64_t WallNanos() const { return clock_.wall_ns(); }
  // Applies answers; returns the events to dispatch (outside the lock).
  std::vector<Event> ApplyLocked(const std::vector<Wanted>& batch,
                                 const std::vector<LookupAnswer>& answers, int64_t now_ns);
  void ResolveParkedLocked(const std::string& source, const Instance* instance,
                           std::vector<Event>& events);

  std::unique_ptr<Provider> provider_;
  const HandlerOptions options_;
  const bool lookups_;
  const HandlerClock clock_;  // both set

  mutable std::mutex mu_;
  std::condition_variable cv_;           // the lookup thread: work or stop
  std::condition_variable resolved_cv_;  // Await: answers applied
  bool stop_ = false;
  std::unordered_map<std::string, CacheEntry, StringHash, std::equal_to<>> cache_;
  std::deque<Wanted> wanted_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> wanted_set_;  // queued or in flight
  std::unordered_map<std::string, Parked, StringHash, std::equal_to<>> parked_;
  size_t parked_lines_ = 0;
  size_t parked_events_ = 0;
  std::deque<ParkedLine> replay_;
  std::atomic<size_t> replay_size_{0};
  std::function<void(Event&&)> event_sink_;
  std::function<void()> replay_notifier_;
  stats::TokenBucket requests_;  // max-cloud-requests / burst-cloud-requests, under mu_
  // A token reserved by LookupOnce() and usable from then on, under mu_.
  std::optional<std::chrono::steady_clock::time_point> token_at_;
  HandlerStats counters_;           // the cumulative part, under mu_
  stats::RateLimiter drop_log_{6};  // per minute

  mutable std::mutex view_mu_;
  std::shared_ptr<const View> view_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace cstatsd::cloud
