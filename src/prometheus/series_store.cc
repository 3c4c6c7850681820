#include "prometheus/series_store.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include "core/utf8.h"
#include "prometheus/naming.h"

namespace cstatsd::prometheus {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool HasHighBytes(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Prometheus refuses label values that are not UTF-8: invalid bytes become U+FFFD.
std::string LabelValue(std::string_view v) {
  return HasHighBytes(v) ? ToValidUtf8(v) : std::string(v);
}

Labels::iterator FindLabel(Labels& labels, std::string_view name) {
  return std::find_if(labels.begin(), labels.end(), [&](const auto& l) { return l.first == name; });
}

}  // namespace

std::vector<double> DefaultBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<Quantile> DefaultQuantiles() { return {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}}; }

// One statsd series (a SeriesKey of one type) as the store knows it.
struct SeriesStore::Entry {
  Series* series = nullptr;  // null: dropped by the mapping, or refused (type conflict)
  int64_t last_received_ns = 0;
  int64_t ttl_ns = 0;    // 0: never expires
  uint64_t seen = 0;     // the last Update (generation) whose snapshot held it
  bool expired = false;  // its series expired; made again when the statsd series is received
};

size_t SeriesStore::SeriesHash::operator()(const Series* s) const {
  return std::hash<std::string_view>()(s->labels) ^
         (std::hash<const void*>()(s->family) * 0x9e3779b97f4a7c15ULL);
}

SeriesStore::SeriesStore(StoreOptions options, std::shared_ptr<const MappingConfig> mapping)
    : options_(std::move(options)), mapping_(std::move(mapping)) {
  if (mapping_ == nullptr) mapping_ = std::make_shared<const MappingConfig>();
  std::sort(options_.buckets.begin(), options_.buckets.end());
  default_bounds_ = std::make_shared<const std::vector<double>>(options_.buckets);
  std::vector<double> levels;
  for (const Quantile& q : options_.quantiles) levels.push_back(q.quantile);
  default_quantiles_ = std::make_shared<const std::vector<double>>(std::move(levels));
}

SeriesStore::~SeriesStore() {
  for (Series* s : series_) delete s;
}

size_t SeriesStore::statsd_series() const {
  return counters_.size() + gauges_.size() + sets_.size() + timers_.size();
}

SeriesStore::Family* SeriesStore::FamilyFor(std::string_view name, FamilyType type) {
  for (const std::string& r : options_.reserved_names) {
    if (r == name) return nullptr;
  }
  auto it = families_.find(name);
  if (it != families_.end()) return it->second->type == type ? it->second.get() : nullptr;
  auto f = std::make_unique<Family>();
  f->name = std::string(name);
  f->type = type;
  Family* raw = f.get();
  families_.emplace(f->name, std::move(f));
  return raw;
}

SeriesStore::Series* SeriesStore::Resolve(const SeriesKey& key, StatsdKind kind, Entry& e) {
  const Mapping m = mapping_->Resolve(key.name(), kind);
  if (m.drop || m.name.empty()) {
    ++stats_.dropped;
    return nullptr;
  }
  e.ttl_ns = m.ttl.count() > 0 ? m.ttl.count() : options_.expiry.count();

  FamilyType type = FamilyType::kGauge;
  if (kind == StatsdKind::kCounter) {
    type = FamilyType::kCounter;
  } else if (kind == StatsdKind::kObserver) {
    const ObserverType o = m.observer == ObserverType::kDefault ? options_.observer : m.observer;
    type = o == ObserverType::kHistogram ? FamilyType::kHistogram : FamilyType::kSummary;
  }
  Family* family = FamilyFor(m.name, type);
  if (family == nullptr) {
    ++stats_.type_conflicts;
    stats_.last_conflict = m.name;
    return nullptr;
  }

  // Labels as statsd_exporter makes them: DogStatsD tags `k:v` (k escaped; a tag without a value
  // or with an empty key or value is left out), then the mapping's labels (which win unless
  // honor_labels), then the source.
  Labels labels;
  key.ForEachTag([&](std::string_view tag) {
    const size_t colon = tag.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == tag.size()) {
      ++stats_.tag_errors;
      return;
    }
    std::string name = EscapeMetricName(tag.substr(0, colon));
    if (!IsValidLabelName(name)) {
      ++stats_.invalid_labels;
      return;
    }
    labels.emplace_back(std::move(name), LabelValue(tag.substr(colon + 1)));
  });
  // Two tags whose keys escape alike: the later one wins, as in statsd_exporter's label map.
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Labels unique;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i + 1 < labels.size() && labels[i + 1].first == labels[i].first) continue;
    unique.push_back(std::move(labels[i]));
  }
  labels = std::move(unique);
  for (const auto& [name, value] : m.labels) {
    if (!IsValidLabelName(name)) {
      ++stats_.invalid_labels;
      continue;
    }
    auto it = FindLabel(labels, name);
    if (it == labels.end()) {
      labels.emplace_back(name, LabelValue(value));
    } else if (!m.honor_labels) {
      it->second = LabelValue(value);
    }
  }
  if (!key.source().empty() && !options_.source_label.empty() &&
      FindLabel(labels, options_.source_label) == labels.end()) {
    labels.emplace_back(options_.source_label, LabelValue(key.source()));
  }
  const std::string_view reserved = type == FamilyType::kHistogram ? "le"
                                    : type == FamilyType::kSummary ? "quantile"
                                                                   : "";
  if (!reserved.empty()) {
    auto it = FindLabel(labels, reserved);
    if (it != labels.end()) {
      labels.erase(it);
      ++stats_.invalid_labels;
    }
  }
  std::sort(labels.begin(), labels.end());

  auto series = std::make_unique<Series>();
  series->family = family;
  for (const auto& [name, value] : labels) {
    if (!series->labels.empty()) series->labels += ',';
    series->labels += name;
    series->labels += "=\"";
    AppendLabelValue(value, series->labels);
    series->labels += '"';
  }
  if (auto it = series_.find(series.get()); it != series_.end()) {
    ++(*it)->keys;
    return *it;
  }
  if (type == FamilyType::kHistogram) {
    series->bounds = m.buckets.empty() ? default_bounds_
                                       : std::make_shared<const std::vector<double>>(m.buckets);
    series->counts.assign(series->bounds->size(), 0);
  } else if (type == FamilyType::kSummary) {
    if (m.quantiles.empty()) {
      series->bounds = default_quantiles_;
    } else {
      std::vector<double> levels;
      for (const Quantile& q : m.quantiles) levels.push_back(q.quantile);
      series->bounds = std::make_shared<const std::vector<double>>(std::move(levels));
    }
    series->counts.assign(series->bounds->size(), kNaN);
  }
  series->keys = 1;
  series->index = static_cast<uint32_t>(family->series.size());
  family->series.push_back(series.get());
  series_.insert(series.get());
  return series.release();
}

SeriesStore::Entry& SeriesStore::Lookup(Cache& c, const SeriesKeyRef& key, StatsdKind kind,
                                        int64_t now_ns) {
  auto it = c.find(key);
  if (it == c.end()) {
    it = c.emplace(key, Entry{}).first;
    Entry& e = it->second;
    e.last_received_ns = now_ns;
    e.series = Resolve(*key, kind, e);
  }
  it->second.seen = generation_;
  return it->second;
}

void SeriesStore::Observe(Series& s, const snapshot::FlushSnapshot& snap,
                          const snapshot::TimerPoint& t) {
  const auto values = snap.ValuesOf(t);
  const size_t n = static_cast<size_t>(values.end() - values.begin());
  // `ms` timers in seconds, `h` values as they are (docs/aggregation.md#timer-kinds).
  const double scale = t.kind == TimerKind::kMs ? 1e-3 : 1;
  if (n == 0) {
    if (s.family->type == FamilyType::kSummary) std::fill(s.counts.begin(), s.counts.end(), kNaN);
    return;
  }
  // Each value stands for count / n observations: count is the sample-rate-corrected count,
  // the values are the ones received (docs/prometheus.md#exposition).
  const double total = t.count > 0 ? static_cast<double>(t.count) : static_cast<double>(n);
  const double weight = total / static_cast<double>(n);
  s.count += total;
  s.sum += t.sum * scale * weight;
  const std::vector<double>& bounds = *s.bounds;
  const double* v = values.begin();
  if (s.family->type == FamilyType::kHistogram) {
    size_t j = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
      while (j < n && v[j] * scale <= bounds[i]) ++j;
      s.counts[i] += static_cast<double>(j) * weight;
    }
    return;
  }
  // A summary's quantiles over the flush interval: the nearest-rank value of the sorted values.
  for (size_t i = 0; i < bounds.size(); ++i) {
    const double rank = std::ceil(bounds[i] * static_cast<double>(n));
    size_t idx = rank <= 1 ? 0 : static_cast<size_t>(rank) - 1;
    if (idx >= n) idx = n - 1;
    s.counts[i] = v[idx] * scale;
  }
}

void SeriesStore::Release(Series* s) {
  if (--s->keys > 0) return;
  Family* f = s->family;
  Series* last = f->series.back();
  f->series[s->index] = last;
  last->index = s->index;
  f->series.pop_back();
  series_.erase(s);
  ++stats_.expired;
  delete s;
  if (f->series.empty()) families_.erase(families_.find(f->name));
}

void SeriesStore::Expire(Cache& c, int64_t now_ns, uint64_t generation) {
  for (auto it = c.begin(); it != c.end();) {
    Entry& e = it->second;
    if (e.series == nullptr) {
      // A dropped, refused or expired series is remembered while the aggregator still reports
      // it (an expired one comes back only when received again).
      it = e.seen == generation ? std::next(it) : c.erase(it);
      continue;
    }
    // ttl 0: never; below 0: as soon as a flush does not receive it.
    if (e.ttl_ns != 0 && now_ns - e.last_received_ns > std::max<int64_t>(e.ttl_ns, 0)) {
      Release(e.series);
      if (e.seen != generation) {
        it = c.erase(it);
        continue;
      }
      e.series = nullptr;
      e.expired = true;
    }
    ++it;
  }
}

void SeriesStore::Update(const snapshot::FlushSnapshot& s) {
  ++generation_;
  const int64_t now = s.flush_time_ns;
  // The entry of a received statsd series, with its Prometheus series (made again when an
  // expired one is received again), or null when it has none (dropped, refused, expired and not
  // received again).
  auto received = [&](Cache& c, const SeriesKeyRef& key, StatsdKind kind, bool got,
                      int64_t at) -> Entry* {
    Entry& e = Lookup(c, key, kind, now);
    if (got && e.expired) {
      e.expired = false;
      e.series = Resolve(*key, kind, e);
    }
    if (e.series == nullptr) return nullptr;
    if (got) {
      e.last_received_ns = at;
      e.series->last_received_ns = std::max(e.series->last_received_ns, at);
    }
    return &e;
  };
  for (const auto& p : s.counters) {
    const double count = s.Count(p);  // with its fraction under float-counters
    Entry* e = received(counters_, p.key, StatsdKind::kCounter, count != 0, now);
    if (e == nullptr || count == 0) continue;
    if (count < 0) {
      ++stats_.negative_counts;  // statsd_exporter refuses them too: a total never goes down
      continue;
    }
    e->series->value += count;
  }
  for (const auto& p : s.gauges) {
    // The aggregator reports an idle gauge again until its own expiry: the gauge was received
    // at last_ns (0: in this flush, as internal metrics).
    const int64_t at = p.last_ns > 0 ? p.last_ns : now;
    auto it = gauges_.find(p.key);
    const bool got = it == gauges_.end() || p.last_ns == 0 || at > it->second.last_received_ns;
    Entry* e = received(gauges_, p.key, StatsdKind::kGauge, got, at);
    if (e != nullptr) e->series->value = p.value;
  }
  for (const auto& p : s.sets) {
    Entry* e = received(sets_, p.key, StatsdKind::kGauge, p.cardinality > 0, now);
    if (e != nullptr) e->series->value = static_cast<double>(p.cardinality);
  }
  for (const auto& t : s.timers) {
    const bool got = t.count > 0 || t.values_end > t.values_begin;
    Entry* e = received(timers_, t.key, StatsdKind::kObserver, got, now);
    if (e != nullptr) Observe(*e->series, s, t);
  }
  for (Cache* c : {&counters_, &gauges_, &sets_, &timers_}) Expire(*c, now, generation_);
}

void SeriesStore::Render(Format f, std::string& out, const Drain& drain) const {
  auto slice_done = [&] {
    if (drain && out.size() >= kRenderSlice) drain(out);
  };
  // Bucket bounds and quantiles are shared by many series: formatted once per render.
  std::unordered_map<const std::vector<double>*, std::vector<std::string>> formatted;
  auto format =
      [&](const std::shared_ptr<const std::vector<double>>& b) -> const std::vector<std::string>& {
    auto [it, inserted] = formatted.try_emplace(b.get());
    if (inserted) {
      for (const double x : *b) {
        std::string text;
        AppendValue(f, x, text);
        it->second.push_back(std::move(text));
      }
    }
    return it->second;
  };
  // One sample line; `count` writes the value as a count.
  auto line = [&](std::string_view name, std::string_view suffix, const Series& s,
                  std::string_view extra_name, std::string_view extra_value, double v, bool count) {
    AppendSampleStart(name, suffix, s.labels, extra_name, extra_value, out);
    count ? AppendCount(f, v, out) : AppendValue(f, v, out);
    out += '\n';
  };
  std::string sample_name;
  for (const auto& [name, family] : families_) {
    AppendHeader(f, family->type, name, options_.help, out);
    const FamilyType type = family->type;
    if (type == FamilyType::kCounter || type == FamilyType::kGauge) {
      sample_name.clear();
      if (type == FamilyType::kCounter) {
        AppendCounterSampleName(f, name, sample_name);
      } else {
        sample_name = name;
      }
      for (const Series* s : family->series) {
        line(sample_name, "", *s, "", "", s->value, false);
        slice_done();
      }
      continue;
    }
    // Observers: buckets or quantiles, then _sum and _count.
    const bool histogram = type == FamilyType::kHistogram;
    for (const Series* s : family->series) {
      const std::vector<std::string>& bounds = format(s->bounds);
      for (size_t i = 0; i < bounds.size(); ++i) {
        if (histogram) {
          line(name, "_bucket", *s, "le", bounds[i], s->counts[i], true);
        } else {
          line(name, "", *s, "quantile", bounds[i], s->counts[i], false);
        }
      }
      if (histogram) line(name, "_bucket", *s, "le", "+Inf", s->count, true);
      line(name, "_sum", *s, "", "", s->sum, false);
      line(name, "_count", *s, "", "", s->count, true);
      slice_done();
    }
  }
}

}  // namespace cstatsd::prometheus
