// Splitting a RawMessageV2 over the aggregators (docs/forwarder.md#sharding): each series goes to
// the ring's choice for the hash of its key, the same hash (SeriesKey::Hash of type, name, tags
// and source) that the flusher's map holds, so a series re-routed after a failure lands where its
// next flush will go. Used to re-route a payload that an aggregator failed to take
// (docs/forwarder.md#health). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/metric.h"
#include "forward/shard_ring.h"
#include "gostatsd.pb.h"

namespace cstatsd::forward {

// The key hash of one series of a RawMessageV2: its name, its Tags joined by ',' and its
// Hostname. `scratch` is reused for the joined tags.
template <typename Raw>
uint64_t RawSeriesHash(MetricType type, const std::string& name, const Raw& raw,
                       std::string& scratch);

struct ShardPart {
  uint32_t endpoint = 0;  // position in the Route's URL list
  pb::RawMessageV2 message;
  size_t series = 0;
};

// Moves every series of `msg` into the part of its ring choice; parts in the order of their
// first series. The ring must not be empty.
std::vector<ShardPart> SplitRawMessage(pb::RawMessageV2&& msg, const ShardRing& ring);

// The number of series in `msg`.
size_t CountSeries(const pb::RawMessageV2& msg);

}  // namespace cstatsd::forward
