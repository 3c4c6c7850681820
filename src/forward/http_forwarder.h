// HttpForwarder: forwarder mode's sender (docs/forwarder.md#what-is-sent). The flusher hands it
// each merged map; it encodes pb::RawMessageV2 (one per dynamic-headers partition), compresses, and
// queues a POST to <api-endpoint>/v2/raw on its HttpClient, which retries with backoff off the
// flusher's thread. Events go one by one to /v2/event, service checks to /v2/check. Counts the
// http.forwarder.* internal metrics. SendMetrics: flusher thread. SendEvent, WhenSent: any thread.
// Run: the forwarder's own thread, created by server/. Stop: the controlling thread.
// With several aggregators (docs/forwarder.md#sharding) each series goes whole to one of them,
// chosen by an EndpointRouter's ring; an aggregator that fails leaves the ring and the payload it
// failed is re-split over the others within the retry budget (docs/forwarder.md#health).
#pragma once

#include <google/protobuf/message_lite.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/metric.h"
#include "core/metric_map.h"
#include "core/result.h"
#include "forward/endpoint_router.h"
#include "forward/endpoint_set.h"
#include "forward/forwarder_options.h"
#include "stats/rate_limiter.h"
#include "transport/http_client.h"
#include "transport/transport_options.h"

namespace cstatsd::forward {

// The http.forwarder.* values of one interval (deltas since the previous TakeStats).
struct ForwarderStats {
  uint64_t invalid = 0;  // messages that could not be prepared (encode/compress failed)
  uint64_t created = 0;  // messages prepared
  uint64_t sent = 0;     // messages delivered (2xx)
  uint64_t retried = 0;  // retries (a first attempt is not a retry)
  uint64_t dropped = 0;  // messages given up (budget spent, fast-fail, queue full, shutdown)
  double post_latency_sum_ms = 0;  // of successful POSTs
  double post_latency_max_ms = 0;
};

class HttpForwarder {
 public:
  static Result<std::unique_ptr<HttpForwarder>> Create(const ForwarderOptions& options,
                                                       const transport::TransportOptions& t);

  // Encodes, compresses and queues `merged` (nothing for an empty map). Flusher thread.
  void SendMetrics(const MetricMap& merged);
  // Queues one event. Any thread; never waits for the network.
  void SendEvent(const Event& event);
  // Queues one service check, to /v2/check (cstatsd's path, docs/forwarder.md#service-checks). A
  // non-retryable answer is not retried: gostatsd answers 404, counted as dropped and logged once.
  // Any thread; never waits for the network.
  void SendServiceCheck(const ServiceCheck& check);

  // Calls `done` once every request queued before this call (metrics and events) has finished
  // — delivered, given up, dropped or aborted at shutdown — or at once if none is pending. For
  // "flush now and tell me when it is delivered" (the Lambda extension's manual flush). `done`
  // runs on the forwarder's thread or on the caller's; it must be short and must not block.
  // Any thread.
  void WhenSent(std::function<void()> done);

  // The HTTP client's loop; returns after Stop(). Run it on one thread.
  void Run() { client_->Run(); }
  // Lets queued and in-flight requests finish until `deadline`, then gives up on the rest
  // (counted as dropped) and makes Run() return. Returns true if everything was delivered.
  bool Stop(std::chrono::steady_clock::time_point deadline);

  // The counts since the previous TakeStats (the http.forwarder.* internal metrics). One caller
  // at a time (the flusher).
  ForwarderStats TakeStats();
  // The counts since the start (/expvar); latencies are left 0. Any thread.
  ForwarderStats Totals() const;

  // When a POST last succeeded (the HTTP server's /deepcheck "sentRecently"); nullopt = never.
  std::optional<std::chrono::system_clock::time_point> LastSuccessfulSend() const;
  // The deep check's verdict and message: "sentRecently: never sent" or
  // "sentRecently: lastSend=<RFC 3339 time>" (healthy once anything was sent, as gostatsd).
  std::pair<bool, std::string> SentRecentlyCheck() const;

  // The aggregators (api-endpoint and api-endpoints); discovery replaces them at run time.
  std::shared_ptr<EndpointSet> endpoints() const { return endpoints_; }
  // Per aggregator: state and the forwarder.* counts since the start (/expvar) or since the
  // previous TakeEndpointStats (internal metrics; one caller, the flusher).
  std::vector<EndpointStatus> EndpointTotals() const { return router_.Totals(); }
  std::vector<EndpointStatus> TakeEndpointStats() { return router_.TakeDeltas(); }

  const ForwarderOptions& options() const { return options_; }
  size_t outstanding() const { return client_->outstanding(); }

 private:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  // Where a payload goes and what re-routing it needs (several aggregators only).
  struct Target {
    std::string url;  // base URL; empty = the one aggregator
    bool sharded = false;
    size_t series = 0;  // metrics: series in the payload; 0 = one event or service check
    std::chrono::steady_clock::time_point deadline{};  // the retry budget's end
    int hops = 0;                                      // re-routes so far
  };
  struct Flight;  // one sharded request in flight

  HttpForwarder(ForwarderOptions options, std::unique_ptr<transport::HttpClient> client);
  void Post(std::string_view kind, const std::string& path,
            const google::protobuf::MessageLite& message, const Headers& extra_headers,
            const transport::RetryOptions& retry, Target target);
  void Send(std::string_view kind, const std::string& path, std::string body, size_t raw_size,
            const Headers& extra_headers, const transport::RetryOptions& retry, Target target);
  // Several aggregators: the target of an event or service check, and the probes due.
  Target AnyTarget();
  void SendProbes();
  // A sharded request that failed on an aggregator out of the ring: its series re-split over the
  // ring (or the message sent to another aggregator). False if nothing could be re-routed.
  bool Reroute(const Flight& flight);
  void OnDone(std::string_view kind, const transport::Outcome& outcome);
  void Finished(uint64_t seq);  // request `seq` is done: run the WhenSent callbacks it held up

  ForwarderOptions options_;
  std::unique_ptr<transport::HttpClient> client_;
  transport::RetryOptions retry_;
  transport::RetryOptions check_retry_;  // retry_, giving up at once on a non-retryable answer
  std::atomic<bool> check_404_logged_{false};
  std::vector<std::pair<std::string, std::string>> base_headers_;
  std::shared_ptr<EndpointSet> endpoints_;
  EndpointRouter router_;
  std::string probe_body_;  // an empty RawMessageV2, compressed

  // Cumulative; TakeStats reports the change since `taken_`.
  std::atomic<uint64_t> invalid_{0}, created_{0}, sent_{0}, retried_{0}, dropped_{0};
  std::mutex taken_mu_;
  ForwarderStats taken_;  // guarded by taken_mu_
  std::atomic<uint64_t> latency_sum_us_{0}, latency_max_us_{0};
  std::atomic<int64_t> last_send_ns_{0};  // system clock, 0 = never
  std::mutex log_mu_;
  stats::RateLimiter retry_log_{12, 3};  // guarded by log_mu_
  stats::RateLimiter drop_log_{12, 3};   // guarded by log_mu_

  // WhenSent: every request gets a sequence number; a callback waits for the requests numbered
  // below its barrier.
  std::mutex sent_mu_;
  uint64_t next_seq_ = 0;                                   // guarded by sent_mu_
  std::set<uint64_t> pending_;                              // guarded by sent_mu_
  std::multimap<uint64_t, std::function<void()>> waiters_;  // barrier → done; sent_mu_
};

}  // namespace cstatsd::forward
