#include "snapshot/timed_fold.h"

#include <unordered_map>
#include <vector>

namespace cstatsd::snapshot {
namespace {

struct KeyHash {
  size_t operator()(const SeriesKey* k) const { return static_cast<size_t>(k->hash()); }
};
struct KeyEq {
  bool operator()(const SeriesKey* a, const SeriesKey* b) const { return a->Equals(*b); }
};
// Timestamped points of one type by series: their index in a vector of folded values.
using KeyIndex = std::unordered_map<const SeriesKey*, size_t, KeyHash, KeyEq>;

double PerSecond(int64_t value, double flush_seconds) {
  return flush_seconds > 0 ? static_cast<double>(value) / flush_seconds : 0;
}

}  // namespace

std::shared_ptr<FlushSnapshot> FoldTimed(const FlushSnapshot& s) {
  auto out = std::make_shared<FlushSnapshot>(s);
  out->timed_counters.clear();
  out->timed_gauges.clear();

  struct Sum {
    SeriesKeyRef key;
    int64_t value = 0;
    bool used = false;
  };
  KeyIndex index;
  std::vector<Sum> sums;
  for (const TimedCounterPoint& p : s.timed_counters) {
    const auto [it, fresh] = index.try_emplace(p.key.get(), sums.size());
    if (fresh) sums.push_back({p.key, 0, false});
    Sum& sum = sums[it->second];
    sum.value = SaturatingAdd(sum.value, p.value);
  }
  if (!sums.empty()) {
    for (CounterPoint& c : out->counters) {
      const auto it = index.find(c.key.get());
      if (it == index.end()) continue;
      Sum& sum = sums[it->second];
      c.value = SaturatingAdd(c.value, sum.value);
      c.per_second = PerSecond(c.value, s.flush_seconds);
      if (s.float_counters) {  // the count backends read (docs/aggregation.md#float-counters)
        c.float_value += static_cast<double>(sum.value);
        c.per_second = s.flush_seconds > 0 ? c.float_value / s.flush_seconds : 0;
      }
      sum.used = true;
    }
    for (Sum& sum : sums) {
      if (sum.used) continue;
      out->counters.push_back({std::move(sum.key), sum.value, PerSecond(sum.value, s.flush_seconds),
                               s.float_counters ? static_cast<double>(sum.value) : 0});
    }
  }

  struct Newest {
    SeriesKeyRef key;
    double value = 0;
    int64_t ns = 0;
    bool used = false;
  };
  index.clear();
  std::vector<Newest> newest;
  for (const TimedGaugePoint& p : s.timed_gauges) {
    const int64_t ns = p.timestamp * 1000000000;
    const auto [it, fresh] = index.try_emplace(p.key.get(), newest.size());
    if (fresh) {
      newest.push_back({p.key, p.value, ns, false});
      continue;
    }
    Newest& n = newest[it->second];
    if (ns >= n.ns) {
      n.value = p.value;
      n.ns = ns;
    }
  }
  if (!newest.empty()) {
    for (GaugePoint& g : out->gauges) {
      const auto it = index.find(g.key.get());
      if (it == index.end()) continue;
      Newest& n = newest[it->second];
      if (n.ns > g.last_ns) {
        g.value = n.value;
        g.last_ns = n.ns;
      }
      n.used = true;
    }
    for (Newest& n : newest) {
      if (!n.used) out->gauges.push_back({std::move(n.key), n.value, n.ns});
    }
  }
  return out;
}

}  // namespace cstatsd::snapshot
