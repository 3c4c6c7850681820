// CloudWatch PutMetricData request bodies for the cloudwatch backend (docs/backends.md#cloudwatch):
// the AWS Query protocol form
// (Action=PutMetricData&Version=2010-08-01&Namespace=..&MetricData.member.N...), 20 datums per
// request, names `stats.<type>.<name>[.<agg>]` with gostatsd's units, dimensions from tags (at most
// 10). Pure functions, used by the backend's thread and the golden tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/options.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::backends::cloudwatch {

constexpr size_t kDatumsPerRequest = 20;
constexpr size_t kMaxDimensions = 10;

struct Bodies {
  std::vector<std::string> requests;  // form-encoded bodies of at most 20 datums each
  size_t datums = 0;
  size_t non_finite_skipped = 0;    // NaN/±Inf values CloudWatch would reject (the whole request)
  size_t truncated_dimensions = 0;  // series with more than 10 tags, cut to the first 10
};

Bodies FormatRequests(const snapshot::FlushSnapshot& s, const config::DisabledSubMetrics& d,
                      std::string_view namespace_name, int64_t now_seconds);

}  // namespace cstatsd::backends::cloudwatch
