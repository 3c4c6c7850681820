// MetricMap: raw aggregates per series, by type (docs/aggregation.md#receive receive rules,
// docs/aggregation.md#merge merge rules). A worker fills one (its LocalMap) from parsed lines; the
// flusher merges those into the aggregator state. The thread that owns a map is the only one
// touching it; maps cross threads only by hand-over (see ingest/worker.h).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "core/metric.h"
#include "core/series_index.h"
#include "core/series_limits.h"
#include "core/series_table.h"
#include "core/timed_points.h"

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
  double sampled_count = 0;  // Σ 1/rate per line (docs/aggregation.md#receive)
  int64_t last_ns = kDrainedNs;
  // The kinds received since the last drain or reset: united by every merge, so the kind a
  // flush reports does not depend on the merge order (docs/aggregation.md#timer-kinds).
  TimerKindSet kinds = 0;
  // Aggregator state: the kind of the last interval that received lines, reported by a timer
  // kept without lines. The two bytes take 8 with alignment: a TimerAgg is 48 bytes (was 40).
  TimerKind last_kind = TimerKind::kMs;
  // Fits the padding (still 48 bytes). Worker maps: how many values the entry held when it was
  // last merged; the merge moves the values out (no copy) and the flush's Reset gives the vector
  // back emptied (Aggregator::MergeLent); without it, the first line of the next interval
  // reserves about this many at once. Aggregator state:
  // 1 + the index of the series' last part of values (Aggregator::timer_parts_), 0 if none
  // (docs/performance.md#memory-per-series).
  uint32_t extra = 0;
};
static_assert(sizeof(TimerAgg) == 48);

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

// gauge-deltas (docs/aggregation.md#gauge-deltas): a worker map's gauge that received only
// deltas since its last drain holds their sum, and its last_ns holds DeltaOnlyNs(last receive),
// which is negative (receive times are >= 0) and still Received(). One that received an
// absolute value holds it plus the deltas after it, with a plain last_ns. The aggregator's own
// gauges always hold absolute values. Off, no gauge is ever delta-only.
inline constexpr int64_t DeltaOnlyNs(int64_t t) { return -1 - t; }
inline bool DeltaOnly(const GaugeAgg& g) { return g.last_ns < 0 && Received(g); }
inline int64_t GaugeReceiveNs(const GaugeAgg& g) {
  return DeltaOnly(g) ? -1 - g.last_ns : g.last_ns;
}

// float-counters (docs/aggregation.md#float-counters): CounterAgg::value holds the bits of a
// double instead of an int64 (0 is 0.0 either way, so resetting and draining are the same).
inline double FloatCount(int64_t bits) { return std::bit_cast<double>(bits); }
inline int64_t FloatCountBits(double count) { return std::bit_cast<int64_t>(count); }
// What one counter line adds with float-counters: sum / rate, clamped to ±2^63 (the range of an
// integer count), so that no sum becomes ±Inf or NaN.
inline double FloatCounterDelta(double sum, double rate) {
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  const double d = rate == 1.0 ? sum : sum / rate;
  return d > kLimit ? kLimit : d < -kLimit ? -kLimit : d;
}

// int64(sum / rate) with truncation toward zero, saturating where Go's conversion would be
// undefined (|x| ≥ 2^63, ±Inf). Inline: it runs for every counter line.
inline int64_t CounterDelta(double sum, double rate) {
  return SaturateToInt64(rate == 1.0 ? sum : sum / rate);
}

// What a worker received into a series the aggregator's index already holds, taken out at the
// hand-over (IdColumn::TakeReceived).
template <typename V>
struct IdDelta {
  uint32_t id;
  V value;
};

// A value of type T by series id (the aggregator's SeriesIndex ids), grown on demand and filled
// with `unset` (not received into since the last hand-over); the store of IdColumn and
// CounterColumn. One per worker, not per map: at the hand-over the worker copies what was
// received into the outgoing map (ADR 0002).
template <typename T>
class IdSlots {
 public:
  explicit IdSlots(T unset) : unset_(unset) {}

  [[gnu::always_inline]] T& At(uint32_t id) {
    if (id >= size_) Grow(id);
    return data_[id];
  }

  // Appends {id, make(value)} for every value with is_set(value) to `out` and sets it back to
  // `unset`. A scan of every id (a million in a few ms) once per flush, instead of marking each
  // line's id in a bitmap.
  template <typename D, typename IsSet, typename Make>
  void Take(std::vector<IdDelta<D>>& out, IsSet is_set, Make make) {
    out.reserve(out.size() + last_taken_);  // as many as last time, usually
    const size_t before = out.size();
    for (size_t id = 0; id < size_; ++id) {
      if (!is_set(data_[id])) continue;
      out.push_back({static_cast<uint32_t>(id), make(data_[id])});
      data_[id] = unset_;
    }
    last_taken_ = out.size() - before;
  }

 private:
  void Grow(uint32_t id) {
    values_.resize(std::max<size_t>(size_t{id} + 1, values_.size() * 2), unset_);
    data_ = values_.data();
    size_ = values_.size();
  }

  std::vector<T> values_;
  T* data_ = nullptr;  // values_.data() and values_.size(), for At
  size_t size_ = 0;
  size_t last_taken_ = 0;
  T unset_;
};

// A worker's values of one fixed-size type by series id; a value's last_ns says whether it was
// received into since the last hand-over (Received()): 16 bytes a series for a gauge.
template <typename V>
class IdColumn {
 public:
  const SeriesIndex<V>* index = nullptr;

  // The value by id; the receive rule marks it received (its last_ns, see Received()).
  [[gnu::always_inline]] V& Receive(uint32_t id) { return slots_.At(id); }

  // The value of the series with these parts if the index holds it. Inlined: every counter
  // and gauge line of the steady state takes this path.
  [[gnu::always_inline]] V* Find(uint64_t hash, const KeyParts& parts) {
    const uint32_t id = index->Find(hash, parts);
    return id != kNoSeriesId ? &Receive(id) : nullptr;
  }

  // Appends every value received into since the last call to `out` and resets it.
  void TakeReceived(std::vector<IdDelta<V>>& out) {
    slots_.Take(
        out, [](const V& v) { return Received(v); }, [](const V& v) { return v; });
  }

 private:
  IdSlots<V> slots_{V()};
};

// A worker's counters by series id: 8 bytes each, half an IdColumn<CounterAgg>'s, since with a
// million series held by every worker these columns are a quarter of the memory
// (docs/performance.md#memory-per-series). A value is the count itself (int64, or the bits of a
// double with float-counters), kUnset when not received into since the last hand-over; instead
// of each series' last receive time, the column keeps the latest time of any line it took, and
// the hand-over stamps every delta with it (docs/aggregation.md#reset-and-expiry: a counter's
// expiry counts from its worker's last line of the interval).
class CounterColumn {
 public:
  // Not received into. An int count that saturates there is kept one above it; a double sum
  // started from +0.0 is never -0.0, whose bits these are.
  static constexpr int64_t kUnset = INT64_MIN;

  const SeriesIndex<CounterAgg>* index = nullptr;

  // The count of the series with these parts if the index holds it (the line's time noted).
  [[gnu::always_inline]] int64_t* Find(uint64_t hash, const KeyParts& parts, int64_t now_ns) {
    const uint32_t id = index->Find(hash, parts);
    if (id == kNoSeriesId) return nullptr;
    if (now_ns > latest_ns_) latest_ns_ = now_ns;
    return &slots_.At(id);
  }
  static void Add(int64_t& count, int64_t delta) {
    const int64_t sum = SaturatingAdd(count == kUnset ? 0 : count, delta);
    count = sum == kUnset ? kUnset + 1 : sum;
  }
  static void AddFloat(int64_t& count, double delta) {
    count = FloatCountBits(FloatCount(count == kUnset ? 0 : count) + delta);
  }

  // As IdColumn::TakeReceived, every delta with the latest time.
  void TakeReceived(std::vector<IdDelta<CounterAgg>>& out) {
    slots_.Take(
        out, [](int64_t c) { return c != kUnset; },
        [t = latest_ns_](int64_t c) {
          return CounterAgg{c, t};
        });
  }

 private:
  IdSlots<int64_t> slots_{kUnset};
  int64_t latest_ns_ = kDrainedNs;
};

// A worker's counters and gauges by series id (see CounterColumn, IdColumn).
struct IdValues {
  CounterColumn counters;
  IdColumn<GaugeAgg> gauges;
};

class MetricMap {
 public:
  // Series by key. In a worker map attached to the aggregator's indexes (`ids` set), counters
  // and gauges are here only until the aggregator holds them; then they go to `ids`.
  SeriesTable<CounterAgg> counters;
  SeriesTable<GaugeAgg> gauges;
  SeriesTable<TimerAgg> timers;
  SeriesTable<SetAgg> sets;

  // Worker maps only: the worker's values by series id (shared by its two maps), and what the
  // worker took out of them at the hand-over of this map (the aggregator merges and frees it).
  IdValues* ids = nullptr;
  std::vector<IdDelta<CounterAgg>> counter_deltas;
  std::vector<IdDelta<GaugeAgg>> gauge_deltas;
  // Counter and gauge samples with their own timestamp (docs/aggregation.md#timestamped-samples):
  // kept apart from the interval's series; the flusher merges and empties them.
  TimedPoints timed;

  // Maps that feed the aggregator (workers', HTTP ingestion's): the aggregator's series limits.
  // A series new to this map is taken as it is, unless the map holds map_max_entries() series,
  // or its name (or every name) was at its limit at the last flush and the map already took
  // map_new_while_full() such series since its last merge: then its values go to the name's
  // overflow series here (counted in `overflowed`), or, past max_overflow_series() more
  // entries, nowhere (counted in `dropped`). The merge decides exactly for what the map took,
  // and resets the three counts.
  std::shared_ptr<const SeriesLimits> limits;
  uint64_t new_while_full = 0;
  uint64_t overflowed = 0;
  uint64_t dropped = 0;

  size_t size() const {
    return entries() + counter_deltas.size() + gauge_deltas.size() + timed.size();
  }
  // Series in the tables (by key).
  size_t entries() const { return counters.size() + gauges.size() + timers.size() + sets.size(); }
  bool empty() const { return size() == 0; }
  void Clear() {
    counters.Clear();
    gauges.Clear();
    timers.Clear();
    sets.Clear();
    counter_deltas.clear();
    gauge_deltas.clear();
    timed.Clear();
  }

  // The worker, at a hand-over: moves what `ids` received into the deltas.
  void TakeReceivedIds() {
    if (ids == nullptr) return;
    ids->counters.TakeReceived(counter_deltas);
    ids->gauges.TakeReceived(gauge_deltas);
  }

  // Receive rules (docs/aggregation.md#receive) for a series given by its parts (`parts.type` is
  // the table's type) and their hash (SeriesKey::Hash(parts)).
  void ReceiveCounter(const KeyParts& parts, uint64_t hash, int64_t delta, int64_t now_ns);
  // float-counters: adds `delta` (FloatCounterDelta) to the counter's double (FloatCount).
  void ReceiveFloatCounter(const KeyParts& parts, uint64_t hash, double delta, int64_t now_ns);
  // docs/compatibility.md#decision-4: the value received last wins (now_ns >= stored).
  void ReceiveGauge(const KeyParts& parts, uint64_t hash, double value, int64_t now_ns);
  // gauge-deltas: a signed gauge value adjusts what this map holds for the series since its last
  // drain, in arrival order (see DeltaOnly).
  void ReceiveGaugeDelta(const KeyParts& parts, uint64_t hash, double delta, int64_t now_ns);
  // Appends the values; `sampled` is what they count for: 1/rate for a parsed line, the
  // forwarder's SampleCount for a forwarded series (docs/http.md#ingestion).
  void ReceiveTimer(const KeyParts& parts, uint64_t hash, const double* values, size_t n,
                    double sampled, TimerKind kind, int64_t now_ns);
  void ReceiveSet(const KeyParts& parts, uint64_t hash, std::string_view member, int64_t now_ns);
  // A forwarded set: every member (the series exists even with none, as gostatsd's).
  void ReceiveSet(const KeyParts& parts, uint64_t hash, std::span<const std::string_view> members,
                  int64_t now_ns);

  // Starts loading the slot where a series of this type and hash would be (batched receive).
  void Prefetch(MetricType type, uint64_t hash) const {
    switch (type) {
      case MetricType::kCounter:
        if (ids != nullptr) {
          ids->counters.index->Prefetch(hash);
        } else {
          counters.Prefetch(hash);
        }
        break;
      case MetricType::kGauge:
        if (ids != nullptr) {
          ids->gauges.index->Prefetch(hash);
        } else {
          gauges.Prefetch(hash);
        }
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
  V& FindOrInsert(SeriesTable<V>& table, const KeyParts& parts, uint64_t hash,
                  IdColumn<V>* column = nullptr);
  // A series new to this map, within `limits` if set (see there). Out of line: the steady
  // state finds its series.
  template <typename V>
  [[gnu::noinline]] V& InsertLimited(SeriesTable<V>& table, const KeyParts& parts, uint64_t hash,
                                     IdColumn<V>* column);
  // Room for n more values in a timer (see TimerAgg::extra). Out of line: once per
  // series and interval in the steady state.
  [[gnu::noinline]] static void ReserveTimerValues(TimerAgg& t, size_t n);
  // Where a dropped line's values go: emptied for each one, never merged.
  template <typename V>
  V& Sink();

  std::string overflow_key_;  // scratch: name + kOverflowTag
  std::tuple<CounterAgg, GaugeAgg, TimerAgg, SetAgg> sinks_;
};

}  // namespace cstatsd
