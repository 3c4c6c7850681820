// Datadog series API v1 JSON for the datadog backend (docs/backends.md#datadog): counters as a
// `rate` plus a
// `.count` gauge, timers as gauges (`.count_ps` a rate), histogram buckets as `count`s with an
// `le` tag, gauges, set cardinalities; batches cut as gostatsd cuts them; events as
// /api/v1/events bodies. Strings and numbers are written as Go's encoding/json writes them.
// Pure functions, used by the backend's thread and the golden tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "backends/common/item_batcher.h"
#include "config/options.h"
#include "core/metric.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::backends::datadog {

// Called with each request body and its number of metrics (backends/common/item_batcher.h).
using backends::BatchFn;

// `now_seconds` is each point's timestamp, `interval_seconds` the flush interval. A batch is sent
// once it holds metrics_per_batch − 20 series or more (checked after each series' group of
// points, as gostatsd). Returns the number of series.
size_t FormatSeries(const snapshot::FlushSnapshot& s, const config::DisabledSubMetrics& disabled,
                    int64_t now_seconds, double interval_seconds, size_t metrics_per_batch,
                    const BatchFn& emit);

// The /api/v1/events body.
std::string FormatEvent(const Event& e);

// The /api/v1/check_run body: a JSON array of one check (docs/backends.md#service-checks), with
// check, host_name, status, tags (always; [] when none), timestamp and message when set.
std::string FormatServiceCheck(const ServiceCheck& c);

// A point's value as Go's JSON float, after Datadog's non-finite coercion (NaN → −1,
// ±Inf → ±max float64).
void AppendValue(std::string& out, double v);

}  // namespace cstatsd::backends::datadog
