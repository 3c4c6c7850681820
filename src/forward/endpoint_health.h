// EndpointHealth: whether one aggregator takes series (docs/forwarder.md#health). Failed posts in
// a row (a connect error, a timeout, a 5xx) take it out of the ring after `failure_threshold`;
// it is then probed, the waits between probes doubling from `probe_initial` up to `probe_max`,
// and rejoins at the first answer (or any successful post). Pure state: the time is passed in,
// so it is tested without a clock. Not thread-safe; its owner (EndpointRouter) locks.
#pragma once

#include <chrono>
#include <cstdint>

namespace cstatsd::forward {

struct HealthOptions {
  int failure_threshold = 3;  // endpoint-failure-threshold: failed posts in a row to leave
  std::chrono::nanoseconds probe_initial = std::chrono::seconds(1);
  std::chrono::nanoseconds probe_max = std::chrono::seconds(30);  // endpoint-probe-max-interval
};

class EndpointHealth {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit EndpointHealth(const HealthOptions& options) : options_(options) {}

  bool up() const { return up_; }
  int consecutive_failures() const { return failures_; }

  // A failed post (one attempt). True when this failure takes the endpoint out of the ring.
  bool Failure(TimePoint now);
  // A successful post or probe. True when the endpoint rejoins the ring.
  bool Success();

  // A probe is due: out of the ring, none in flight, its wait over.
  bool ProbeDue(TimePoint now) const { return !up_ && !probing_ && now >= next_probe_; }
  void ProbeStarted() { probing_ = true; }
  // The probe's answer; a failure doubles the wait (up to probe_max). True when it rejoins.
  bool ProbeFinished(bool ok, TimePoint now);

  TimePoint next_probe() const { return next_probe_; }

 private:
  HealthOptions options_;
  bool up_ = true;
  bool probing_ = false;
  int failures_ = 0;
  std::chrono::nanoseconds wait_{0};
  TimePoint next_probe_{};
};

}  // namespace cstatsd::forward
