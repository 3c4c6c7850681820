// [http-transport] (docs/forwarder.md#http-transport): defaults, every key, errors naming the key,
// the spellings of docs/compatibility.md#decision-8, header canonicalisation and the
// custom-over-dynamic rule.
#include "forward/forwarder_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cstatsd::forward {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

config::Config MakeConfig(const char* json, config::Environment env = {}) {
  config::Config c;
  c.file = nlohmann::json::parse(json);
  c.env = std::move(env);
  return c;
}

Result<ForwarderOptions> LoadJson(const char* json, std::vector<std::string>* warnings = nullptr) {
  return ForwarderOptions::Load(MakeConfig(json), warnings);
}

TEST(ForwarderOptionsTest, Defaults) {
  auto o = LoadJson(R"({"http-transport": {"api-endpoint": "http://agg:8080/"}})");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->api_endpoint, "http://agg:8080");  // trailing slash removed
  EXPECT_EQ(o->transport, "default");
  EXPECT_EQ(o->compression, wire::Compression::kZlib);
  EXPECT_EQ(o->compression_level, 9);
  EXPECT_EQ(o->max_requests, 1000);
  EXPECT_EQ(o->concurrent_merge, 1);
  EXPECT_GE(o->consolidator_slots, 1);
  EXPECT_EQ(o->max_request_elapsed_time, 30s);
  EXPECT_EQ(o->flush_interval, 1s);
  EXPECT_TRUE(o->custom_headers.empty());
  EXPECT_TRUE(o->dynamic_headers.empty());
  EXPECT_FALSE(o->fast_fail_on_non_retryable_errors);
}

TEST(ForwarderOptionsTest, EveryKey) {
  std::vector<std::string> warnings;
  auto o = LoadJson(R"({"http-transport": {
      "api-endpoint": "https://agg", "transport": "fwd", "compress": true,
      "compression-type": "lz4", "compression-level": 3, "max-requests": 5,
      "concurrent-merge": 2, "max-request-elapsed-time": "10s", "consolidator-slots": 4,
      "flush-interval": "250ms", "custom-headers": {"x-team": "metrics", "user-agent": "me"},
      "dynamic-headers": ["region", "x_team", "service_name"],
      "fast-fail-on-non-retryable-errors": true, "bogus": 1}})",
                    &warnings);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->api_endpoint, "https://agg");
  EXPECT_EQ(o->transport, "fwd");
  EXPECT_EQ(o->compression, wire::Compression::kLz4);
  EXPECT_EQ(o->compression_level, 3);
  EXPECT_EQ(o->max_requests, 5);
  EXPECT_EQ(o->concurrent_merge, 2);
  EXPECT_EQ(o->max_request_elapsed_time, 10s);
  EXPECT_EQ(o->consolidator_slots, 4);
  EXPECT_EQ(o->flush_interval, 250ms);
  EXPECT_EQ(o->custom_headers.at("X-Team"), "metrics");
  EXPECT_EQ(o->custom_headers.at("User-Agent"), "me");
  // x_team becomes the header X-Team, which custom-headers sets: custom wins, dynamic dropped.
  EXPECT_THAT(o->dynamic_headers, ElementsAre("region", "service_name"));
  EXPECT_TRUE(o->fast_fail_on_non_retryable_errors);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("http-transport.bogus"));
}

TEST(ForwarderOptionsTest, CompressFalseMeansNone) {
  auto o = LoadJson(R"({"http-transport": {"api-endpoint": "http://a", "compress": false,
                        "compression-type": "lz4"}})");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->compression, wire::Compression::kNone);
  auto n = LoadJson(R"({"http-transport": {"api-endpoint": "http://a",
                        "compression-type": "none"}})");
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->compression, wire::Compression::kNone);
}

TEST(ForwarderOptionsTest, FailFastSpellingIsAccepted) {
  auto o = LoadJson(R"({"http-transport": {"api-endpoint": "http://a",
                        "fail-fast-on-non-retryable-errors": true}})");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_TRUE(o->fast_fail_on_non_retryable_errors);
}

TEST(ForwarderOptionsTest, MinusOneDisablesRetries) {
  for (const char* v : {"\"-1\"", "-1", "\"-1s\""}) {
    auto o = LoadJson((std::string(R"({"http-transport": {"api-endpoint": "http://a",
                        "max-request-elapsed-time": )") +
                       v + "}}")
                          .c_str());
    ASSERT_TRUE(o.ok()) << v << ": " << o.error();
    EXPECT_EQ(o->max_request_elapsed_time, -1ns) << v;
  }
}

TEST(ForwarderOptionsTest, EnvironmentOverlay) {
  auto o =
      ForwarderOptions::Load(MakeConfig("{}", {{"GSD_HTTP_TRANSPORT_API_ENDPOINT", "http://env:1"},
                                               {"GSD_HTTP_TRANSPORT_COMPRESSION_TYPE", "lz4"}}),
                             nullptr);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->api_endpoint, "http://env:1");
  EXPECT_EQ(o->compression, wire::Compression::kLz4);
}

TEST(ForwarderOptionsTest, ErrorsNameEveryBadKey) {
  auto o = LoadJson(R"({"http-transport": {
      "compression-type": "gzip", "compression-level": 10, "max-requests": 0,
      "concurrent-merge": -1, "max-request-elapsed-time": "0s", "consolidator-slots": 0,
      "flush-interval": "0s", "custom-headers": ["a"], "compress": "perhaps"}})");
  ASSERT_FALSE(o.ok());
  for (const char* key :
       {"http-transport.api-endpoint", "http-transport.compression-type",
        "http-transport.compression-level", "http-transport.max-requests",
        "http-transport.concurrent-merge", "http-transport.max-request-elapsed-time",
        "http-transport.consolidator-slots", "http-transport.flush-interval",
        "http-transport.custom-headers", "http-transport.compress"}) {
    EXPECT_THAT(o.error(), HasSubstr(key));
  }
  auto scheme = LoadJson(R"({"http-transport": {"api-endpoint": "agg:8080"}})");
  ASSERT_FALSE(scheme.ok());
  EXPECT_THAT(scheme.error(), HasSubstr("http://"));
}

// docs/forwarder.md#sharding: api-endpoints, with api-endpoint or alone, and the health keys.
TEST(ForwarderOptionsTest, SeveralAggregators) {
  auto o = LoadJson(R"({"http-transport": {"api-endpoint": "http://b:8080/",
      "api-endpoints": ["http://c:8080", "http://a:8080/", "http://b:8080"],
      "endpoint-failure-threshold": 5, "endpoint-probe-max-interval": "1m"}})");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_THAT(o->Endpoints(), ElementsAre("http://a:8080", "http://b:8080", "http://c:8080"));
  EXPECT_EQ(o->endpoint_failure_threshold, 5);
  EXPECT_EQ(o->endpoint_probe_max_interval, 60s);

  auto alone = LoadJson(R"({"http-transport": {"api-endpoints": ["http://a", "http://b"]}})");
  ASSERT_TRUE(alone.ok()) << alone.error();
  EXPECT_TRUE(alone->api_endpoint.empty());
  EXPECT_THAT(alone->Endpoints(), ElementsAre("http://a", "http://b"));
  EXPECT_EQ(alone->endpoint_failure_threshold, 3);
  EXPECT_EQ(alone->endpoint_probe_max_interval, 30s);

  auto bad = LoadJson(R"({"http-transport": {"api-endpoints": ["http://a", "b:80"],
      "endpoint-failure-threshold": 0, "endpoint-probe-max-interval": "10ms"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error(), HasSubstr("http-transport.api-endpoints: \"b:80\""));
  EXPECT_THAT(bad.error(), HasSubstr("http-transport.endpoint-failure-threshold"));
  EXPECT_THAT(bad.error(), HasSubstr("http-transport.endpoint-probe-max-interval"));
  EXPECT_THAT(bad.error(), ::testing::Not(HasSubstr("api-endpoint:")));
}

TEST(ForwarderOptionsTest, CanonicalHeaderKey) {
  EXPECT_EQ(CanonicalHeaderKey("x-team"), "X-Team");
  EXPECT_EQ(CanonicalHeaderKey("CONTENT-TYPE"), "Content-Type");
  EXPECT_EQ(CanonicalHeaderKey("x_api-key"), "X_api-Key");
  EXPECT_EQ(CanonicalHeaderKey("bad header"), "bad header");  // not a token: unchanged
  EXPECT_EQ(DynamicHeaderName("service_name"), "Service-Name");
}

}  // namespace
}  // namespace cstatsd::forward
