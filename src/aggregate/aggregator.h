// Aggregator: the standalone server's aggregation state. Merges the deltas that workers hand
// over (docs/aggregation.md#merge), computes each flush (docs/aggregation.md#flush) into an
// immutable FlushSnapshot, then resets and expires series (docs/aggregation.md#reset-and-expiry).
// Owned and called by the flusher thread only; the workers read its counter and gauge indexes
// (SeriesIndex) to receive into series it holds by id.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aggregate/name_counts.h"
#include "config/options.h"
#include "core/metric_map.h"
#include "core/series_limits.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::aggregate {

// The snapshot types live in snapshot/ (backends depend on them, not on the aggregator).
using snapshot::BucketPoint;
using snapshot::CounterPoint;
using snapshot::FlushSnapshot;
using snapshot::GaugePoint;
using snapshot::PercentilePoint;
using snapshot::SetPoint;
using snapshot::SnapshotPtr;
using snapshot::TimerPoint;

struct AggregatorOptions {
  std::vector<double> percent_thresholds = {90};
  config::DisabledSubMetrics disabled;  // the *_pct flags are applied here
  uint32_t histogram_limit = 4294967295u;
  std::chrono::nanoseconds expiry_counter = std::chrono::minutes(5);
  std::chrono::nanoseconds expiry_gauge = std::chrono::minutes(5);
  std::chrono::nanoseconds expiry_set = std::chrono::minutes(5);
  std::chrono::nanoseconds expiry_timer = std::chrono::minutes(5);
  bool keep_raw_values = false;  // copy timer values and set members into each snapshot
  // max-series and max-series-per-metric (docs/limits.md); 0 = no limit (the library default,
  // the server takes the configured ones).
  uint64_t max_series = 0;
  uint64_t max_series_per_metric = 0;
  // float-counters (docs/aggregation.md#float-counters): counters hold doubles (FloatCount).
  bool float_counters = false;

  static AggregatorOptions From(const config::Options& o);
};

// The percentile sub-metric suffix for a threshold: "90", "-10", "99_9"
// (docs/compatibility.md#decision-1, docs/compatibility.md#decision-2).
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
  // A series the state does not hold is added while the limits allow (max-series over every
  // type, max-series-per-metric per name and type); beyond them its values go to its name's
  // overflow series (the name, the single tag cstatsd_overflow:true, no source; counted in
  // series_overflowed) and the delta map forgets it. Overflow series themselves are bounded
  // (SeriesLimits::max_overflow_series); past that a new name's values are dropped (counted in
  // series_dropped). `limited` = false (internal metrics): always added.
  void Merge(MetricMap& delta, bool limited = true);
  // As Merge, for a map that stays alive and unwritten until Reset returns (a worker's map
  // between two hand-overs, HTTP ingestion's between two swaps): Reset gives each timer's value
  // vector back to the map's entry, emptied, so the next interval appends into the capacity it
  // grew instead of allocating it again (docs/performance.md#memory-per-series).
  void MergeLent(MetricMap& delta);

  // Computes the flush at `now_ns` over `flush_seconds` (docs/aggregation.md#flush).
  SnapshotPtr Flush(int64_t now_ns, double flush_seconds);
  // Resets what was flushed and expires idle series (docs/aggregation.md#reset-and-expiry); call
  // after Flush.
  void Reset(int64_t now_ns);

  // Forwarder mode: hands over what was merged since the last call (docs/aggregation.md#merge,
  // nothing computed); series idle for kForgetAfterDrains calls leave the indexes.
  MetricMap TakeState();

  // The indexes that worker maps look series up in (MetricMap::ids).
  const SeriesIndex<CounterAgg>& counter_index() const { return counters_; }
  const SeriesIndex<GaugeAgg>& gauge_index() const { return gauges_; }
  // Flushes (Reset or TakeState calls) so far. What an index retires in round r is freed by
  // ReleaseRetired(safe) once safe > r: every worker has handed over in a round after r. The
  // flusher decides which round is safe (HandOverLedger, server/flusher.h).
  uint64_t round() const { return counters_.round(); }
  void ReleaseRetired(uint64_t safe) {
    counters_.Release(safe);
    gauges_.Release(safe);
  }

  size_t series() const {
    return counters_.size() + gauges_.size() + timers_.size() + sets_.size();
  }
  size_t gauges() const { return gauges_.size(); }
  // Whether the flush just done freed memory for good, worth handing back to the kernel: series
  // came or went (at least kChurn) in this round or in the kForgetAfterDrains + 1 before it
  // (new series' first key copies, expired series, the worker maps forgetting idle ones). In the
  // steady state a flush only frees what the next interval allocates again (timer values). Call
  // once per flush, after Reset.
  bool FreedMemoryForGood() {
    quiet_rounds_ = std::exchange(churn_, 0) >= kChurn ? 0 : quiet_rounds_ + 1;
    return quiet_rounds_ <= kForgetAfterDrains + 1;
  }
  size_t overflow_series() const { return overflow_series_; }

  // The limits, for the maps that feed this aggregator (MetricMap::limits): updated after each
  // Reset / TakeState with what is full.
  std::shared_ptr<const SeriesLimits> limits() const { return limits_; }
  // Since the start: values of series not held that went to an overflow series (once per series
  // and merge; once per line that a map folded on its own), and values dropped because the
  // overflow series are at their bound.
  uint64_t series_overflowed() const { return series_overflowed_; }
  uint64_t series_dropped() const { return series_dropped_; }
  // The first series folded or dropped since the last call, for a log line: its metric name,
  // type and the limit it met ("max-series" / "max-series-per-metric"); empty name if none.
  struct LimitNote {
    std::string name;
    MetricType type = MetricType::kCounter;
    std::string_view limit;
  };
  LimitNote TakeLimitNote() { return std::exchange(note_, LimitNote{}); }
  void set_keep_raw_values(bool keep) { options_.keep_raw_values = keep; }
  // Whether counters hold doubles (float-counters): what a map merged into it must hold.
  bool float_counters() const { return options_.float_counters; }

  static constexpr uint8_t kForgetAfterDrains = 3;

 private:
  struct Threshold {
    double p;
    uint32_t count_name, mean_name, sum_name, sum_squares_name, bound_name;  // name indexes
  };

  // Series counts per type, for the limits.
  struct TypeCounts {
    NameCounts names;            // series per metric name (overflow series not counted)
    std::vector<uint64_t> full;  // names at max-series-per-metric
    size_t overflow = 0;         // overflow series
  };
  // What a delta map's entry merges into: the state's value (nullptr: dropped) and the state's
  // key, which the entry shares (nullptr: folded or dropped, the entry leaves the map).
  template <typename V>
  struct Target {
    V* value = nullptr;
    const SeriesKeyRef* key = nullptr;
  };

  // The merge rules (docs/aggregation.md#merge) of a delta map's value into the state's, with
  // this aggregator's options: float counters add as doubles; a delta-only gauge (gauge-deltas)
  // waits in pending_deltas_ until every map of the interval is merged.
  void MergeInto(CounterAgg& s, const CounterAgg& d);
  void MergeInto(GaugeAgg& s, const GaugeAgg& d);
  void MergeInto(TimerAgg& s, TimerAgg& d);
  void MergeInto(SetAgg& s, SetAgg& d);
  // gauge-deltas: applies the pending deltas (docs/aggregation.md#gauge-deltas); Flush and
  // TakeState call it first.
  void ApplyGaugeDeltas();

  template <typename V, typename Target, typename Find>
  void DrainTable(SeriesTable<V>& table, Find&& find);
  template <typename V>
  void MergeIndexed(SeriesIndex<V>& index, MetricType type, std::vector<IdDelta<V>>& deltas,
                    SeriesTable<V>& table, bool attached);
  template <typename V>
  void MergeTable(SeriesTable<V>& state, MetricType type, SeriesTable<V>& table);
  // A series the state does not hold: added, folded into its name's overflow series, or
  // dropped. find(hash, parts) and insert(key) give Target<V>s of the state.
  template <typename V, typename Find, typename Insert>
  Target<V> NewSeries(MetricType type, const SeriesKeyRef& key, Find&& find, Insert&& insert);
  TypeCounts& counts(MetricType type) { return counts_[static_cast<int>(type) - 1]; }
  void CountName(MetricType type, uint64_t name_hash, bool add);
  // Calls fn(MetricNameHash) for every series of the type that CountName counts (NameCounts).
  template <typename Fn>
  void ForEachNameHash(MetricType type, Fn&& fn);
  void Forget(MetricType type, const SeriesKey& key);  // a series leaves the state
  void PublishLimits();

  // A timer's values in merge order: its one part, or, when several maps sent values, their
  // copy into timer_scratch_ (see MergeInto); an empty vector when none did.
  std::vector<double>& TimerValues(TimerAgg& t);
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
  // Timer values moved from the maps of an interval, one part per map: chained from the state's
  // entry (TimerAgg::extra, 1 + index), given back to the lender or freed by Reset (or folded
  // into the entry by TakeState).
  struct TimerPart {
    uint32_t next;      // 1 + index of the previous part of the same series, 0 if none
    MetricMap* lender;  // MergeLent's map, nullptr for Merge's
    std::vector<double> values;
  };
  void ReturnTimerValues();
  std::vector<TimerPart> timer_parts_;
  std::vector<double> timer_scratch_;
  std::vector<uint32_t> chain_;  // scratch for TimerValues

  std::shared_ptr<SeriesLimits> limits_;
  TypeCounts counts_[4];  // by MetricType - 1
  size_t overflow_series_ = 0;
  bool limited_ = true;          // the current Merge applies the limits
  MetricMap* lender_ = nullptr;  // the current MergeLent's map
  uint64_t series_overflowed_ = 0;
  uint64_t series_dropped_ = 0;
  static constexpr uint64_t kChurn = 1024;
  uint64_t churn_ = 0;  // series added and removed this round (FreedMemoryForGood)
  uint64_t quiet_rounds_ = 0;
  LimitNote note_;
  std::string overflow_key_;          // scratch: name + kOverflowTag
  std::vector<uint64_t> full_names_;  // scratch for PublishLimits
  // Delta-only gauges merged since the last Flush / TakeState: the state's gauge (entries of a
  // SeriesIndex never move, and none is erased before ApplyGaugeDeltas), the sum of the
  // deltas and when they were last received.
  struct PendingDelta {
    GaugeAgg* gauge;
    double delta;
    int64_t received_ns;
  };
  std::vector<PendingDelta> pending_deltas_;
};

}  // namespace cstatsd::aggregate
