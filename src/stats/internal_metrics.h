// Internal metrics (docs/internal-metrics.md): the counters each component keeps, and the list of
// metrics the flusher builds from them at every flush. Counters are written by their owning thread
// with relaxed atomics (no lock, no read-modify-write) and read by the flusher.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/metric.h"

namespace cstatsd::stats {

// Adds n to a counter that only one thread writes.
inline void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline uint64_t Read(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }

// Per worker: receiver and parser counters.
struct WorkerCounters {
  std::atomic<uint64_t> datagrams_received{0};
  std::atomic<uint64_t> batches_read{0};
  std::atomic<uint64_t> metrics_received{0};
  std::atomic<uint64_t> events_received{0};
  std::atomic<uint64_t> service_checks_received{0};  // cstatsd: DogStatsD `_sc` lines parsed
  std::atomic<uint64_t> bad_lines_seen{0};
  std::atomic<uint64_t> truncated_datagrams{0};
};

// One internal metric before it enters the pipeline (name without prefix).
struct InternalMetric {
  std::string name;
  MetricType type = MetricType::kGauge;
  double value = 0;
  std::vector<std::string> tags;
};

// gostatsd's "ChangeGauge": reported only after the value changes, then on the next 22
// flushes, then quiet until it changes again.
class SparseGauge {
 public:
  bool ShouldReport(uint64_t value) {
    if (value != last_) {
      last_ = value;
      remaining_ = kRepeats + 1;
    }
    if (remaining_ == 0) return false;
    --remaining_;
    return true;
  }

 private:
  static constexpr int kRepeats = 22;
  uint64_t last_ = 0;
  int remaining_ = 0;
};

}  // namespace cstatsd::stats
