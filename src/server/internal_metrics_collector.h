// InternalMetricsCollector: reads, at each flush, the counters every component keeps (workers,
// the TCP receiver, the cloud handler, HTTP servers, backends or the forwarder, the aggregator and
// the flusher's timings) and hands them to InternalStats under gostatsd's internal metric names
// (docs/internal-metrics.md). Owned and called by the flusher thread.
#pragma once

#include <cstdint>
#include <vector>

#include "aggregate/aggregator.h"
#include "config/options.h"
#include "server/components.h"
#include "server/internal_stats.h"

namespace cstatsd::server {

// What the flusher knows of its own work: reported by the flush after the one it describes.
struct FlushFigures {
  const aggregate::Aggregator* aggregator = nullptr;
  uint64_t overruns = 0;      // flushes that ran past the next tick, since the start
  uint64_t maps_merged = 0;   // non-empty maps merged by the previous flush
  double aggregation_ms = 0;  // the previous flush's merge + compute
  double process_ms = 0;      // its hand-over to the backends
  double reset_ms = 0;        // its reset / expiry
  double total_ms = 0;
  // DogStatsD timestamped samples dropped since the start
  // (docs/aggregation.md#timestamped-samples): outside the time window, or past the limit of
  // points.
  uint64_t timed_dropped_window = 0;
  uint64_t timed_dropped_limit = 0;
};

class InternalMetricsCollector {
 public:
  InternalMetricsCollector(const config::Options& options, Components& parts)
      : options_(options), parts_(parts) {}

  // Adds this flush's internal metrics to `out` (forwarder mode: no aggregator or backend ones).
  void Collect(const FlushFigures& flush, InternalStats& out);

 private:
  void CollectHttpIngest(InternalStats& s);
  void CollectCloud(InternalStats& s);
  void CollectForwarder(InternalStats& s);

  const config::Options& options_;
  Components& parts_;  // HTTP servers and the forwarder hand over their counts (Take*)
  // Per HTTP server: the ingestion counters last reported, to report the interval's change.
  struct IngestReported {
    uint64_t success = 0, read = 0, decompress = 0, encoding = 0, unmarshal = 0, too_large = 0,
             metrics = 0, events = 0, limit = 0, over_budget = 0, metrics_refused = 0,
             service_checks = 0;
  };
  std::vector<IngestReported> http_reported_;
  forward::DnsDiscoveryStats dns_reported_;  // api-endpoints-dns: the counts last reported
};

}  // namespace cstatsd::server
