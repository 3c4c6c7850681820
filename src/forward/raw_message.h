// The forwarder's encoding (docs/forwarder.md#schema, docs/forwarder.md#what-is-sent): a merged
// MetricMap as pb::RawMessageV2 (outer key the metric name, inner key the series' tagsKey, Hostname
// the source), split into one message per dynamic-headers partition, and an Event as pb::EventV2.
// And the aggregator's decoding of the same messages within limits (DecodeRawMessage, DecodeEvent).
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metric.h"
#include "core/metric_map.h"
#include "core/utf8.h"
#include "forward/shard_ring.h"
#include "gostatsd.pb.h"
#include "wire/compression.h"

namespace cstatsd::forward {

// Every series of `map` (counters already divided by their sample rates,
// docs/aggregation.md#receive).
// With `float_counters`, the map's counters hold doubles (FloatCount): each is sent as
// RawCounterV2.FloatValue and, truncated, as Value (docs/forwarder.md#schema).
pb::RawMessageV2 ToRawMessage(const MetricMap& map, bool float_counters = false);

// One request's worth of series and the headers its dynamic-header tags give.
struct Partition {
  std::vector<std::pair<std::string, std::string>> headers;  // header name, tag value
  pb::RawMessageV2 message;
  size_t series = 0;
  uint32_t endpoint = 0;  // with a ring: the aggregator (ring.Choose of the series' key hash)
};

// Splits `map` by the values of the tags named in `dynamic_headers`
// (docs/forwarder.md#what-is-sent): series whose tags that start with "<name>:" (for any configured
// name) join to the same string share a partition, whose headers are "<name with '_'→'-',
// canonicalised>: <value>" for each such tag. With no dynamic headers there is one partition (none
// if the map is empty). With a `ring` (several aggregators, docs/forwarder.md#sharding), series
// are split by aggregator first: a partition per aggregator and header values.
std::vector<Partition> PartitionByDynamicHeaders(const MetricMap& map,
                                                 const std::vector<std::string>& dynamic_headers,
                                                 bool float_counters = false,
                                                 const ShardRing* ring = nullptr);

// RawTimerV2.Kind, cstatsd's field 100 (docs/forwarder.md#schema): the timer's kind on the
// wire. Absent (gostatsd, an older cstatsd) and unknown values are `ms`.
inline constexpr uint32_t kRawTimerKindField = 100;
inline pb::RawTimerV2_TimerKind TimerKindToWire(TimerKind kind) {
  switch (kind) {
    case TimerKind::kHistogram:
      return pb::RawTimerV2::Histogram;
    case TimerKind::kDistribution:
      return pb::RawTimerV2::Distribution;
    case TimerKind::kMs:
      break;
  }
  return pb::RawTimerV2::Ms;
}
inline TimerKind TimerKindFromWire(uint64_t kind) {
  switch (kind) {
    case pb::RawTimerV2::Histogram:
      return TimerKind::kHistogram;
    case pb::RawTimerV2::Distribution:
      return TimerKind::kDistribution;
    default:
      return TimerKind::kMs;
  }
}

// RawCounterV2.FloatValue, cstatsd's field 100 (docs/forwarder.md#schema): a counter's fraction,
// read with float-counters; absent, the counter is Value.
inline constexpr uint32_t kRawCounterFloatValueField = 100;

// The event as gostatsd's forwarder sends it: Hostname and SourceIP are both the source.
pb::EventV2 ToEventV2(const Event& event);

// Every string of the messages above goes through ToValidUtf8 (core/utf8.h): proto3 strings
// must be UTF-8 and an aggregator rejects a whole message (every series of a flush) for one
// invalid string.

// --- Decoding (the receiving side of /v2/raw and /v2/event) ---
//
// protobuf's generated ParseFromArray builds every repeated field before anything can be
// checked (a 64 MiB body of 33 million empty tags became 33 million std::strings, 2.9 GB). The
// decoders below walk the wire format themselves, count as they go and stop at the first limit
// passed: memory is the body plus one series' scratch (its tags, timer values or set members,
// each capped), never a copy of the message. Semantics are protobuf's (fields in any order,
// unknown fields skipped, a repeated message field merged, strings must be UTF-8) except that a
// map key sent twice yields both entries (protobuf keeps the last; Go's encoder never repeats one).

// What one message may hold. The defaults are "no limit"; the HTTP server passes its options.
struct DecodeLimits {
  static constexpr size_t kNone = std::numeric_limits<size_t>::max();
  size_t max_series = kNone;               // series in one RawMessageV2
  size_t max_tags = kNone;                 // tags of one series (or event)
  size_t max_tag_length = kNone;           // bytes of one tag or set member
  size_t max_name_length = kNone;          // bytes of a metric name or a hostname
  size_t max_timer_values = kNone;         // values of one timer series
  size_t max_set_members = kNone;          // members of one set series
  size_t max_request_set_members = kNone;  // members of all the sets of one message together
};

enum class DecodeError {
  kNone,
  kMalformed,          // not the wire format of the message (or a string not UTF-8)
  kSeries,             // more than max_series
  kTags,               // a series (or event) with more than max_tags
  kTagLength,          // a tag or set member longer than max_tag_length
  kNameLength,         // a name or hostname longer than max_name_length
  kTimerValues,        // a timer with more than max_timer_values
  kSetMembers,         // a set with more than max_set_members
  kRequestSetMembers,  // more than max_request_set_members in all
  kOverBudget,         // the decoder's scratch could not be taken from the budget
};
// "malformed", "series", "tags", "tag-length", "name-length", "timer-values", "set-members",
// "request-set-members", "over-budget"; "" for kNone.
std::string_view DecodeErrorName(DecodeError e);

struct DecodeStatus {
  DecodeError error = DecodeError::kNone;
  std::string message;  // why, for the log
  size_t series = 0;    // series delivered
  bool ok() const { return error == DecodeError::kNone; }
};

// One decoded series; every view points into the body or the decoder's scratch and is valid
// during the callback only.
struct RawSeries {
  MetricType type = MetricType::kCounter;
  std::string_view name;
  std::string_view hostname;
  std::span<const std::string_view> tags;
  int64_t counter = 0;
  bool has_float_counter = false;  // RawCounterV2.FloatValue was sent (float_counter)
  double float_counter = 0;
  double gauge = 0;
  double sample_count = 0;
  TimerKind timer_kind = TimerKind::kMs;  // RawTimerV2.Kind; absent: ms
  std::span<const double> timer_values;
  std::span<const std::string_view> set_members;
};

class RawSeriesVisitor {
 public:
  virtual ~RawSeriesVisitor() = default;
  // First pass (checking): each series as it is checked, before any Series call.
  virtual void Checked(const RawSeries& /*series*/) {}
  // After the whole message passed every check: how many series Series will be called with.
  virtual void Begin(size_t /*series*/) {}
  virtual void Series(const RawSeries& series) = 0;
};

// Checks all of `wire` (a RawMessageV2) against `limits` first, then delivers every series to
// `visitor`: a message that fails a check delivers nothing. The scratch grows through `lease`
// (may be null).
DecodeStatus DecodeRawMessage(std::string_view wire, const DecodeLimits& limits,
                              wire::BudgetLease* lease, RawSeriesVisitor& visitor);

// An EventV2 into `event` (fields as named in the message; source = Hostname). SourceIP is
// read and ignored. Tags count against max_tags and max_tag_length, Hostname max_name_length.
DecodeStatus DecodeEvent(std::string_view wire, const DecodeLimits& limits, Event& event);

}  // namespace cstatsd::forward
