#include "core/metric_map.h"

#include <cmath>
#include <limits>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cstatsd {

size_t StringHash::operator()(std::string_view s) const noexcept {
  return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
}

int64_t CounterDelta(double sum, double rate) {
  const double v = std::trunc(sum / rate);
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (std::isnan(v)) return 0;
  if (v >= kLimit) return std::numeric_limits<int64_t>::max();
  if (v < -kLimit) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

template <typename V>
V& MetricMap::FindOrInsert(SeriesTable<V>& table, MetricType type, std::string_view name,
                           std::string_view tags, std::string_view source) {
  const uint64_t hash = SeriesKey::Hash(type, name, tags, source);
  if (V* v = table.Find(hash, type, name, tags, source)) return *v;
  return table.Insert(SeriesKeyRef::Adopt(SeriesKey::Create(type, name, tags, source, hash)));
}

void MetricMap::ReceiveCounter(std::string_view name, std::string_view tags,
                               std::string_view source, int64_t delta, int64_t now_ns) {
  CounterAgg& c = FindOrInsert(counters, MetricType::kCounter, name, tags, source);
  c.value += delta;
  if (now_ns > c.last_ns) c.last_ns = now_ns;
  c.dirty = true;
}

void MetricMap::ReceiveGauge(std::string_view name, std::string_view tags, std::string_view source,
                             double value, int64_t now_ns) {
  GaugeAgg& g = FindOrInsert(gauges, MetricType::kGauge, name, tags, source);
  if (!g.dirty || now_ns >= g.last_ns) {
    g.value = value;
    g.last_ns = now_ns;
  }
  g.dirty = true;
}

void MetricMap::ReceiveTimer(std::string_view name, std::string_view tags, std::string_view source,
                             const double* values, size_t n, double rate, int64_t now_ns) {
  TimerAgg& t = FindOrInsert(timers, MetricType::kTimer, name, tags, source);
  t.values.insert(t.values.end(), values, values + n);
  t.sampled_count += 1.0 / rate;
  if (now_ns > t.last_ns) t.last_ns = now_ns;
  t.dirty = true;
}

void MetricMap::ReceiveSet(std::string_view name, std::string_view tags, std::string_view source,
                           std::string_view member, int64_t now_ns) {
  SetAgg& s = FindOrInsert(sets, MetricType::kSet, name, tags, source);
  if (s.members.find(member) == s.members.end()) s.members.emplace(member);
  if (now_ns > s.last_ns) s.last_ns = now_ns;
  s.dirty = true;
}

}  // namespace cstatsd
