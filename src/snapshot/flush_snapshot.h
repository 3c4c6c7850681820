// FlushSnapshot: the values computed at one flush (docs/aggregation.md#flush), immutable once
// published. The flusher builds it; every backend receives the same shared_ptr<const FlushSnapshot>
// on its own thread and may keep it as long as it needs (keys are reference-counted).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metric.h"
#include "core/series_key.h"

namespace cstatsd::snapshot {

struct CounterPoint {
  SeriesKeyRef key;
  int64_t value = 0;      // "count"; with float-counters, float_value truncated toward zero
  double per_second = 0;  // "rate" / "per_second": the count / flush_seconds
  // With float-counters (FlushSnapshot::float_counters), the count with its fraction
  // (docs/aggregation.md#float-counters); 0 otherwise. Backends read Count().
  double float_value = 0;
};

struct GaugePoint {
  SeriesKeyRef key;
  double value = 0;
  // When the value was last received (unix ns, the newest receive timestamp,
  // docs/aggregation.md#receive). A gauge is reported at every flush until it expires
  // (docs/aggregation.md#reset-and-expiry): one not received since the previous flush keeps its
  // older last_ns. 0 for an internal metric, which is reported only by the flush that received
  // it.
  int64_t last_ns = 0;
};

struct SetPoint {
  SeriesKeyRef key;
  uint64_t cardinality = 0;
  uint32_t members_begin = 0, members_end = 0;  // into FlushSnapshot::set_members (raw mode)
};

// One percentile sub-metric, e.g. {"upper_90", 12}. `name` points into the snapshot's
// percentile_names.
struct PercentilePoint {
  std::string_view name;
  double value = 0;
};

// One histogram bucket: values ≤ le (cumulative); le = +Inf for the last.
struct BucketPoint {
  double le = 0;
  uint64_t count = 0;
};

struct TimerPoint {
  SeriesKeyRef key;
  bool histogram = false;  // gsd_histogram timer: only buckets are meaningful
  // The statsd type of the lines, `ms` (milliseconds) or `h` (no unit); when both were
  // received in the interval, `ms` (docs/aggregation.md#timer-kinds). Every backend gostatsd
  // has ignores it; a producer that does not set it means `ms`.
  TimerKind kind = TimerKind::kMs;
  int64_t count = 0;  // round(SampledCount)
  double count_per_second = 0;
  double min = 0;  // "lower"
  double max = 0;  // "upper"
  double mean = 0;
  double median = 0;
  double stddev = 0;
  double sum = 0;
  double sum_squares = 0;
  uint32_t percentiles_begin = 0, percentiles_end = 0;  // into FlushSnapshot::percentiles
  uint32_t buckets_begin = 0, buckets_end = 0;          // into FlushSnapshot::buckets
  uint32_t values_begin = 0, values_end = 0;  // into FlushSnapshot::timer_values (raw mode)
};

// Samples that carried their own timestamp (DogStatsD `|T`), one per (series, timestamp)
// (docs/aggregation.md#timestamped-samples). Backends that take a timestamp write each at its own;
// the others receive a snapshot where they were folded into `counters` and `gauges` (FoldTimed).
struct TimedCounterPoint {
  SeriesKeyRef key;
  int64_t value = 0;      // the sum of the interval's samples for that second
  double per_second = 0;  // value / flush_seconds, as a counter's rate
  int64_t timestamp = 0;  // unix seconds
};

struct TimedGaugePoint {
  SeriesKeyRef key;
  double value = 0;       // the sample received last for that second
  int64_t timestamp = 0;  // unix seconds
};

struct FlushSnapshot {
  int64_t flush_time_ns = 0;  // unix ns of the flush
  double flush_seconds = 0;   // measured interval the rates are computed over

  // float-counters: counters hold their fraction in CounterPoint::float_value, which backends
  // write as a float (docs/aggregation.md#float-counters); off, CounterPoint::value as an integer.
  bool float_counters = false;
  std::vector<CounterPoint> counters;
  std::vector<GaugePoint> gauges;
  std::vector<SetPoint> sets;
  std::vector<TimerPoint> timers;
  std::vector<PercentilePoint> percentiles;
  std::vector<BucketPoint> buckets;
  std::shared_ptr<const std::vector<std::string>> percentile_names;  // backs PercentilePoint::name
  // Raw values, only when a backend asked for them (statsdaemon re-emits every value).
  bool has_raw_values = false;
  std::vector<double> timer_values;      // each timer's values, sorted
  std::vector<std::string> set_members;  // each set's members
  // Timestamped samples, sorted by timestamp then key; empty in a snapshot from FoldTimed.
  std::vector<TimedCounterPoint> timed_counters;
  std::vector<TimedGaugePoint> timed_gauges;
  bool has_timed() const { return !timed_counters.empty() || !timed_gauges.empty(); }

  // A counter's count as a double: float_value with float_counters, value otherwise.
  double Count(const CounterPoint& c) const {
    return float_counters ? c.float_value : static_cast<double>(c.value);
  }

  int64_t flush_unix_seconds() const { return flush_time_ns / 1000000000; }
  size_t series() const { return counters.size() + gauges.size() + sets.size() + timers.size(); }

  struct Range {
    const PercentilePoint* b;
    const PercentilePoint* e;
    const PercentilePoint* begin() const { return b; }
    const PercentilePoint* end() const { return e; }
  };
  Range PercentilesOf(const TimerPoint& t) const {
    return {percentiles.data() + t.percentiles_begin, percentiles.data() + t.percentiles_end};
  }
  struct BucketRange {
    const BucketPoint* b;
    const BucketPoint* e;
    const BucketPoint* begin() const { return b; }
    const BucketPoint* end() const { return e; }
  };
  template <typename T>
  struct Span {
    const T* b;
    const T* e;
    const T* begin() const { return b; }
    const T* end() const { return e; }
  };
  Span<double> ValuesOf(const TimerPoint& t) const {
    return {timer_values.data() + t.values_begin, timer_values.data() + t.values_end};
  }
  Span<std::string> MembersOf(const SetPoint& s) const {
    return {set_members.data() + s.members_begin, set_members.data() + s.members_end};
  }
  BucketRange BucketsOf(const TimerPoint& t) const {
    return {buckets.data() + t.buckets_begin, buckets.data() + t.buckets_end};
  }
};

using SnapshotPtr = std::shared_ptr<const FlushSnapshot>;

}  // namespace cstatsd::snapshot
