// Aggregator: the merge of the worker maps, the flush, reset and expiry, the series limits. The
// timers' parts and statistics are in timers.cc.
#include "aggregate/aggregator.h"

#include <algorithm>

#include "core/key_arena.h"

namespace cstatsd::aggregate {
namespace {

bool Expired(std::chrono::nanoseconds interval, int64_t now_ns, int64_t ts_ns) {
  return interval.count() != 0 && (now_ns - ts_ns) > interval.count();
}

}  // namespace

AggregatorOptions AggregatorOptions::From(const config::Options& o) {
  AggregatorOptions a;
  a.percent_thresholds = o.percent_threshold;
  a.disabled = o.disabled_sub_metrics;
  a.histogram_limit = o.timer_histogram_limit;
  a.expiry_counter = o.ExpiryCounter();
  a.expiry_gauge = o.ExpiryGauge();
  a.expiry_set = o.ExpirySet();
  a.expiry_timer = o.ExpiryTimer();
  a.max_series = o.max_series;
  a.max_series_per_metric = o.max_series_per_metric;
  a.float_counters = o.float_counters;
  return a;
}

Aggregator::Aggregator(AggregatorOptions options)
    : options_(std::move(options)),
      names_(std::make_shared<std::vector<std::string>>()),
      limits_(std::make_shared<SeriesLimits>(options_.max_series, options_.max_series_per_metric)) {
  for (double p : options_.percent_thresholds) {
    bool dup = false;
    for (const Threshold& t : thresholds_) dup |= t.p == p;
    if (dup) continue;
    const std::string s = PercentileSuffix(p);
    auto add = [&](std::string name) {
      names_->push_back(std::move(name));
      return static_cast<uint32_t>(names_->size() - 1);
    };
    Threshold t{p,
                add("count_" + s),
                add("mean_" + s),
                add("sum_" + s),
                add("sum_squares_" + s),
                add((p > 0 ? "upper_" : "lower_") + s)};
    thresholds_.push_back(t);
  }
}

namespace {

// Merge rules (docs/aggregation.md#merge) and what a worker map's value is reset to once merged.
void MergeValue(CounterAgg& s, const CounterAgg& d) {
  s.value = SaturatingAdd(s.value, d.value);
  s.last_ns = std::max(s.last_ns, d.last_ns);
}
void MergeValue(GaugeAgg& s, const GaugeAgg& d) {
  // The value received last wins (docs/compatibility.md#decision-4).
  if (d.last_ns >= s.last_ns) s = d;
}
void MergeValue(SetAgg& s, SetAgg& d) {
  if (s.members.empty()) {
    s.members.swap(d.members);
  } else {
    s.members.merge(d.members);
  }
  s.last_ns = std::max(s.last_ns, d.last_ns);
}
void ResetValue(CounterAgg& d) { d.value = 0; }
void ResetValue(GaugeAgg&) {}
void ResetValue(TimerAgg& d) {
  d.sampled_count = 0;  // the values were moved (MergeInto)
  d.kinds = 0;
}
void ResetValue(SetAgg& d) { d.members.clear(); }

// A worker map's series that received nothing this interval: a timer's vector, given back at
// the last Reset, is freed, so an idle series holds no capacity past two intervals.
template <typename V>
void ReleaseIdle(V&) {}
void ReleaseIdle(TimerAgg& d) {
  if (d.values.capacity() != 0) std::vector<double>().swap(d.values);
}

// Series a worker map has not seen for kForgetAfterDrains drains leave it.
template <typename V>
void ForgetIdle(SeriesTable<V>& table) {
  table.EraseIf([](auto& e) { return IdleDrains(e.value) >= Aggregator::kForgetAfterDrains; });
}

// The state's key for a series first seen in a worker map: the worker's own, when it is in the
// KeyArena (core/key_arena.h); otherwise a copy made here, so that no worker's malloc arena keeps
// a page for each new series once the worker's map forgets it.
SeriesKeyRef StateKey(const SeriesKeyRef& key) {
  if (KeyArena::Get().Owns(key.get())) return key;
  return SeriesKeyRef::Adopt(SeriesKey::Copy(*key));
}

}  // namespace

template <typename Fn>
void Aggregator::ForEachNameHash(MetricType type, Fn&& fn) {
  auto each = [&](const SeriesKeyRef& key) {
    if (!IsOverflowKey(*key)) fn(MetricNameHash(type, key->name()));
  };
  switch (type) {
    case MetricType::kCounter:
      counters_.ForEach([&](uint32_t, auto& e) { each(e.key); });
      break;
    case MetricType::kGauge:
      gauges_.ForEach([&](uint32_t, auto& e) { each(e.key); });
      break;
    case MetricType::kTimer:
      for (const auto& e : timers_.entries()) each(e.key);
      break;
    case MetricType::kSet:
      for (const auto& e : sets_.entries()) each(e.key);
      break;
  }
}

void Aggregator::CountName(MetricType type, uint64_t name_hash, bool add) {
  const uint64_t limit = limits_->max_series_per_metric();
  if (limit == 0) return;
  TypeCounts& tc = counts(type);
  auto scan = [&](auto&& fn) { ForEachNameHash(type, fn); };
  const uint32_t n = add ? tc.names.Add(name_hash, limit, scan) : tc.names.Sub(name_hash, limit);
  if (add && n == limit) tc.full.push_back(name_hash);
  if (!add && n + 1 == limit) {
    auto it = std::find(tc.full.begin(), tc.full.end(), name_hash);
    if (it != tc.full.end()) {
      *it = tc.full.back();
      tc.full.pop_back();
    }
  }
}

void Aggregator::Forget(MetricType type, const SeriesKey& key) {
  if (!limits_->enabled()) return;
  TypeCounts& tc = counts(type);
  if (IsOverflowKey(key)) {
    --tc.overflow;
    --overflow_series_;
  } else {
    CountName(type, MetricNameHash(type, key.name()), false);
  }
}

template <typename V, typename Find, typename Insert>
Aggregator::Target<V> Aggregator::NewSeries(MetricType type, const SeriesKeyRef& key, Find&& find,
                                            Insert&& insert) {
  const SeriesLimits& l = *limits_;
  if (!l.enabled()) return insert(StateKey(key));
  TypeCounts& tc = counts(type);
  const bool is_overflow = IsOverflowKey(*key);  // a map folded on its own
  if (!is_overflow) {
    const uint64_t name_hash = MetricNameHash(type, key->name());
    const bool all_full = l.max_series() != 0 && series() - overflow_series_ >= l.max_series();
    const bool name_full =
        l.max_series_per_metric() != 0 && tc.names.Get(name_hash) >= l.max_series_per_metric();
    if (!limited_ || (!all_full && !name_full)) {
      Target<V> t = insert(StateKey(key));
      if (t.value != nullptr) CountName(type, name_hash, true);
      return t;
    }
    if (note_.name.empty()) {
      note_ = LimitNote{std::string(key->name()), type,
                        all_full ? "max-series" : "max-series-per-metric"};
    }
  }
  // The name's overflow series.
  overflow_key_.assign(key->name());
  overflow_key_.append(kOverflowTag);
  const KeyParts o{type, overflow_key_, static_cast<uint32_t>(key->name().size()),
                   static_cast<uint32_t>(kOverflowTag.size())};
  const uint64_t o_hash = SeriesKey::Hash(o);
  Target<V> t = find(o_hash, o);
  if (t.value == nullptr) {
    if (l.max_overflow_series() == 0 || overflow_series_ < l.max_overflow_series()) {
      t = insert(SeriesKeyRef::Adopt(SeriesKey::Create(o, o_hash)));
    }
    if (t.value == nullptr) {
      ++series_dropped_;
      if (note_.name.empty()) {
        note_ = LimitNote{std::string(key->name()), type, "max-series (overflow series)"};
      }
      return {};
    }
    ++tc.overflow;
    ++overflow_series_;
  }
  if (!is_overflow) {
    ++series_overflowed_;
    t.key = nullptr;  // folded: the delta map's entry leaves it
  }
  return t;
}

// Merges the values received into a worker map's table since its last drain (`find` gives the
// state's Target, the series added if new) and drains them, so the worker can reuse the
// entries without allocating. An entry folded into an overflow series, or dropped, leaves the
// worker map at once (ForgetIdle): a map holds a refused series for one interval only.
template <typename V, typename Target, typename Find>
void Aggregator::DrainTable(SeriesTable<V>& table, Find&& find) {
  auto& entries = table.entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    auto& e = entries[i];
    if (!Received(e.value)) {
      CountIdleDrain(e.value);
      ReleaseIdle(e.value);
      continue;
    }
    const Target t = find(e.key);
    if (t.value != nullptr) MergeInto(*t.value, e.value);
    ResetValue(e.value);
    if (t.key != nullptr) {
      table.ShareKey(i, *t.key);  // the worker map drops its own copy of the key
      MarkDrained(e.value);
    } else {
      e.value.last_ns = kDrainedNs + Aggregator::kForgetAfterDrains;
    }
  }
}

void Aggregator::MergeInto(CounterAgg& s, const CounterAgg& d) {
  if (options_.float_counters) {
    s.value = FloatCountBits(FloatCount(s.value) + FloatCount(d.value));
    s.last_ns = std::max(s.last_ns, d.last_ns);
    return;
  }
  MergeValue(s, d);
}

void Aggregator::MergeInto(GaugeAgg& s, const GaugeAgg& d) {
  if (DeltaOnly(d)) [[unlikely]] {
    pending_deltas_.push_back({&s, d.value, GaugeReceiveNs(d)});
    return;
  }
  MergeValue(s, d);
}

void Aggregator::MergeInto(SetAgg& s, SetAgg& d) { MergeValue(s, d); }

// The rule of docs/aggregation.md#gauge-deltas: every map of the interval has been merged, so a
// gauge holds the absolute value received last (by any worker) or its value from before the
// interval. A worker's deltas received after that value adjust it; deltas received before it
// are overridden by it. All are compared with the absolute value's time before any is added.
void Aggregator::ApplyGaugeDeltas() {
  if (pending_deltas_.empty()) return;
  for (PendingDelta& p : pending_deltas_) {
    if (p.received_ns >= p.gauge->last_ns) {
      p.gauge->value += p.delta;
    } else {
      p.gauge = nullptr;  // before the absolute value that replaced the gauge
    }
  }
  for (const PendingDelta& p : pending_deltas_) {
    if (p.gauge != nullptr && p.received_ns > p.gauge->last_ns) p.gauge->last_ns = p.received_ns;
  }
  pending_deltas_.clear();
}

// Counters and gauges: the values a worker received by id, then its table's.
template <typename V>
void Aggregator::MergeIndexed(SeriesIndex<V>& index, MetricType type,
                              std::vector<IdDelta<V>>& deltas, SeriesTable<V>& table,
                              bool attached) {
  auto find = [&](uint64_t hash, const KeyParts& parts) -> Target<V> {
    const uint32_t id = index.Find(hash, parts);
    if (id == kNoSeriesId) return {};
    return {&index.entry(id).value, &index.entry(id).key};
  };
  auto insert = [&](const SeriesKeyRef& key) -> Target<V> {
    const uint32_t id = index.Insert(key);
    if (id == kNoSeriesId) return {};
    ++churn_;
    return {&index.entry(id).value, &index.entry(id).key};
  };
  for (const IdDelta<V>& d : deltas) {
    V* value = nullptr;
    if (index.live(d.id)) {
      value = &index.entry(d.id).value;
    } else {  // erased after the worker found it: the series comes back (a new one)
      const SeriesKeyRef key = index.entry(d.id).key;
      const uint32_t id = index.Find(*key);
      value =
          id != kNoSeriesId ? &index.entry(id).value : NewSeries<V>(type, key, find, insert).value;
    }
    if (value != nullptr) MergeInto(*value, d.value);
  }
  std::vector<IdDelta<V>>().swap(deltas);  // the next hand-over reserves what it needs
  DrainTable<V, Target<V>>(table, [&](const SeriesKeyRef& key) -> Target<V> {
    const uint32_t id = index.Find(*key);
    if (id != kNoSeriesId) return {&index.entry(id).value, &index.entry(id).key};
    return NewSeries<V>(type, key, find, insert);
  });
  if (attached) {
    table.EraseIf([](auto&) { return true; });  // found in the index from now on
  } else {
    ForgetIdle(table);
  }
}

template <typename V>
void Aggregator::MergeTable(SeriesTable<V>& state, MetricType type, SeriesTable<V>& table) {
  auto find = [&](uint64_t hash, const KeyParts& parts) -> Target<V> {
    // Only an overflow series is looked up so: a folded entry does not share its key.
    return {state.Find(hash, parts), nullptr};
  };
  auto insert = [&](const SeriesKeyRef& key) -> Target<V> {
    ++churn_;
    V& v = state.Insert(key);
    return {&v, &state.entries().back().key};
  };
  DrainTable<V, Target<V>>(table, [&](const SeriesKeyRef& key) -> Target<V> {
    if (auto* e = state.FindEntry(*key)) return {&e->value, &e->key};
    return NewSeries<V>(type, key, find, insert);
  });
  ForgetIdle(table);
}

void Aggregator::MergeLent(MetricMap& delta) {
  lender_ = &delta;
  Merge(delta);
  lender_ = nullptr;
}

void Aggregator::Merge(MetricMap& delta, bool limited) {
  limited_ = limited;
  const bool attached = delta.ids != nullptr;
  MergeIndexed(counters_, MetricType::kCounter, delta.counter_deltas, delta.counters, attached);
  MergeIndexed(gauges_, MetricType::kGauge, delta.gauge_deltas, delta.gauges, attached);
  MergeTable(timers_, MetricType::kTimer, delta.timers);
  MergeTable(sets_, MetricType::kSet, delta.sets);
  // What the map folded or dropped on its own (MetricMap::limits).
  series_overflowed_ += std::exchange(delta.overflowed, 0);
  series_dropped_ += std::exchange(delta.dropped, 0);
  delta.new_while_full = 0;
  limited_ = true;
}

void Aggregator::PublishLimits() {
  if (!limits_->enabled()) return;
  full_names_.clear();
  for (const TypeCounts& tc : counts_) {
    full_names_.insert(full_names_.end(), tc.full.begin(), tc.full.end());
  }
  const uint64_t max = limits_->max_series();
  limits_->Publish(max != 0 && series() - overflow_series_ >= max, full_names_);
}

MetricMap Aggregator::TakeState() {
  ApplyGaugeDeltas();
  MetricMap out;
  auto take = [this](auto& index, MetricType type, auto& table, auto&& reset) {
    index.ForEach([&](uint32_t id, auto& e) {
      if (!Received(e.value)) {
        CountIdleDrain(e.value);
        if (IdleDrains(e.value) >= kForgetAfterDrains) {
          Forget(type, *e.key);
          index.Erase(id);
          ++churn_;
        }
        return;
      }
      table.Insert(e.key, e.value);
      reset(e.value);
      MarkDrained(e.value);
    });
    index.EndRound();
  };
  take(counters_, MetricType::kCounter, out.counters, [](CounterAgg& v) { v.value = 0; });
  take(gauges_, MetricType::kGauge, out.gauges, [](GaugeAgg&) {});
  for (auto& e : timers_.entries()) {  // the forwarder reads one vector per series
    if (e.value.extra == 0) continue;
    e.value.values = std::move(TimerValues(e.value));
    e.value.extra = 0;
  }
  timer_parts_.clear();
  out.timers = std::exchange(timers_, SeriesTable<TimerAgg>());
  out.sets = std::exchange(sets_, SeriesTable<SetAgg>());
  for (MetricType type : {MetricType::kTimer, MetricType::kSet}) {  // handed over whole
    TypeCounts& tc = counts(type);
    overflow_series_ -= tc.overflow;
    tc.names.Clear();
    tc.full.clear();
    tc.overflow = 0;
  }
  PublishLimits();
  return out;
}

SnapshotPtr Aggregator::Flush(int64_t now_ns, double flush_seconds) {
  auto snap = std::make_shared<FlushSnapshot>();
  snap->flush_time_ns = now_ns;
  snap->flush_seconds = flush_seconds;
  snap->percentile_names = names_;

  ApplyGaugeDeltas();
  snap->counters.reserve(counters_.size());
  if (options_.float_counters) {
    snap->float_counters = true;
    counters_.ForEach([&](uint32_t, auto& e) {
      const double count = FloatCount(e.value.value);
      snap->counters.push_back({e.key, SaturateToInt64(count), count / flush_seconds, count});
    });
  } else {
    counters_.ForEach([&](uint32_t, auto& e) {
      snap->counters.push_back(
          {e.key, e.value.value, static_cast<double>(e.value.value) / flush_seconds});
    });
  }
  snap->gauges.reserve(gauges_.size());
  gauges_.ForEach([&](uint32_t, auto& e) {
    snap->gauges.push_back({e.key, e.value.value, e.value.last_ns});
  });
  snap->sets.reserve(sets_.size());
  snap->has_raw_values = options_.keep_raw_values;
  for (auto& e : sets_.entries()) {
    SetPoint sp{e.key, e.value.members.size(), 0, 0};
    sp.members_begin = static_cast<uint32_t>(snap->set_members.size());
    if (options_.keep_raw_values) {
      for (const auto& m : e.value.members) snap->set_members.push_back(m);
    }
    sp.members_end = static_cast<uint32_t>(snap->set_members.size());
    snap->sets.push_back(std::move(sp));
  }
  snap->timers.reserve(timers_.size());
  for (auto& e : timers_.entries()) ComputeTimer(e.value, e.key, flush_seconds, *snap);
  return snap;
}

void Aggregator::Reset(int64_t now_ns) {
  const auto& o = options_;
  counters_.ForEach([&](uint32_t id, auto& e) {
    if (Expired(o.expiry_counter, now_ns, e.value.last_ns)) {
      Forget(MetricType::kCounter, *e.key);  // room for a new series from now on
      counters_.Erase(id);
      ++churn_;
    } else {
      e.value.value = 0;
    }
  });
  counters_.EndRound();
  gauges_.ForEach([&](uint32_t id, auto& e) {
    if (Expired(o.expiry_gauge, now_ns, e.value.last_ns)) {
      Forget(MetricType::kGauge, *e.key);
      gauges_.Erase(id);
      ++churn_;
    }
  });
  gauges_.EndRound();

  sets_.EraseIf([&](auto& e) {
    if (!Expired(o.expiry_set, now_ns, e.value.last_ns)) return false;
    Forget(MetricType::kSet, *e.key);
    ++churn_;
    return true;
  });
  for (auto& e : sets_.entries()) e.value.members.clear();

  ReturnTimerValues();
  timers_.EraseIf([&](auto& e) {
    if (!Expired(o.expiry_timer, now_ns, e.value.last_ns)) return false;
    Forget(MetricType::kTimer, *e.key);
    ++churn_;
    return true;
  });
  for (auto& e : timers_.entries()) {
    TimerAgg& t = e.value;
    t.extra = 0;  // its parts: given back or freed below
    t.sampled_count = 0;
    if (t.kinds != 0) t.last_kind = ResolveTimerKind(t.kinds);
    t.kinds = 0;
  }
  timer_parts_.clear();  // frees what was not given back
  PublishLimits();
}

}  // namespace cstatsd::aggregate
