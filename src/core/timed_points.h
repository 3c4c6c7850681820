// TimedPoints: counter and gauge samples that carry their own timestamp (DogStatsD `|T<unix
// seconds>`), aggregated per (series, timestamp) — counters add up, gauges keep the value received
// last — apart from the interval's series (docs/aggregation.md#timestamped-samples). A worker
// fills the one in its MetricMap; the map's hand-over gives it to the flusher, which merges every
// map's into its own and empties them. One owning thread at a time, as the map. Bounded: past
// max_points() distinct points a new one is dropped and counted (docs/limits.md). Memory is kept
// across Clear(), so a warm structure receives without allocating.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/metric.h"
#include "core/series_key.h"

namespace cstatsd {

class TimedPoints {
 public:
  // Distinct (series, timestamp) points one structure holds per interval (docs/limits.md).
  static constexpr size_t kDefaultMaxPoints = 100000;
  // The window a timestamp must fall in, relative to the receive time
  // (docs/aggregation.md#timestamped-samples): at most an hour old, at most ten minutes ahead.
  static constexpr int64_t kMaxAgeSeconds = 3600;
  static constexpr int64_t kMaxAheadSeconds = 600;

  struct Point {
    uint64_t series_hash;  // SeriesKey::Hash of the key
    int64_t timestamp;     // unix seconds
    int64_t last_ns;       // receive time of the last sample (a gauge's newest wins)
    int64_t count;         // counter: the sum of deltas
    double value;          // gauge: the last value
    uint32_t key_off, key_len, name_len, tags_len;
    MetricType type;
  };

  explicit TimedPoints(size_t max_points = kDefaultMaxPoints) : max_points_(max_points) {}

  // Whether `timestamp` (unix seconds) is in the window around `now_ns`.
  static bool InWindow(int64_t timestamp, int64_t now_ns) {
    const int64_t now_s = now_ns / 1000000000;
    return timestamp >= now_s - kMaxAgeSeconds && timestamp <= now_s + kMaxAheadSeconds;
  }

  // The receive rules: a counter's delta adds up, a gauge's value replaces the point's unless an
  // older receive (now_ns < the point's last_ns) brings it. `parts.type` says which. A sample
  // outside the window, or of a new point when the structure is full, is counted and dropped.
  void Add(const KeyParts& parts, uint64_t series_hash, int64_t timestamp, int64_t count,
           double value, int64_t now_ns);
  void AddCounter(const KeyParts& parts, uint64_t series_hash, int64_t timestamp, int64_t delta,
                  int64_t now_ns) {
    Add(parts, series_hash, timestamp, delta, 0, now_ns);
  }
  void AddGauge(const KeyParts& parts, uint64_t series_hash, int64_t timestamp, double value,
                int64_t now_ns) {
    Add(parts, series_hash, timestamp, 0, value, now_ns);
  }

  // Adds every point of `other` (the merge rules are the receive rules, the window is not checked
  // again) and its drop counts, then empties it. `remap(parts, hash)` may give a point another
  // identity on the way (the flusher's series limits).
  void MergeFrom(TimedPoints& other) {
    MergeFrom(other, [](KeyParts&, uint64_t&) {});
  }
  template <typename Remap>
  void MergeFrom(TimedPoints& other, Remap&& remap) {
    for (const Point& o : other.points_) {
      KeyParts parts = other.PartsOf(o);
      uint64_t hash = o.series_hash;
      remap(parts, hash);
      MergePoint(o, parts, hash);
    }
    dropped_window_ += other.dropped_window_;
    dropped_full_ += other.dropped_full_;
    other.ResetDropped();
    other.Clear();
  }

  const std::vector<Point>& points() const { return points_; }
  KeyParts PartsOf(const Point& p) const {
    return KeyParts{p.type, std::string_view(keys_.data() + p.key_off, p.key_len), p.name_len,
                    p.tags_len};
  }
  size_t size() const { return points_.size(); }
  bool empty() const { return points_.empty(); }
  size_t max_points() const { return max_points_; }

  // Samples dropped since the last ResetDropped(): outside the window, or for a new point while
  // full.
  uint64_t dropped_window() const { return dropped_window_; }
  uint64_t dropped_full() const { return dropped_full_; }
  void ResetDropped() { dropped_window_ = dropped_full_ = 0; }

  // Empties the structure (drop counts kept); its memory stays for the next interval.
  void Clear();

 private:
  static uint64_t Mix(uint64_t series_hash, int64_t timestamp) {
    uint64_t h = series_hash ^ (static_cast<uint64_t>(timestamp) * 0x9E3779B97F4A7C15ULL);
    h ^= h >> 29;
    return h;
  }
  void MergePoint(const Point& o, const KeyParts& parts, uint64_t hash);
  Point* Find(const KeyParts& parts, uint64_t series_hash, int64_t timestamp, uint64_t mixed);
  Point* Insert(const KeyParts& parts, uint64_t series_hash, int64_t timestamp, uint64_t mixed);
  void Rehash(size_t slots);

  size_t max_points_;
  std::vector<Point> points_;
  std::vector<char> keys_;       // every point's key bytes, one after the other
  size_t keys_len_ = 0;          // bytes of keys_ in use
  std::vector<uint32_t> slots_;  // open addressing: index into points_ + 1, 0 = empty
  uint64_t dropped_window_ = 0;
  uint64_t dropped_full_ = 0;
};

}  // namespace cstatsd
