// Golden PutMetricData bodies of the cloudwatch backend (docs/backends.md#cloudwatch): names,
// units, dimensions (bare tags valued "set", at most 10), 20 datums per request, non-finite values
// skipped.
#include "backends/cloudwatch/cloudwatch_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "unit/support/series.h"

namespace cstatsd::backends::cloudwatch {
namespace {

using test::Key;

constexpr int64_t kNow = 1440938160;  // 2015-08-30T12:36:00Z
const std::string kHead = "Action=PutMetricData&Namespace=StatsD&Version=2010-08-01";

TEST(CloudwatchFormatTest, CounterDatumsWithDimensions) {
  snapshot::FlushSnapshot s;
  s.counters.push_back({Key(MetricType::kCounter, "req", "canary,env:prod", "10.0.0.1"), 5, 0.5});
  Bodies b = FormatRequests(s, {}, "StatsD", kNow);
  ASSERT_EQ(b.requests.size(), 1u);
  EXPECT_EQ(b.datums, 2u);
  const std::string m1 = "&MetricData.member.1.", m2 = "&MetricData.member.2.";
  const std::string dims = "Dimensions.member.1.Name=canary" + m1 +
                           "Dimensions.member.1.Value=set" + m1 + "Dimensions.member.2.Name=env" +
                           m1 + "Dimensions.member.2.Value=prod";
  EXPECT_EQ(b.requests[0],
            kHead + m1 + dims + m1 + "MetricName=stats.counter.req.count" + m1 +
                "Timestamp=2015-08-30T12%3A36%3A00Z" + m1 + "Unit=Count" + m1 + "Value=5" + m2 +
                "Dimensions.member.1.Name=canary" + m2 + "Dimensions.member.1.Value=set" + m2 +
                "Dimensions.member.2.Name=env" + m2 + "Dimensions.member.2.Value=prod" + m2 +
                "MetricName=stats.counter.req.per_second" + m2 +
                "Timestamp=2015-08-30T12%3A36%3A00Z" + m2 + "Unit=Count%2FSecond" + m2 +
                "Value=0.5");
}

TEST(CloudwatchFormatTest, NamesAndUnitsPerType) {
  snapshot::FlushSnapshot s;
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "lat");
  t.count = 3;
  s.timers.push_back(t);
  s.gauges.push_back({Key(MetricType::kGauge, "queue"), 7.25});
  s.sets.push_back({Key(MetricType::kSet, "users"), 4});
  config::DisabledSubMetrics d;
  d.lower = d.upper = d.mean = d.median = d.stddev = d.sum = d.sum_squares = true;
  Bodies b = FormatRequests(s, d, "My App", kNow);
  ASSERT_EQ(b.requests.size(), 1u);
  const std::string& r = b.requests[0];
  EXPECT_EQ(r.rfind("Action=PutMetricData&Namespace=My+App&Version=2010-08-01&", 0), 0u) << r;
  for (const char* want :
       {"member.1.MetricName=stats.timers.lat.count", "member.1.Unit=Count&",
        "member.2.MetricName=stats.timers.lat.count_ps", "member.2.Unit=Count%2FSecond",
        "member.3.MetricName=stats.gauge.queue", "member.3.Unit=None", "member.3.Value=7.25",
        "member.4.MetricName=stats.set.users", "member.4.Value=4"}) {
    EXPECT_NE(r.find(want), std::string::npos) << want << "\n" << r;
  }
  EXPECT_EQ(b.datums, 4u);
}

TEST(CloudwatchFormatTest, TwentyDatumsPerRequest) {
  snapshot::FlushSnapshot s;
  for (int i = 0; i < 25; ++i) {
    s.gauges.push_back({Key(MetricType::kGauge, "g" + std::to_string(i)), 1});
  }
  Bodies b = FormatRequests(s, {}, "StatsD", kNow);
  ASSERT_EQ(b.requests.size(), 2u);
  EXPECT_NE(b.requests[0].find("member.20.MetricName=stats.gauge.g19"), std::string::npos);
  EXPECT_EQ(b.requests[0].find("member.21."), std::string::npos);
  EXPECT_NE(b.requests[1].find("member.5.MetricName=stats.gauge.g24"), std::string::npos);
  EXPECT_EQ(b.requests[1].rfind(kHead, 0), 0u);
}

TEST(CloudwatchFormatTest, AtMostTenDimensionsAndNonFiniteSkipped) {
  snapshot::FlushSnapshot s;
  s.gauges.push_back({Key(MetricType::kGauge, "wide", "a,b,c,d,e,f,g,h,i,j,k,l"), 1});
  s.gauges.push_back({Key(MetricType::kGauge, "nan"), std::nan("")});
  s.gauges.push_back({Key(MetricType::kGauge, "inf"), std::numeric_limits<double>::infinity()});
  Bodies b = FormatRequests(s, {}, "StatsD", kNow);
  ASSERT_EQ(b.requests.size(), 1u);
  EXPECT_NE(b.requests[0].find("Dimensions.member.10.Name=j"), std::string::npos);
  EXPECT_EQ(b.requests[0].find("Dimensions.member.11."), std::string::npos);
  EXPECT_EQ(b.truncated_dimensions, 1u);
  EXPECT_EQ(b.non_finite_skipped, 2u);
  EXPECT_EQ(b.datums, 1u);
}

TEST(CloudwatchFormatTest, HistogramBucketsCarryAnLeDimension) {
  snapshot::FlushSnapshot s;
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, "lat", "gsd_histogram:10");
  h.histogram = true;
  s.buckets = {{10, 2}, {std::numeric_limits<double>::infinity(), 5}};
  h.buckets_end = 2;
  s.timers.push_back(h);
  Bodies b = FormatRequests(s, {}, "StatsD", kNow);
  ASSERT_EQ(b.requests.size(), 1u);
  const std::string& r = b.requests[0];
  EXPECT_NE(r.find("member.1.Dimensions.member.2.Name=le&MetricData.member.1.Dimensions.member.2."
                   "Value=10"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("member.2.Dimensions.member.2.Value=%2BInf"), std::string::npos) << r;
  EXPECT_NE(r.find("member.2.MetricName=stats.timers.lat.histogram"), std::string::npos);
  EXPECT_NE(r.find("member.2.Value=5"), std::string::npos);
}

}  // namespace
}  // namespace cstatsd::backends::cloudwatch
