// The process metrics Go's client library exposes (process_cpu_seconds_total,
// process_resident_memory_bytes, ...), read from /proc/self at scrape time
// (docs/prometheus.md#exposition). Any thread.
#pragma once

#include <string>

#include "prometheus/exposition.h"

namespace cstatsd::prometheus {

// The family names AppendProcessMetrics writes (reserved: no statsd series may take them).
inline constexpr const char* kProcessMetricNames[] = {"process_cpu_seconds_total",
                                                      "process_open_fds",
                                                      "process_max_fds",
                                                      "process_virtual_memory_bytes",
                                                      "process_resident_memory_bytes",
                                                      "process_start_time_seconds"};

// Appends the families above with the values of this process now; a figure that cannot be read
// is left out.
void AppendProcessMetrics(Format f, std::string& out);

}  // namespace cstatsd::prometheus
