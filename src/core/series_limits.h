// SeriesLimits: max-series and max-series-per-metric (docs/limits.md, "Cardinality and
// flushing") as the maps that feed the aggregator see them. The aggregator (flusher thread) owns
// the object, decides exactly at each merge which new series it takes, and publishes after each
// flush which metric names (and whether all of them) are at their limit. Workers and HTTP
// ingestion read that without a lock, only when their map meets a series new to it, to bound
// what a flood of new series costs them between two flushes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/metric.h"
#include "core/series_key.h"

namespace cstatsd {

// The tag of a metric name's overflow series: name, this single tag, no source.
inline constexpr std::string_view kOverflowTag = "cstatsd_overflow:true";

// Whether a key is an overflow series (the tag above, alone, and no source).
inline bool IsOverflowKey(const SeriesKey& key) {
  return key.tags() == kOverflowTag && key.source().empty();
}

// The identity of a (type, metric name) for max-series-per-metric: a 64-bit hash, never 0.
uint64_t MetricNameHash(MetricType type, std::string_view name);

class SeriesLimits {
 public:
  // max_series: series of all types together, beyond which new series fold into their name's
  // overflow series; max_series_per_metric: the same per metric name and type. 0 = no limit.
  SeriesLimits(uint64_t max_series, uint64_t max_series_per_metric);

  bool enabled() const { return max_series_ != 0 || max_series_per_metric_ != 0; }
  uint64_t max_series() const { return max_series_; }
  uint64_t max_series_per_metric() const { return max_series_per_metric_; }
  // Overflow series held beyond max-series: one per metric name and type, at most this many
  // (a tenth of max-series, at least 1); past it a new name's values are dropped and counted.
  uint64_t max_overflow_series() const { return max_overflow_; }
  // What one map (a worker's, between two hand-overs) may hold: new series of names at their
  // limit (each waits for the merge to decide), and entries in all (the flood before the first
  // flush that published anything). Past them a map folds a new series on its own.
  uint64_t map_new_while_full() const { return map_new_while_full_; }
  uint64_t map_max_entries() const { return map_max_entries_; }

  // Any thread: whether the aggregator, at its last flush, held max-series series, or
  // max-series-per-metric of this name (MetricNameHash). A series published late or early
  // costs at most one interval: the merge decides exactly.
  bool AllFull() const { return all_full_.load(std::memory_order_relaxed); }
  bool NameFull(uint64_t name_hash) const;

  // The flusher, after a flush: what is full now. Names past kMaxPublishedNames are not
  // published (their maps take new series up to map_new_while_full() and the merge folds them).
  void Publish(bool all_full, const std::vector<uint64_t>& full_names);

  static constexpr size_t kSlots = 8192;
  static constexpr size_t kMaxPublishedNames = kSlots / 2;

 private:
  const uint64_t max_series_;
  const uint64_t max_series_per_metric_;
  const uint64_t max_overflow_;
  const uint64_t map_new_while_full_;
  const uint64_t map_max_entries_;
  std::atomic<bool> all_full_{false};
  std::atomic<bool> any_name_full_{false};
  // Name hashes at their limit, open addressing (0 = empty); rewritten in place by Publish, so
  // while it runs a reader may miss a name, or still see one full at the previous flush only.
  std::array<std::atomic<uint64_t>, kSlots> names_{};
  std::vector<uint64_t> published_;  // flusher: sorted, what names_ holds
};

}  // namespace cstatsd
