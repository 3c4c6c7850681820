// The forwarder's encoding (spec §5.2, §5.4): a merged MetricMap as pb::RawMessageV2 (outer key
// the metric name, inner key the series' tagsKey, Hostname the source), split into one message
// per dynamic-headers partition, and an Event as pb::EventV2. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metric.h"
#include "core/metric_map.h"
#include "core/utf8.h"
#include "gostatsd.pb.h"

namespace cstatsd::forward {

// Every series of `map` (counters already divided by their sample rates, §2.2).
pb::RawMessageV2 ToRawMessage(const MetricMap& map);

// One request's worth of series and the headers its dynamic-header tags give.
struct Partition {
  std::vector<std::pair<std::string, std::string>> headers;  // header name, tag value
  pb::RawMessageV2 message;
  size_t series = 0;
};

// Splits `map` by the values of the tags named in `dynamic_headers` (§5.4): series whose tags
// that start with "<name>:" (for any configured name) join to the same string share a
// partition, whose headers are "<name with '_'→'-', canonicalised>: <value>" for each such tag.
// With no dynamic headers there is one partition (none if the map is empty).
std::vector<Partition> PartitionByDynamicHeaders(const MetricMap& map,
                                                 const std::vector<std::string>& dynamic_headers);

// The event as gostatsd's forwarder sends it: Hostname and SourceIP are both the source.
pb::EventV2 ToEventV2(const Event& event);

// Every string of the messages above goes through ToValidUtf8 (core/utf8.h): proto3 strings
// must be UTF-8 and an aggregator rejects a whole message (every series of a flush) for one
// invalid string.
}  // namespace cstatsd::forward
