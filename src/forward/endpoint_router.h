// EndpointRouter: the aggregators of a sharded forwarder and their health
// (docs/forwarder.md#sharding, docs/forwarder.md#health). It follows the EndpointSet (discovery may
// replace it), keeps an EndpointHealth and the forwarder.* counts per endpoint, and publishes an
// immutable Route (the ring of the endpoints that take series) that the flusher splits each flush
// by. Owned by the HttpForwarder; every method takes its one mutex (a few times per request, never
// per series), so any thread may call it: the flusher (Current, ProbesDue, TakeDeltas), the
// forwarder's HTTP client thread (Attempt, ProbeFinished, the counts), /expvar (Totals).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "forward/endpoint_health.h"
#include "forward/endpoint_set.h"
#include "forward/shard_ring.h"

namespace cstatsd::forward {

// What the flusher routes by: immutable, shared by the requests it made.
struct Route {
  std::vector<std::string> urls;  // the endpoints of the set, sorted
  ShardRing ring;                 // those in the ring; all of them when none is healthy
  size_t healthy = 0;             // endpoints in the ring by health (0: ring holds them all)
};

struct EndpointCounts {
  uint64_t posts = 0;             // POST attempts (probes included)
  uint64_t failures = 0;          // attempts that failed: no answer (connect, timeout) or 5xx
  uint64_t rerouted_series = 0;   // series taken from this endpoint to their next choice
  uint64_t dropped_series = 0;    // series that were for this endpoint and are lost
  uint64_t dropped_messages = 0;  // events and service checks that were for it and are lost
};

struct EndpointStatus {
  std::string url;
  bool in_set = true;  // still in the EndpointSet
  bool up = true;      // in the ring
  int consecutive_failures = 0;
  EndpointCounts counts;  // cumulative (Totals) or since the previous TakeDeltas
};

class EndpointRouter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  EndpointRouter(std::shared_ptr<EndpointSet> set, HealthOptions options);

  // The current route: rebuilt when the set changed or an endpoint left or rejoined.
  std::shared_ptr<const Route> Current();

  // One attempt on `url` ended. Returns true when the request should give up on it and be
  // re-routed: the endpoint is out of the ring and another endpoint is in it.
  bool Attempt(const std::string& url, bool ok, TimePoint now);

  // The endpoints out of the ring whose probe is due (each marked as being probed).
  std::vector<std::string> ProbesDue(TimePoint now);
  void ProbeFinished(const std::string& url, bool ok, TimePoint now);

  // An endpoint for one event or service check: the healthy ones in turn.
  std::string ChooseAny();

  void CountRerouted(const std::string& url, uint64_t series);
  void CountDropped(const std::string& url, uint64_t series, uint64_t messages);

  // Every endpoint seen, counts since the start (/expvar).
  std::vector<EndpointStatus> Totals() const;
  // Counts since the previous call (the forwarder.* internal metrics); one caller (the flusher).
  // An endpoint that left the set is reported one last time, then forgotten.
  std::vector<EndpointStatus> TakeDeltas();

 private:
  struct Endpoint {
    explicit Endpoint(const HealthOptions& o) : health(o) {}
    EndpointHealth health;
    bool in_set = false;  // set by RebuildLocked for the members of the set
    EndpointCounts counts, taken;
  };
  Endpoint& Get(const std::string& url);  // mu_ held
  void RebuildLocked();                   // mu_ held

  std::shared_ptr<EndpointSet> set_;
  HealthOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Endpoint> endpoints_;          // guarded by mu_
  uint64_t set_version_ = ~uint64_t{0};                // guarded by mu_
  std::shared_ptr<const EndpointSet::List> set_list_;  // guarded by mu_
  std::shared_ptr<const Route> route_;                 // guarded by mu_
  bool dirty_ = true;                                  // guarded by mu_: health changed
  size_t next_any_ = 0;                                // guarded by mu_
};

}  // namespace cstatsd::forward
