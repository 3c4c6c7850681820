// Backend: where flushed metrics and events go (graphite, stdout, ...). The server gives each
// backend its own thread (server/backend_runner.h): SendMetrics, SendEvent and SendServiceCheck are
// only ever called from that thread, one at a time, so an implementation needs no locking and may
// block (with timeouts) without delaying ingestion, the flusher or other backends.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/metric.h"
#include "core/result.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::transport {
class HttpClient;
}

namespace cstatsd::backends {

// Counters a backend keeps for the internal metrics backend.* (docs/internal-metrics.md). Written
// by the backend's thread, its HTTP client's thread and the flusher (queue overflow), read by the
// flusher; relaxed atomic increments (a few per batch, never per metric).
struct BackendStats {
  std::atomic<uint64_t> created{0};      // batches created
  std::atomic<uint64_t> sent{0};         // batches delivered
  std::atomic<uint64_t> dropped{0};      // batches lost (queue overflow, send failure)
  std::atomic<uint64_t> series_sent{0};  // series delivered
  std::atomic<uint64_t> retried{0};      // retries
  std::atomic<uint64_t> events_sent{0};
  std::atomic<uint64_t> events_dropped{0};
  // DogStatsD service checks delivered, and lost (not carried by this backend, queue full,
  // send failure): backend.service_checks.sent / .dropped.
  std::atomic<uint64_t> service_checks_sent{0};
  std::atomic<uint64_t> service_checks_dropped{0};

  static void Add(std::atomic<uint64_t>& c, uint64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view Name() const = 0;

  // Delivers one flush. A failed delivery returns an error; the caller counts it as dropped.
  // A backend that batches may count created/sent/series_sent itself through stats() and
  // return true from CountsOwnBatches().
  virtual Status SendMetrics(const snapshot::FlushSnapshot& snapshot) = 0;

  virtual Status SendEvent(const Event& event) = 0;

  // A DogStatsD service check (docs/backends.md#service-checks), called only when
  // CarriesServiceChecks(). A backend that does not carry them never sees one: the runner counts
  // each as dropped (backend.service_checks.dropped) and logs it, rate-limited.
  virtual bool CarriesServiceChecks() const { return false; }
  virtual Status SendServiceCheck(const ServiceCheck&) {
    return Status::Error("this backend does not carry service checks");
  }

  virtual bool CountsOwnBatches() const { return false; }

  // Called from the thread stopping the server, possibly while a send is in progress: ends any
  // wait between reconnection attempts, so the final flush is tried at once.
  virtual void Interrupt() {}

  // True when the backend needs every raw timer value and set member in the snapshot
  // (FlushSnapshot::ValuesOf / MembersOf); the aggregator copies them only then.
  virtual bool WantsRawValues() const { return false; }

  // True when the backend writes each timestamped point (FlushSnapshot::timed_counters /
  // timed_gauges) at its own timestamp; the others receive a snapshot where they were folded into
  // the interval's values (docs/aggregation.md#timestamped-samples).
  virtual bool TakesTimestamps() const { return false; }

  // An HTTP backend's client, whose event loop the runner runs on a thread of its own (and shuts
  // down at stop); null for the others.
  virtual transport::HttpClient* http_client() { return nullptr; }

  BackendStats& stats() { return stats_; }

 private:
  BackendStats stats_;
};

// What a factory may read: the whole configuration (its own section above all).
struct BackendContext {
  const config::Config& config;
  const config::Options& options;
};

using BackendFactory = std::function<Result<std::unique_ptr<Backend>>(const BackendContext&)>;

// Maps the names in `backends` to factories. Filled before the server starts; read-only after.
class BackendRegistry {
 public:
  void Register(std::string name, BackendFactory factory);
  bool Has(std::string_view name) const;
  std::vector<std::string> Names() const;
  Result<std::unique_ptr<Backend>> Create(std::string_view name, const BackendContext& ctx) const;

  // A registry with every backend built into cstatsd.
  static BackendRegistry WithBuiltins();

 private:
  std::map<std::string, BackendFactory, std::less<>> factories_;
};

}  // namespace cstatsd::backends
