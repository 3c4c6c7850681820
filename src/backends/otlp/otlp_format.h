// OTLP payloads for the otlp backend (docs/backends.md#otlp): ExportMetricsServiceRequests of at
// most metrics_per_batch metrics, series grouped per resource (tags named in resource_keys), timers
// as gauges (AsGauge) or DELTA histograms (AsHistogram); events as ExportLogsServiceRequests.
// Pure functions, used by the backend's thread and the golden tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/options.h"
#include "core/metric.h"
#include "otlp.pb.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::backends::otlp {

inline constexpr std::string_view kScopeName = "gostatsd/aggregation";

struct FormatOptions {
  std::vector<std::string> resource_keys;  // tag keys promoted to resource attributes
  bool as_histogram = false;               // conversion = AsHistogram
  config::DisabledSubMetrics disabled;     // [otlp.disabled_timer_aggregations]
  std::string scope_version;               // the build's version
};

std::vector<::otlp::ExportMetricsServiceRequest> FormatMetrics(const snapshot::FlushSnapshot& s,
                                                               const FormatOptions& o,
                                                               size_t metrics_per_batch);

// `now_ns` is used when the event has no date.
::otlp::ExportLogsServiceRequest FormatEvent(const Event& e, const FormatOptions& o,
                                             int64_t now_ns);

}  // namespace cstatsd::backends::otlp
