// New Relic payloads for the newrelic backend (docs/backends.md#newrelic) in its three flush types:
// `infra` (Infrastructure integration payload), `insights` (Event API array) and `metrics` (Metric
// API). Every object is written with its keys sorted, as Go marshals the maps gostatsd builds. Pure
// functions, used by the backend's thread and the golden tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "backends/common/item_batcher.h"
#include "config/options.h"
#include "core/metric.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::backends::newrelic {

inline constexpr std::string_view kIntegrationName = "com.newrelic.gostatsd";
inline constexpr std::string_view kIntegrationVersion = "2.4.0";

enum class FlushType { kInfra, kInsights, kMetrics };

// The configurable attribute names and the rest of what shapes a payload.
struct FormatOptions {
  FlushType flush_type = FlushType::kInfra;
  std::string event_type = "GoStatsD";
  std::string tag_prefix;
  std::string metric_name = "name";
  std::string metric_type = "type";
  std::string per_second = "per_second";
  std::string value = "value";
  std::string timer_min = "min";
  std::string timer_max = "max";
  std::string timer_count = "count";
  std::string timer_mean = "mean";
  std::string timer_median = "median";
  std::string timer_stddev = "std_dev";
  std::string timer_sum = "sum";
  std::string timer_sumsquare = "sum_squares";
  config::DisabledSubMetrics disabled;
  double flush_interval_seconds = 10;
};

// Called with each request body and its number of metrics (backends/common/item_batcher.h).
using backends::BatchFn;

// A batch is cut once it holds metrics_per_batch − 20 objects or more (after each series).
size_t FormatMetrics(const snapshot::FlushSnapshot& s, const FormatOptions& o, int64_t now_seconds,
                     size_t metrics_per_batch, const BatchFn& emit);

// The event body for the flush type.
std::string FormatEvent(const Event& e, const FormatOptions& o);

}  // namespace cstatsd::backends::newrelic
