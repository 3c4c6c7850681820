// [prometheus] options (docs/prometheus.md#backend-prometheus): defaults, the expiry that follows
// the top-level expiry-interval, and errors that name the key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backends/prometheus/prometheus_backend.h"

namespace cstatsd::backends::prometheus {
namespace {

config::Config WithFile(const char* json) {
  config::Config c;
  c.file = nlohmann::json::parse(json);
  return c;
}

TEST(PrometheusOptionsTest, Defaults) {
  auto o = PrometheusOptions::From(WithFile("{}"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->listen_address, ":9102");
  EXPECT_EQ(o->telemetry_path, "/metrics");
  EXPECT_EQ(o->expiry_interval, std::chrono::minutes(5));  // the top-level default
  EXPECT_EQ(o->observer_type, cstatsd::prometheus::ObserverType::kSummary);
  EXPECT_FALSE(o->openmetrics);
  EXPECT_TRUE(o->source_label.empty());
}

TEST(PrometheusOptionsTest, ExpiryFollowsTheTopLevelKeyUnlessSet) {
  config::Config c = WithFile("{}");
  c.options.expiry_interval = std::chrono::seconds(30);
  auto o = PrometheusOptions::From(c);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->expiry_interval, std::chrono::seconds(30));
  config::Config never = WithFile(R"({"prometheus": {"expiry-interval": "0s"}})");
  auto n = PrometheusOptions::From(never);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->expiry_interval.count(), 0);
}

TEST(PrometheusOptionsTest, BadValuesNameTheirKeys) {
  auto o = PrometheusOptions::From(WithFile(
      R"({"prometheus": {"listen-address": "nope", "telemetry-path": "metrics",
          "observer-type": "histo", "histogram-buckets": [1, 0.5],
          "summary-quantiles": [1.5], "source-label": "__x"}})"));
  ASSERT_FALSE(o.ok());
  for (const char* key : {"prometheus.listen-address", "prometheus.telemetry-path",
                          "prometheus.observer-type", "prometheus.histogram-buckets",
                          "prometheus.summary-quantiles", "prometheus.source-label"}) {
    EXPECT_NE(o.error().find(key), std::string::npos) << key << "\n" << o.error();
  }
}

}  // namespace
}  // namespace cstatsd::backends::prometheus
