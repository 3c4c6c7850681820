// The value types that flow from the parser into the pipeline: one parsed metric line (views
// into the datagram, reused from line to line) and an event (owning, events are rare).
// Owned by the thread that parses; not shared.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cstatsd {

// gostatsd's enum values (COUNTER=1, TIMER=2, GAUGE=3, SET=4).
enum class MetricType : uint8_t { kCounter = 1, kTimer = 2, kGauge = 3, kSet = 4 };

std::string_view MetricTypeName(MetricType type);  // "counter", "timer", "gauge", "set"

// A timer line's statsd type, which the aggregation does not change
// (docs/aggregation.md#timer-kinds): `ms` is a duration in milliseconds, `h` (histogram) a value
// without unit, `d` (DogStatsD distribution) a value without unit aggregated as a timer. Every
// backend that gostatsd has treats both alike; one that converts units
// (Prometheus: `ms` / 1000 to seconds, `h` as it is) reads it. Not a gsd_histogram tag (that is
// TimerPoint::histogram). The order is the precedence when a series receives several kinds in one
// interval: the smallest wins (ResolveTimerKind). kMs is 0: what a producer that does not know (a
// gostatsd forwarder, internal metrics) means.
enum class TimerKind : uint8_t { kMs = 0, kHistogram = 1, kDistribution = 2 };

inline constexpr std::string_view TimerKindName(TimerKind kind) {  // "ms", "h", "d"
  return kind == TimerKind::kHistogram ? "h" : kind == TimerKind::kDistribution ? "d" : "ms";
}

// The kinds a timer series received in an interval: one bit per TimerKind. Receive and every
// merge OR them, so the result does not depend on the order of workers, merges or forwarders.
using TimerKindSet = uint8_t;

inline constexpr TimerKindSet TimerKindBit(TimerKind kind) {
  return static_cast<TimerKindSet>(1u << static_cast<unsigned>(kind));
}

// The kind a series reports: the smallest kind received (`ms` if any line was `ms`); `ms` when
// none is known (a timer kept without values).
inline constexpr TimerKind ResolveTimerKind(TimerKindSet kinds) {
  return kinds == 0 ? TimerKind::kMs : static_cast<TimerKind>(std::countr_zero(kinds));
}

// One metric line as parsed. Views point into the datagram or into the parser's scratch space
// and stay valid until the parser parses the next line. Vectors keep their capacity, so reusing
// one ParsedMetric allocates nothing in the steady state.
struct ParsedMetric {
  MetricType type = MetricType::kCounter;
  TimerKind timer_kind = TimerKind::kMs;  // timers: `ms` or `h`; meaningless for other types
  std::string_view name;                  // sanitised, with the namespace prefix applied
  std::vector<double> values;             // c, g, ms/h: the packed values in order (may be empty)
  std::string_view set_value;             // s: the member, verbatim
  double rate = 1.0;                      // sample rate from '@'; finite and > 0
  std::vector<std::string_view> tags;     // as received, empty elements dropped, unsorted
  // DogStatsD fields (docs/protocol.md#dogstatsd-fields): `|T<unix seconds>` (counters and
  // gauges; 0 = not given), and the origin fields `|c:`, `|e:`, `|card:` verbatim (empty = not
  // given).
  int64_t timestamp = 0;
  std::string_view container_id;
  std::string_view external_data;
  std::string_view cardinality;
  // g: the value was written with an explicit sign (`+N` / `-N`): a delta when `gauge-deltas` is
  // on (docs/aggregation.md#gauge-deltas), the gauge's new value otherwise (gostatsd). With packed
  // values it describes the line's last value: values[gauge_delta_from..] are the signed values
  // after the last unsigned one, so with `gauge-deltas` on a line sets the gauge to
  // values[gauge_delta_from - 1] when gauge_delta_from > 0 and then adds values[gauge_delta_from..]
  // in order (the values before are overwritten). `x:5:+1:-2|g`: gauge_delta, from 1 (5, then +1,
  // then -2); `x:+1:5|g`: not gauge_delta, from 2 (5); `x:-3|g`: gauge_delta, from 0
  // (docs/protocol.md#gauge-signs). Without gauge_delta, gauge_delta_from == values.size().
  bool gauge_delta = false;
  uint32_t gauge_delta_from = 0;

  void Clear() {
    values.clear();
    tags.clear();
    set_value = {};
    name = {};
    rate = 1.0;
    timer_kind = TimerKind::kMs;
    timestamp = 0;
    container_id = {};
    external_data = {};
    cardinality = {};
    gauge_delta = false;
    gauge_delta_from = 0;
  }
};

// ---------------------------------------------------------------------------------------------
// The value rules of every ingestion path: UDP, unix socket and TCP lines (the parser), HTTP
// /v2/raw series (Pipeline::ReceiveAggregated) and internal metrics. docs/limits.md ("Lines and
// values") states them for users.

// A metric value: NaN is refused ("invalid value NaN"), ±Inf is accepted, as gostatsd does for a
// line (Go's ParseFloat reads "inf"); a counter's ±Inf saturates (SaturateToInt64).
inline bool ValidValue(double v) { return !std::isnan(v); }

// A sample rate (`@`): a finite number > 0 (docs/compatibility.md#decision-1; `@0`, `@-1`, `@inf`,
// `@nan` refused).
inline bool ValidSampleRate(double rate) { return std::isfinite(rate) && rate > 0; }

// A forwarded timer's sample count (what its values count for): a finite number >= 0.
inline bool ValidSampleCount(double count) { return std::isfinite(count) && count >= 0; }

// Truncation toward zero, saturating at the int64 limits where Go's conversion is undefined
// (|v| >= 2^63, ±Inf); NaN gives 0.
inline int64_t SaturateToInt64(double v) {
  constexpr double kLimit = 9223372036854775808.0;                // 2^63
  if (v < kLimit && v > -kLimit) return static_cast<int64_t>(v);  // truncates toward zero
  if (v >= kLimit) return INT64_MAX;
  if (v <= -kLimit) return INT64_MIN;
  return 0;  // NaN
}

// a + b, saturating at the int64 limits (every counter add: receive, merges, forwarding).
inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? INT64_MAX : INT64_MIN;
  return sum;
}

// What one timer line counts for: 1/rate, saturating at 2^63 (so `@1e-320` does not add +Inf).
inline double TimerLineWeight(double rate) {
  constexpr double kMax = 9223372036854775808.0;  // 2^63
  const double w = rate == 1.0 ? 1.0 : 1.0 / rate;
  return w < kMax ? w : kMax;
}

// gsd_histogram timers: the tag whose value lists the bucket bounds ("gsd_histogram:10_20_50").
inline constexpr std::string_view kHistogramTagPrefix = "gsd_histogram:";
// Default of max-histogram-bounds: the most '_'-separated bounds a gsd_histogram tag may list.
inline constexpr uint32_t kDefaultMaxHistogramBounds = 100;

// Whether `tag` is a gsd_histogram tag listing more than `max_bounds` bounds ('_'-separated
// pieces, empty or unparsable ones included). Such a timer is refused on every path: each
// bound is a series of its own at every flush.
inline bool HistogramTagOverLimit(std::string_view tag, uint32_t max_bounds) {
  if (tag.size() <= kHistogramTagPrefix.size() || tag[0] != 'g' ||
      tag.substr(0, kHistogramTagPrefix.size()) != kHistogramTagPrefix) {
    return false;
  }
  uint64_t pieces = 1;
  for (size_t i = kHistogramTagPrefix.size(); i < tag.size(); ++i) pieces += tag[i] == '_';
  return pieces > max_bounds;
}

enum class EventPriority : uint8_t { kNormal = 0, kLow = 1 };
enum class EventAlertType : uint8_t { kInfo = 0, kWarning = 1, kError = 2, kSuccess = 3 };

std::string_view EventPriorityName(EventPriority p);    // "normal", "low"
std::string_view EventAlertTypeName(EventAlertType t);  // "info", "warning", "error", "success"

// A DogStatsD event (docs/protocol.md#events). Source is the sender's IP once it has left the
// receiver.
struct Event {
  std::string title;
  std::string text;
  int64_t date_happened = 0;  // unix seconds; 0 = not given
  std::string source;         // h: while parsing; then the sender IP
  std::string aggregation_key;
  std::string source_type_name;
  std::vector<std::string> tags;
  EventPriority priority = EventPriority::kNormal;
  EventAlertType alert_type = EventAlertType::kInfo;

  bool operator==(const Event&) const = default;
};

// A DogStatsD service check (docs/protocol.md#service-checks):
// `_sc|<name>|<status>|d:<timestamp>|h:<hostname>|#<tags>|m:<message>`.
enum class ServiceCheckStatus : uint8_t { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };

std::string_view ServiceCheckStatusName(ServiceCheckStatus s);  // "ok", "warning", ...

struct ServiceCheck {
  std::string name;
  ServiceCheckStatus status = ServiceCheckStatus::kOk;
  int64_t timestamp = 0;  // d: unix seconds; 0 = not given
  std::string source;     // h: while parsing; then the sender IP (as Event::source)
  std::string message;    // m:, the last field (may contain '|')
  std::vector<std::string> tags;
  std::string container_id;  // c:, verbatim

  bool operator==(const ServiceCheck&) const = default;
};

}  // namespace cstatsd
