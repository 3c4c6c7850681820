// Prometheus names as statsd_exporter makes them (docs/prometheus.md#names): a statsd name or a
// tag key becomes a valid metric or label name by replacing every character outside
// [a-zA-Z0-9_] with '_' and prefixing '_' when it starts with a digit. Pure functions; any
// thread.
#pragma once

#include <string>
#include <string_view>

namespace cstatsd::prometheus {

// A valid metric name for `name` (statsd_exporter's EscapeMetricName).
std::string EscapeMetricName(std::string_view name);
// Appends the escaped form of `name` to `out` (no allocation when `out` has the capacity).
void AppendEscapedMetricName(std::string_view name, std::string& out);

bool IsValidMetricName(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidLabelName(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*, not starting "__"

}  // namespace cstatsd::prometheus
