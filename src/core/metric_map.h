// MetricMap: raw aggregates per series, by type (spec §2.2 receive rules, §2.3 merge rules).
// A worker fills one (its LocalMap) from parsed lines; the flusher merges those into the
// aggregator state. The thread that owns a map is the only one touching it; maps cross threads
// only by hand-over (see ingest/worker.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/series_table.h"

namespace cstatsd {

// Set members; lookups by string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept;
};
using SetMembers = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// A value in a worker map is drained by each merge; `last_ns` (the last-update time, unix ns,
// for merging and expiry) also says whether it was received into since: a drained value holds
// kDrainedNs plus the number of drains that found it so (a worker map forgets series idle for a
// while), which no real time comes near. Keeping that state in last_ns instead of two more
// fields makes a counter or gauge 16 bytes and its table entry 24 (docs/performance.md).
// Aggregator state never holds a drained value.
inline constexpr int64_t kDrainedNs = INT64_MIN;
inline constexpr int64_t kMaxIdleDrains = 255;

struct CounterAgg {
  int64_t value = 0;
  int64_t last_ns = kDrainedNs;
};

struct GaugeAgg {
  double value = 0;
  int64_t last_ns = kDrainedNs;
};

struct TimerAgg {
  std::vector<double> values;
  double sampled_count = 0;  // Σ 1/rate per line (spec §2.2)
  int64_t last_ns = kDrainedNs;
};

struct SetAgg {
  SetMembers members;
  int64_t last_ns = kDrainedNs;
};

// Whether a value was received into since it was created or last drained.
template <typename A>
bool Received(const A& a) {
  return a.last_ns > kDrainedNs + kMaxIdleDrains;
}
// How many drains in a row found a value not received into (0 if it was).
template <typename A>
int64_t IdleDrains(const A& a) {
  return Received(a) ? 0 : a.last_ns - kDrainedNs;
}
// A drain took the value's content: it counts as not received into, idle for 0 drains.
template <typename A>
void MarkDrained(A& a) {
  a.last_ns = kDrainedNs;
}
// A drain found the value not received into.
template <typename A>
void CountIdleDrain(A& a) {
  if (a.last_ns < kDrainedNs + kMaxIdleDrains) ++a.last_ns;
}

// int64(sum / rate) with truncation toward zero, saturating where Go's conversion would be
// undefined (|x| ≥ 2^63, ±Inf). Inline: it runs for every counter line.
inline int64_t CounterDelta(double sum, double rate) {
  const double v = rate == 1.0 ? sum : sum / rate;
  constexpr double kLimit = 9223372036854775808.0;                // 2^63
  if (v < kLimit && v > -kLimit) return static_cast<int64_t>(v);  // truncates toward zero
  if (v >= kLimit) return INT64_MAX;
  if (v <= -kLimit) return INT64_MIN;
  return 0;  // NaN
}

class MetricMap {
 public:
  SeriesTable<CounterAgg> counters;
  SeriesTable<GaugeAgg> gauges;
  SeriesTable<TimerAgg> timers;
  SeriesTable<SetAgg> sets;

  size_t size() const { return counters.size() + gauges.size() + timers.size() + sets.size(); }
  bool empty() const { return size() == 0; }
  void Clear() {
    counters.Clear();
    gauges.Clear();
    timers.Clear();
    sets.Clear();
  }

  // Receive rules (§2.2) for a series given by its parts (`parts.type` is the table's type)
  // and their hash (SeriesKey::Hash(parts)).
  void ReceiveCounter(const KeyParts& parts, uint64_t hash, int64_t delta, int64_t now_ns);
  // Decision 4: the value received last wins (now_ns >= stored).
  void ReceiveGauge(const KeyParts& parts, uint64_t hash, double value, int64_t now_ns);
  // Appends the values; `sampled` is what they count for: 1/rate for a parsed line, the
  // forwarder's SampleCount for a forwarded series (spec §5.3).
  void ReceiveTimer(const KeyParts& parts, uint64_t hash, const double* values, size_t n,
                    double sampled, int64_t now_ns);
  void ReceiveSet(const KeyParts& parts, uint64_t hash, std::string_view member, int64_t now_ns);
  // A forwarded set: every member (the series exists even with none, as gostatsd's).
  void ReceiveSet(const KeyParts& parts, uint64_t hash, std::span<const std::string_view> members,
                  int64_t now_ns);

  // Starts loading the slot where a series of this type and hash would be (batched receive).
  void Prefetch(MetricType type, uint64_t hash) const {
    switch (type) {
      case MetricType::kCounter:
        counters.Prefetch(hash);
        break;
      case MetricType::kGauge:
        gauges.Prefetch(hash);
        break;
      case MetricType::kTimer:
        timers.Prefetch(hash);
        break;
      case MetricType::kSet:
        sets.Prefetch(hash);
        break;
    }
  }

 private:
  template <typename V>
  static V& FindOrInsert(SeriesTable<V>& table, const KeyParts& parts, uint64_t hash);
};

}  // namespace cstatsd
