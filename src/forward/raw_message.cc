// The forwarder's encoding: a merged MetricMap as RawMessageV2 messages, one per dynamic-headers
// partition, and an Event as EventV2 (docs/forwarder.md#schema). The decoding of the same
// messages is in raw_message_decoder.cc.
#include "forward/raw_message.h"

#include <cstring>
#include <map>

#include "core/utf8.h"
#include "forward/forwarder_options.h"

namespace cstatsd::forward {
namespace {

// Tags and source; once per entry (a second series on the same entry, see Entry, has the same
// ones once made valid).
template <typename Raw>
void FillCommon(const SeriesKey& key, Raw& raw) {
  if (raw.tags_size() == 0) {
    key.ForEachTag([&](std::string_view tag) { raw.add_tags(ToValidUtf8(tag)); });
  }
  raw.set_hostname(ToValidUtf8(key.source()));
}

// The entry of series `key` in a TagMap. Two series can share it only when their names or tags
// differ in invalid bytes alone; their values are then combined as a merge would.
// `shared` (if given) says whether the entry was there already.
template <typename TagMap>
auto& Entry(TagMap& outer, const SeriesKey& key, bool* shared = nullptr) {
  auto& tag_map = *outer[ToValidUtf8(key.name())].mutable_tagmap();
  std::string tags_key = ToValidUtf8(key.TagsKey());
  if (shared != nullptr) *shared = tag_map.count(tags_key) != 0;
  return tag_map[std::move(tags_key)];
}

void AddCounter(pb::RawMessageV2& msg, const SeriesKey& key, const CounterAgg& v,
                bool float_counters) {
  auto& raw = Entry(*msg.mutable_counters(), key);
  FillCommon(key, raw);
  if (float_counters) {
    // FloatValue for a cstatsd aggregator, Value truncated for gostatsd (docs/forwarder.md#schema).
    const double count = FloatCount(v.value);
    raw.set_value(SaturatingAdd(raw.value(), SaturateToInt64(count)));
    raw.set_floatvalue(raw.floatvalue() + count);
    return;
  }
  raw.set_value(SaturatingAdd(raw.value(), v.value));  // two series on one entry
}

void AddGauge(pb::RawMessageV2& msg, const SeriesKey& key, const GaugeAgg& v) {
  auto& raw = Entry(*msg.mutable_gauges(), key);
  FillCommon(key, raw);
  raw.set_value(v.value);
}

void AddTimer(pb::RawMessageV2& msg, const SeriesKey& key, const TimerAgg& v) {
  bool shared = false;
  auto& raw = Entry(*msg.mutable_timers(), key, &shared);
  FillCommon(key, raw);
  raw.set_samplecount(raw.samplecount() + v.sampled_count);
  raw.mutable_values()->Add(v.values.begin(), v.values.end());
  // Kind (docs/forwarder.md#schema): unset, the default, is `ms`, so an `ms` timer is encoded
  // as gostatsd encodes it. Two series on one entry: `ms` if either is.
  TimerKindSet kinds = v.kinds;
  if (shared) kinds |= TimerKindBit(TimerKindFromWire(raw.kind()));
  raw.set_kind(TimerKindToWire(ResolveTimerKind(kinds)));
}

void AddSet(pb::RawMessageV2& msg, const SeriesKey& key, const SetAgg& v) {
  auto& raw = Entry(*msg.mutable_sets(), key);
  FillCommon(key, raw);
  for (const auto& member : v.members) raw.add_values(ToValidUtf8(member));
}

// Calls fn(key, value, adder) for every series of every type.
template <typename Fn>
void ForEachSeries(const MetricMap& map, bool float_counters, Fn&& fn) {
  for (const auto& e : map.counters.entries())
    fn(*e.key, [&](auto& m) { AddCounter(m, *e.key, e.value, float_counters); });
  for (const auto& e : map.gauges.entries())
    fn(*e.key, [&](auto& m) { AddGauge(m, *e.key, e.value); });
  for (const auto& e : map.timers.entries())
    fn(*e.key, [&](auto& m) { AddTimer(m, *e.key, e.value); });
  for (const auto& e : map.sets.entries()) fn(*e.key, [&](auto& m) { AddSet(m, *e.key, e.value); });
}

}  // namespace

pb::RawMessageV2 ToRawMessage(const MetricMap& map, bool float_counters) {
  pb::RawMessageV2 msg;
  ForEachSeries(map, float_counters, [&](const SeriesKey&, auto&& add) { add(msg); });
  return msg;
}

std::vector<Partition> PartitionByDynamicHeaders(const MetricMap& map,
                                                 const std::vector<std::string>& dynamic_headers,
                                                 bool float_counters, const ShardRing* ring) {
  std::vector<Partition> out;
  if (map.empty()) return out;
  if (ring != nullptr && ring->empty()) ring = nullptr;
  if (dynamic_headers.empty() && ring == nullptr) {
    out.push_back({{}, ToRawMessage(map, float_counters), map.size()});
    return out;
  }
  // (aggregator, joined matched tags) → partition
  std::map<std::pair<uint32_t, std::string>, size_t> index;
  std::pair<uint32_t, std::string> at;
  std::string& joined = at.second;
  std::vector<std::string_view> matched;
  ForEachSeries(map, float_counters, [&](const SeriesKey& key, auto&& add) {
    at.first = ring != nullptr ? ring->Choose(key.hash()) : 0;
    joined.clear();
    matched.clear();
    key.ForEachTag([&](std::string_view tag) {
      for (const std::string& name : dynamic_headers) {
        if (tag.size() > name.size() && tag.compare(0, name.size(), name) == 0 &&
            tag[name.size()] == ':') {
          if (!joined.empty()) joined += ',';
          joined += tag;
          matched.push_back(tag);
          break;
        }
      }
    });
    auto [it, inserted] = index.emplace(at, out.size());
    if (inserted) {
      Partition p;
      p.endpoint = at.first;
      for (std::string_view tag : matched) {
        const size_t colon = tag.find(':');
        p.headers.emplace_back(DynamicHeaderName(tag.substr(0, colon)),
                               std::string(tag.substr(colon + 1)));
      }
      out.push_back(std::move(p));
    }
    Partition& p = out[it->second];
    add(p.message);
    ++p.series;
  });
  return out;
}

pb::EventV2 ToEventV2(const Event& e) {
  pb::EventV2 m;
  m.set_title(ToValidUtf8(e.title));
  m.set_text(ToValidUtf8(e.text));
  m.set_datehappened(e.date_happened);
  m.set_hostname(ToValidUtf8(e.source));
  m.set_aggregationkey(ToValidUtf8(e.aggregation_key));
  m.set_sourcetypename(ToValidUtf8(e.source_type_name));
  for (const auto& t : e.tags) m.add_tags(ToValidUtf8(t));
  m.set_sourceip(m.hostname());
  m.set_priority(e.priority == EventPriority::kLow ? pb::EventV2::Low : pb::EventV2::Normal);
  switch (e.alert_type) {
    case EventAlertType::kInfo:
      m.set_type(pb::EventV2::Info);
      break;
    case EventAlertType::kWarning:
      m.set_type(pb::EventV2::Warning);
      break;
    case EventAlertType::kError:
      m.set_type(pb::EventV2::Error);
      break;
    case EventAlertType::kSuccess:
      m.set_type(pb::EventV2::Success);
      break;
  }
  return m;
}

}  // namespace cstatsd::forward
