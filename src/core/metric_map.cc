#include "core/metric_map.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cstatsd {

size_t StringHash::operator()(std::string_view s) const noexcept {
  return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
}

template <typename V>
V& MetricMap::FindOrInsert(SeriesTable<V>& table, const KeyParts& parts, uint64_t hash,
                           IdColumn<V>* column) {
  if (V* v = table.Find(hash, parts)) return *v;
  return InsertLimited(table, parts, hash, column);
}

template <typename V>
V& MetricMap::Sink() {
  V& v = std::get<V>(sinks_);
  v.last_ns = kDrainedNs;
  if constexpr (std::is_same_v<V, TimerAgg>) {
    v.values.clear();
    v.sampled_count = 0;
    v.kinds = 0;
  } else if constexpr (std::is_same_v<V, SetAgg>) {
    v.members.clear();
  } else {
    v.value = 0;
  }
  return v;
}

template <typename V>
V& MetricMap::InsertLimited(SeriesTable<V>& table, const KeyParts& parts, uint64_t hash,
                            IdColumn<V>* column) {
  if (limits == nullptr || !limits->enabled()) {
    return table.Insert(SeriesKeyRef::Adopt(SeriesKey::Create(parts, hash)));
  }
  const SeriesLimits& l = *limits;
  const size_t held = entries();
  bool fold = l.map_max_entries() != 0 && held >= l.map_max_entries();
  if (!fold && (l.AllFull() || l.NameFull(MetricNameHash(parts.type, parts.name())))) {
    // The aggregator will most likely fold it: take only so many such series per interval.
    fold = new_while_full >= l.map_new_while_full();
    if (!fold) ++new_while_full;
  }
  if (!fold) return table.Insert(SeriesKeyRef::Adopt(SeriesKey::Create(parts, hash)));

  // The name's overflow series: by id if the aggregator holds it, else in this map.
  overflow_key_.assign(parts.name());
  overflow_key_.append(kOverflowTag);
  const KeyParts o{parts.type, overflow_key_, parts.name_len,
                   static_cast<uint32_t>(kOverflowTag.size())};
  const uint64_t o_hash = SeriesKey::Hash(o);
  V* v = column != nullptr ? column->Find(o_hash, o) : nullptr;
  if (v == nullptr) v = table.Find(o_hash, o);
  if (v == nullptr &&
      (l.map_max_entries() == 0 || held < l.map_max_entries() + l.max_overflow_series())) {
    v = &table.Insert(SeriesKeyRef::Adopt(SeriesKey::Create(o, o_hash)));
  }
  if (v == nullptr) {
    ++dropped;
    return Sink<V>();
  }
  ++overflowed;
  return *v;
}

void MetricMap::ReceiveCounter(const KeyParts& parts, uint64_t hash, int64_t delta,
                               int64_t now_ns) {
  if (ids != nullptr) {
    if (int64_t* count = ids->counters.Find(hash, parts, now_ns)) {
      CounterColumn::Add(*count, delta);
      return;
    }
  }
  // A counter folded into an overflow series the index holds goes to this table's entry for it
  // (no column), which the merge adds by key.
  CounterAgg& c = FindOrInsert(counters, parts, hash);
  c.value = SaturatingAdd(c.value, delta);
  if (now_ns > c.last_ns) c.last_ns = now_ns;
}

void MetricMap::ReceiveFloatCounter(const KeyParts& parts, uint64_t hash, double delta,
                                    int64_t now_ns) {
  if (ids != nullptr) {
    if (int64_t* count = ids->counters.Find(hash, parts, now_ns)) {
      CounterColumn::AddFloat(*count, delta);
      return;
    }
  }
  CounterAgg& c = FindOrInsert(counters, parts, hash);
  c.value = FloatCountBits(FloatCount(c.value) + delta);
  if (now_ns > c.last_ns) c.last_ns = now_ns;
}

void MetricMap::ReceiveGaugeDelta(const KeyParts& parts, uint64_t hash, double delta,
                                  int64_t now_ns) {
  GaugeAgg* found = ids != nullptr ? ids->gauges.Find(hash, parts) : nullptr;
  GaugeAgg& g = found != nullptr
                    ? *found
                    : FindOrInsert(gauges, parts, hash, ids != nullptr ? &ids->gauges : nullptr);
  if (!Received(g)) {  // the first line since the last drain: a delta from what the merge holds
    g.value = delta;
    g.last_ns = DeltaOnlyNs(now_ns);
  } else if (g.last_ns < 0) {  // deltas only so far
    g.value += delta;
    g.last_ns = DeltaOnlyNs(std::max(now_ns, GaugeReceiveNs(g)));
  } else {  // an absolute value, then deltas: adjust it
    g.value += delta;
    if (now_ns > g.last_ns) g.last_ns = now_ns;
  }
}

void MetricMap::ReceiveGauge(const KeyParts& parts, uint64_t hash, double value, int64_t now_ns) {
  GaugeAgg* found = ids != nullptr ? ids->gauges.Find(hash, parts) : nullptr;
  GaugeAgg& g = found != nullptr
                    ? *found
                    : FindOrInsert(gauges, parts, hash, ids != nullptr ? &ids->gauges : nullptr);
  if (now_ns >= g.last_ns) {  // also when not received into since the last drain
    g.value = value;
    g.last_ns = now_ns;
  }
}

// The entry's vector is the one the flush gave back (Aggregator::MergeLent), or none: then the
// first line of an interval reserves what the entry held last time and an eighth more, once.
// Past its capacity a vector grows by an eighth when the entry has a past interval to go by, by
// half when it is new, instead of doubling: a timer holds at most 1.5 times its values, and a
// vector given back stays near what its series sends (docs/performance.md#memory-per-series).
void MetricMap::ReserveTimerValues(TimerAgg& t, size_t n) {
  const size_t need = t.values.size() + n;
  const size_t cap = t.values.capacity();
  size_t want = cap + cap / (t.extra != 0 ? 8 : 2);
  if (cap == 0) want = t.extra + t.extra / 8;
  t.values.reserve(std::max(need, want));
}

void MetricMap::ReceiveTimer(const KeyParts& parts, uint64_t hash, const double* values, size_t n,
                             double sampled, TimerKind kind, int64_t now_ns) {
  TimerAgg& t = FindOrInsert(timers, parts, hash);
  if (t.values.size() + n > t.values.capacity()) ReserveTimerValues(t, n);
  t.values.insert(t.values.end(), values, values + n);
  t.sampled_count += sampled;
  t.kinds |= TimerKindBit(kind);
  if (now_ns > t.last_ns) t.last_ns = now_ns;
}

void MetricMap::ReceiveSet(const KeyParts& parts, uint64_t hash, std::string_view member,
                           int64_t now_ns) {
  SetAgg& s = FindOrInsert(sets, parts, hash);
  if (s.members.find(member) == s.members.end()) s.members.emplace(member);
  if (now_ns > s.last_ns) s.last_ns = now_ns;
}

void MetricMap::ReceiveSet(const KeyParts& parts, uint64_t hash,
                           std::span<const std::string_view> members, int64_t now_ns) {
  SetAgg& s = FindOrInsert(sets, parts, hash);
  for (std::string_view member : members) {
    if (s.members.find(member) == s.members.end()) s.members.emplace(member);
  }
  if (now_ns > s.last_ns) s.last_ns = now_ns;
}

}  // namespace cstatsd
