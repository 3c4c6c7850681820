// The Prometheus exposition formats (docs/prometheus.md#exposition): text format 0.0.4 and
// OpenMetrics 1.0 text, written as Go's client library (client_golang's expfmt) writes them:
// `# HELP` and `# TYPE` lines, samples, numbers, label escaping. Pure functions that append to a
// std::string; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cstatsd::prometheus {

enum class Format : uint8_t {
  kText,         // text/plain; version=0.0.4
  kOpenMetrics,  // application/openmetrics-text; version=1.0.0
};
inline constexpr size_t kFormatCount = 2;

enum class FamilyType : uint8_t { kCounter, kGauge, kHistogram, kSummary };
std::string_view FamilyTypeName(FamilyType t);  // "counter", "gauge", "histogram", "summary"

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
std::string_view ContentType(Format f);

// A sample value. Text: Go's strconv.FormatFloat(v, 'g', -1, 64) ("1", "0.25", "1e+06"), with
// "+Inf", "-Inf", "NaN" and -0 written "0". OpenMetrics: the same, and ".0" appended when the
// result has neither '.' nor 'e' ("1.0", "1e+06").
void AppendValue(Format f, double v, std::string& out);
// A count (histogram buckets, `_count`): a whole number below 2^53 as its digits in both formats
// ("12"), anything else as AppendValue.
void AppendCount(Format f, double v, std::string& out);
// A label value, escaped: backslash, double quote and line feed as \\, \" and \n.
void AppendLabelValue(std::string_view v, std::string& out);

// The family's name in `# TYPE` and `# HELP`: OpenMetrics counters drop a `_total` suffix (their
// samples get it back), everything else keeps `name`.
std::string_view FamilyName(Format f, FamilyType t, std::string_view name);
// The name of a counter's samples: `name` in text, FamilyName + "_total" in OpenMetrics.
void AppendCounterSampleName(Format f, std::string_view name, std::string& out);

// `# HELP <family> <help>` and `# TYPE <family> <type>` (help escaped: \\ and \n, and \" in
// OpenMetrics).
void AppendHeader(Format f, FamilyType t, std::string_view name, std::string_view help,
                  std::string& out);

// One sample line: <name><suffix>{<labels>[,<extra_name>="<extra_value>"]} <value>\n. `labels`
// is a rendered, comma-separated list (`a="b",c="d"`), possibly empty; `extra_value` is written
// as is (a bound or quantile already formatted).
void AppendSampleStart(std::string_view name, std::string_view suffix, std::string_view labels,
                       std::string_view extra_name, std::string_view extra_value, std::string& out);

// The terminator OpenMetrics requires ("# EOF\n"); nothing for text.
void AppendEnd(Format f, std::string& out);

}  // namespace cstatsd::prometheus
