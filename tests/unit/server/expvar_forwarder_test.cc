// /expvar in forwarder mode with several aggregators (docs/forwarder.md#health): the sharding
// settings and, per aggregator, its state and forwarder.* counts.
#include <gtest/gtest.h>

#include "server/expvar.h"

namespace cstatsd::server {
namespace {

TEST(ExpvarForwarderTest, ShowsEachAggregator) {
  forward::ForwarderOptions fo;
  fo.api_endpoints = {"http://127.0.0.1:1", "http://127.0.0.1:2"};
  fo.endpoint_failure_threshold = 4;
  auto f = forward::HttpForwarder::Create(fo, transport::TransportOptions{});
  ASSERT_TRUE(f.ok()) << f.error();
  Components parts;
  parts.forwarder = std::move(*f);
  parts.forwarder->SendMetrics(MetricMap{});  // reads the set once, as a flush does
  const nlohmann::json j = ExpvarVars(config::Options{}, parts, true);
  const auto& fwd = j.at("forwarder");
  EXPECT_EQ(fwd.at("settings").at("endpoint-failure-threshold"), 4);
  EXPECT_EQ(fwd.at("settings").at("api-endpoints").size(), 2u);
  ASSERT_EQ(fwd.at("endpoints").size(), 2u);
  EXPECT_EQ(fwd.at("endpoints")[0].at("url"), "http://127.0.0.1:1");
  EXPECT_EQ(fwd.at("endpoints")[0].at("state"), "up");
  EXPECT_EQ(fwd.at("endpoints")[1].at("forwarder.dropped_series"), 0);
}

}  // namespace
}  // namespace cstatsd::server
