// Aggregator: the standalone server's aggregation state. Merges the deltas that workers hand
// over (spec §2.3), computes each flush (§2.5) into an immutable FlushSnapshot, then resets and
// expires series (§2.6). Owned and called by the flusher thread only; the workers read its
// counter and gauge indexes (SeriesIndex) to receive into series it holds by id.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aggregate/flush_snapshot.h"
#include "config/options.h"
#include "core/metric_map.h"

namespace cstatsd::aggregate {

struct AggregatorOptions {
  std::vector<double> percent_thresholds = {90};
  config::DisabledSubMetrics disabled;  // the *_pct flags are applied here
  uint32_t histogram_limit = 4294967295u;
  std::chrono::nanoseconds expiry_counter = std::chrono::minutes(5);
  std::chrono::nanoseconds expiry_gauge = std::chrono::minutes(5);
  std::chrono::nanoseconds expiry_set = std::chrono::minutes(5);
  std::chrono::nanoseconds expiry_timer = std::chrono::minutes(5);
  bool keep_raw_values = false;  // copy timer values and set members into each snapshot

  static AggregatorOptions From(const config::Options& o);
};

// The percentile sub-metric suffix for a threshold: "90", "-10", "99_9" (decisions 1–2).
std::string PercentileSuffix(double threshold);

// Histogram bounds from a gsd_histogram tag value ("10_20_50"): each piece read as Go's
// ParseFloat reads a value (hex floats, underflow to 0), unparsable, out-of-range and NaN
// pieces skipped, truncated to `limit`, then sorted with duplicates removed (as gostatsd's map
// of buckets) and a +Inf bound left out (the +Inf bucket is always emitted).
std::vector<double> HistogramBounds(std::string_view spec, uint32_t limit);

// Appends the buckets of `values` for sorted, unique `bounds`: for each bound the number of
// values <= it (cumulative), then +Inf with every value.
void HistogramBuckets(const std::vector<double>& bounds, const std::vector<double>& values,
                      std::vector<BucketPoint>& out);

class Aggregator {
 public:
  explicit Aggregator(AggregatorOptions options);

  // Merges every series received into `delta` since its last drain and resets them there, so
  // the worker can reuse the entries without allocating; series the worker map has not seen
  // for kForgetAfterDrains drains are dropped from it.
  void Merge(MetricMap& delta);

  // Computes the flush at `now_ns` over `flush_seconds` (spec §2.5).
  SnapshotPtr Flush(int64_t now_ns, double flush_seconds);
  // Resets what was flushed and expires idle series (spec §2.6); call after Flush.
  void Reset(int64_t now_ns);

  // Forwarder mode: hands over what was merged since the last call (spec §2.3, nothing
  // computed); series idle for kForgetAfterDrains calls leave the indexes.
  MetricMap TakeState();

  // The indexes that worker maps look series up in (MetricMap::ids).
  const SeriesIndex<CounterAgg>& counter_index() const { return counters_; }
  const SeriesIndex<GaugeAgg>& gauge_index() const { return gauges_; }
  // Flushes (Reset or TakeState calls) so far. What an index retires in round r is freed by
  // ReleaseRetired(safe) once safe > r: every worker has handed over in a round after r.
  uint64_t round() const { return counters_.round(); }
  void ReleaseRetired(uint64_t safe) {
    counters_.Release(safe);
    gauges_.Release(safe);
  }

  size_t series() const {
    return counters_.size() + gauges_.size() + timers_.size() + sets_.size();
  }
  size_t gauges() const { return gauges_.size(); }
  void set_keep_raw_values(bool keep) { options_.keep_raw_values = keep; }

  static constexpr uint8_t kForgetAfterDrains = 3;

 private:
  struct Threshold {
    double p;
    uint32_t count_name, mean_name, sum_name, sum_squares_name, bound_name;  // name indexes
  };

  void AppendRaw(const std::vector<double>& values, TimerPoint& p, FlushSnapshot& out) const;
  void ComputeTimer(TimerAgg& t, const SeriesKeyRef& key, double flush_seconds, FlushSnapshot& out);

  AggregatorOptions options_;
  std::vector<Threshold> thresholds_;
  std::shared_ptr<std::vector<std::string>> names_;
  SeriesIndex<CounterAgg> counters_;
  SeriesIndex<GaugeAgg> gauges_;
  SeriesTable<TimerAgg> timers_;
  SeriesTable<SetAgg> sets_;
  std::vector<double> prefix_sums_, prefix_squares_;  // scratch for percentiles
};

}  // namespace cstatsd::aggregate
