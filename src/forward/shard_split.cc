#include "forward/shard_split.h"

#include <string>
#include <utility>

#include "core/series_key.h"

namespace cstatsd::forward {

template <typename Raw>
uint64_t RawSeriesHash(MetricType type, const std::string& name, const Raw& raw,
                       std::string& scratch) {
  scratch.clear();
  for (const std::string& tag : raw.tags()) {
    if (!scratch.empty()) scratch += ',';
    scratch += tag;
  }
  return SeriesKey::Hash(type, name, scratch, raw.hostname());
}

namespace {

// Moves the series of one of the message's four maps (`field` picks it) into the parts.
template <typename OuterMap, typename Field>
void SplitMap(MetricType type, OuterMap& outer, const ShardRing& ring,
              std::vector<ShardPart>& parts, std::vector<int>& index, std::string& scratch,
              Field field) {
  for (auto& [name, by_tags] : outer) {
    for (auto& [tags_key, raw] : *by_tags.mutable_tagmap()) {
      const uint32_t e = ring.Choose(RawSeriesHash(type, name, raw, scratch));
      if (index.size() <= e) index.resize(e + 1, -1);
      if (index[e] < 0) {
        index[e] = static_cast<int>(parts.size());
        parts.push_back({e, {}, 0});
      }
      ShardPart& p = parts[static_cast<size_t>(index[e])];
      auto& dest = (*field(p.message))[name];
      (*dest.mutable_tagmap())[tags_key] = std::move(raw);
      ++p.series;
    }
  }
}

}  // namespace

std::vector<ShardPart> SplitRawMessage(pb::RawMessageV2&& msg, const ShardRing& ring) {
  std::vector<ShardPart> parts;
  std::vector<int> index;
  std::string scratch;
  SplitMap(MetricType::kCounter, *msg.mutable_counters(), ring, parts, index, scratch,
           [](pb::RawMessageV2& m) { return m.mutable_counters(); });
  SplitMap(MetricType::kGauge, *msg.mutable_gauges(), ring, parts, index, scratch,
           [](pb::RawMessageV2& m) { return m.mutable_gauges(); });
  SplitMap(MetricType::kTimer, *msg.mutable_timers(), ring, parts, index, scratch,
           [](pb::RawMessageV2& m) { return m.mutable_timers(); });
  SplitMap(MetricType::kSet, *msg.mutable_sets(), ring, parts, index, scratch,
           [](pb::RawMessageV2& m) { return m.mutable_sets(); });
  return parts;
}

size_t CountSeries(const pb::RawMessageV2& msg) {
  size_t n = 0;
  for (const auto& [name, t] : msg.counters()) n += static_cast<size_t>(t.tagmap_size());
  for (const auto& [name, t] : msg.gauges()) n += static_cast<size_t>(t.tagmap_size());
  for (const auto& [name, t] : msg.timers()) n += static_cast<size_t>(t.tagmap_size());
  for (const auto& [name, t] : msg.sets()) n += static_cast<size_t>(t.tagmap_size());
  return n;
}

template uint64_t RawSeriesHash(MetricType, const std::string&, const pb::RawCounterV2&,
                                std::string&);
template uint64_t RawSeriesHash(MetricType, const std::string&, const pb::RawGaugeV2&,
                                std::string&);
template uint64_t RawSeriesHash(MetricType, const std::string&, const pb::RawTimerV2&,
                                std::string&);
template uint64_t RawSeriesHash(MetricType, const std::string&, const pb::RawSetV2&, std::string&);

}  // namespace cstatsd::forward
