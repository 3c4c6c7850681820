// The HTTP backends' sections: defaults, required keys, errors naming the key, and the URLs
// built from them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aws/sigv4.h"
#include "backends/cloudwatch/cloudwatch_backend.h"
#include "backends/datadog/datadog_backend.h"
#include "backends/influxdb/influxdb_backend.h"
#include "backends/newrelic/newrelic_backend.h"
#include "backends/otlp/otlp_backend.h"

namespace cstatsd::backends {
namespace {

config::Config WithFile(const char* json) {
  config::Config c;
  c.file = nlohmann::json::parse(json);
  return c;
}

bool Mentions(const Status& s, std::string_view what) {
  return s.message().find(what) != std::string::npos;
}

TEST(InfluxdbOptionsTest, V1UrlUsesDbAndSortedParameters) {
  auto o = influxdb::InfluxdbOptions::From(
      WithFile(R"({"influxdb": {"api-endpoint": "http://h:8086/x/", "api-version": 1,
                  "database": "my db", "retention-policy": "week", "consistency": "one"}})"),
      nullptr);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->WriteUrl(), "http://h:8086/x/write?consistency=one&db=my+db&precision=s&rp=week");
  EXPECT_EQ(o->metrics_per_batch, 5000);
  EXPECT_TRUE(o->compress_payload);
}

TEST(InfluxdbOptionsTest, V2UrlAndOtherVersionKeysWarned) {
  std::vector<std::string> warnings;
  auto o = influxdb::InfluxdbOptions::From(
      WithFile(R"({"influxdb": {"api-endpoint": "http://h", "bucket": "b", "org": "o",
                  "database": "ignored"}})"),
      &warnings);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->WriteUrl(), "http://h/api/v2/write?bucket=b&org=o&precision=s");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("influxdb.database"), std::string::npos);
}

TEST(InfluxdbOptionsTest, ErrorsNameTheKeys) {
  auto o = influxdb::InfluxdbOptions::From(
      WithFile(R"({"influxdb": {"api-version": 1, "metrics-per-batch": 0,
                  "max-request-elapsed-time": "-2s"}})"),
      nullptr);
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(Mentions(o.status(), "influxdb.api-endpoint: is required"));
  EXPECT_TRUE(Mentions(o.status(), "influxdb.database: is required"));
  EXPECT_TRUE(Mentions(o.status(), "influxdb.metrics-per-batch"));
  EXPECT_TRUE(Mentions(o.status(), "influxdb.max-request-elapsed-time"));
  auto v3 = influxdb::InfluxdbOptions::From(WithFile(R"({"influxdb": {"api-endpoint": "h",
                                               "api-version": 3}})"),
                                            nullptr);
  EXPECT_TRUE(Mentions(v3.status(), "influxdb.api-version: must be 1 or 2"));
}

TEST(DatadogOptionsTest, DefaultsAndRequiredKey) {
  auto bad = datadog::DatadogOptions::From(WithFile("{}"));
  EXPECT_TRUE(Mentions(bad.status(), "datadog.api_key: is required"));
  auto c = WithFile(R"({"datadog": {"api_key": "k", "api_endpoint": "http://x/"}})");
  c.options.flush_interval = std::chrono::milliseconds(1500);
  auto o = datadog::DatadogOptions::From(c);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->api_endpoint, "http://x");
  EXPECT_EQ(o->metrics_per_batch, 1000);
  EXPECT_EQ(o->flush_interval_seconds, 1.5);
  EXPECT_EQ(o->max_request_elapsed_time, std::chrono::seconds(15));
}

TEST(NewrelicOptionsTest, FlushTypeFromTheAddresses) {
  auto infra = newrelic::NewrelicOptions::From(WithFile("{}"), nullptr);
  ASSERT_TRUE(infra.ok()) << infra.error();
  EXPECT_EQ(infra->format.flush_type, newrelic::FlushType::kInfra);
  auto insights = newrelic::NewrelicOptions::From(
      WithFile(R"({"newrelic": {"address": "https://insights-collector.newrelic.com/v1/x",
                  "api-key": "k"}})"),
      nullptr);
  ASSERT_TRUE(insights.ok()) << insights.error();
  EXPECT_EQ(insights->format.flush_type, newrelic::FlushType::kInsights);
  auto metrics = newrelic::NewrelicOptions::From(
      WithFile(R"({"newrelic": {"address-metrics": "https://metric-api.newrelic.com/metric/v1",
                  "api-key": "k", "timer-stddev": "sd"}})"),
      nullptr);
  ASSERT_TRUE(metrics.ok()) << metrics.error();
  EXPECT_EQ(metrics->format.flush_type, newrelic::FlushType::kMetrics);
  EXPECT_EQ(metrics->format.timer_stddev, "sd");
  auto keyless = newrelic::NewrelicOptions::From(
      WithFile(R"({"newrelic": {"flush-type": "insights"}})"), nullptr);
  EXPECT_TRUE(Mentions(keyless.status(), "newrelic.api-key"));
  auto bogus =
      newrelic::NewrelicOptions::From(WithFile(R"({"newrelic": {"flush-type": "http"}})"), nullptr);
  EXPECT_TRUE(Mentions(bogus.status(), "newrelic.flush-type"));
}

TEST(CloudwatchOptionsTest, DefaultsAndUrlSplitting) {
  auto o = cloudwatch::CloudwatchOptions::From(WithFile("{}"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->namespace_name, "StatsD");
  std::string host, path;
  aws::SplitUrl("http://127.0.0.1:9000/a/b?x=1", host, path);
  EXPECT_EQ(host, "127.0.0.1:9000");
  EXPECT_EQ(path, "/a/b");
  aws::SplitUrl("https://monitoring.eu-west-1.amazonaws.com", host, path);
  EXPECT_EQ(host, "monitoring.eu-west-1.amazonaws.com");
  EXPECT_EQ(path, "/");
}

TEST(OtlpOptionsTest, ConversionDisabledAggregationsAndRequiredEndpoints) {
  auto bad = otlp::OtlpOptions::From(WithFile(R"({"otlp": {"conversion": "AsSummary"}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Mentions(bad.status(), "otlp.metrics_endpoint: is required"));
  EXPECT_TRUE(Mentions(bad.status(), "otlp.logs_endpoint: is required"));
  EXPECT_TRUE(Mentions(bad.status(), "otlp.conversion"));
  auto o = otlp::OtlpOptions::From(WithFile(R"({"otlp": {"metrics_endpoint": "http://m",
      "logs_endpoint": "http://l", "conversion": "AsHistogram", "resource_keys": ["service"],
      "disabled_timer_aggregations": {"upperpct": true, "sumsquares": true}}})"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_TRUE(o->format.as_histogram);
  EXPECT_EQ(o->format.resource_keys, std::vector<std::string>{"service"});
  EXPECT_TRUE(o->format.disabled.upper_pct);
  EXPECT_TRUE(o->format.disabled.sum_squares);
  EXPECT_FALSE(o->format.disabled.lower);
  EXPECT_EQ(o->max_retries, 3);
}

TEST(OtlpOptionsTest, AsHistogramAsksForRawTimerValues) {
  auto o = otlp::OtlpOptions::From(WithFile(R"({"otlp": {"metrics_endpoint": "http://m",
      "logs_endpoint": "http://l", "conversion": "AsHistogram"}})"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_TRUE(otlp::OtlpBackend(*o, nullptr).WantsRawValues());
  o->format.as_histogram = false;  // AsGauge needs only the computed aggregates
  EXPECT_FALSE(otlp::OtlpBackend(*o, nullptr).WantsRawValues());
}

}  // namespace
}  // namespace cstatsd::backends
