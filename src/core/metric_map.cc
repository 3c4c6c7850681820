#include "core/metric_map.h"

#include <cmath>
#include <limits>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cstatsd {

size_t StringHash::operator()(std::string_view s) const noexcept {
  return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
}

template <typename V>
V& MetricMap::FindOrInsert(SeriesTable<V>& table, const KeyParts& parts, uint64_t hash) {
  if (V* v = table.Find(hash, parts)) return *v;
  return table.Insert(SeriesKeyRef::Adopt(SeriesKey::Create(parts, hash)));
}

void MetricMap::ReceiveCounter(const KeyParts& parts, uint64_t hash, int64_t delta,
                               int64_t now_ns) {
  CounterAgg* found = ids != nullptr ? ids->counters.Find(hash, parts) : nullptr;
  CounterAgg& c = found != nullptr ? *found : FindOrInsert(counters, parts, hash);
  c.value = SaturatingAdd(c.value, delta);
  if (now_ns > c.last_ns) c.last_ns = now_ns;
}

void MetricMap::ReceiveGauge(const KeyParts& parts, uint64_t hash, double value, int64_t now_ns) {
  GaugeAgg* found = ids != nullptr ? ids->gauges.Find(hash, parts) : nullptr;
  GaugeAgg& g = found != nullptr ? *found : FindOrInsert(gauges, parts, hash);
  if (now_ns >= g.last_ns) {  // also when not received into since the last drain
    g.value = value;
    g.last_ns = now_ns;
  }
}

void MetricMap::ReceiveTimer(const KeyParts& parts, uint64_t hash, const double* values, size_t n,
                             double sampled, int64_t now_ns) {
  TimerAgg& t = FindOrInsert(timers, parts, hash);
  t.values.insert(t.values.end(), values, values + n);
  t.sampled_count += sampled;
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
