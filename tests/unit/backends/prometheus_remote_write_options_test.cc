// The `[prometheus-remote-write]` section (docs/prometheus.md#backend-prometheus-remote-write):
// defaults, the required url, the headers every request carries (the protocol's, one kind of
// authorization, custom ones that may not replace the backend's) and the retry policy: 5xx, 429
// and transport errors retried, every other status given up at once.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backends/prometheus_remote_write/prometheus_remote_write_backend.h"

namespace cstatsd::backends::prometheus_remote_write {
namespace {

config::Config WithFile(const char* json) {
  config::Config c;
  c.file = nlohmann::json::parse(json);
  return c;
}

bool Mentions(const Status& s, std::string_view what) {
  return s.message().find(what) != std::string::npos;
}

std::string HeaderOf(const PrometheusRemoteWriteOptions& o, std::string_view name) {
  std::string value;
  int n = 0;
  for (const auto& [k, v] : o.RequestHeaders()) {
    if (k == name) {
      value = v;
      ++n;
    }
  }
  EXPECT_LE(n, 1) << name << " sent twice";
  return value;
}

TEST(RemoteWriteOptionsTest, DefaultsAndTheProtocolHeaders) {
  auto o = PrometheusRemoteWriteOptions::From(
      WithFile(R"({"prometheus-remote-write": {"url": "http://p:9090/api/v1/write"}})"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->max_samples_per_send, 2000);
  EXPECT_EQ(o->max_request_elapsed_time, std::chrono::seconds(15));
  EXPECT_GT(o->max_requests, 0);
  EXPECT_EQ(o->transport, "default");
  EXPECT_EQ(o->source_label, "");  // the source is not sent unless asked for
  EXPECT_EQ(o->expiry_interval, std::chrono::minutes(5));  // the top-level expiry-interval's
  EXPECT_EQ(HeaderOf(*o, "Content-Encoding"), "snappy");
  EXPECT_EQ(HeaderOf(*o, "Content-Type"), "application/x-protobuf");
  EXPECT_EQ(HeaderOf(*o, "X-Prometheus-Remote-Write-Version"), "0.1.0");
  EXPECT_EQ(HeaderOf(*o, "User-Agent").rfind("cstatsd/", 0), 0u);
  EXPECT_EQ(HeaderOf(*o, "Authorization"), "");
}

TEST(RemoteWriteOptionsTest, ExpiryFromTheTopLevelUnlessSet) {
  auto c = WithFile(R"({"prometheus-remote-write": {"url": "http://p"}})");
  c.options.expiry_interval = std::chrono::seconds(30);
  auto inherited = PrometheusRemoteWriteOptions::From(c);
  ASSERT_TRUE(inherited.ok()) << inherited.error();
  EXPECT_EQ(inherited->expiry_interval, std::chrono::seconds(30));
  auto own = PrometheusRemoteWriteOptions::From(
      WithFile(R"({"prometheus-remote-write": {"url": "http://p", "expiry-interval": "0s"}})"));
  ASSERT_TRUE(own.ok()) << own.error();
  EXPECT_EQ(own->expiry_interval, std::chrono::seconds(0));  // never, as statsd_exporter
}

TEST(RemoteWriteOptionsTest, UrlIsRequiredAndMustBeHttp) {
  auto none = PrometheusRemoteWriteOptions::From(WithFile("{}"));
  EXPECT_TRUE(Mentions(none.status(), "prometheus-remote-write.url: is required"));
  auto bad = PrometheusRemoteWriteOptions::From(
      WithFile(R"({"prometheus-remote-write": {"url": "p:9090", "max-samples-per-send": 0,
                  "max-request-elapsed-time": "-2s"}})"));
  EXPECT_TRUE(Mentions(bad.status(), "must start with http:// or https://"));
  EXPECT_TRUE(Mentions(bad.status(), "prometheus-remote-write.max-samples-per-send"));
  EXPECT_TRUE(Mentions(bad.status(), "prometheus-remote-write.max-request-elapsed-time"));
}

TEST(RemoteWriteOptionsTest, BearerTokenOrBasicAuthNotBoth) {
  auto bearer = PrometheusRemoteWriteOptions::From(
      WithFile(R"({"prometheus-remote-write": {"url": "http://p", "bearer-token": "t0k"}})"));
  ASSERT_TRUE(bearer.ok()) << bearer.error();
  EXPECT_EQ(HeaderOf(*bearer, "Authorization"), "Bearer t0k");
  auto basic = PrometheusRemoteWriteOptions::From(
      WithFile(R"({"prometheus-remote-write": {"url": "http://p", "basic-auth-username": "user",
                  "basic-auth-password": "pass"}})"));
  ASSERT_TRUE(basic.ok()) << basic.error();
  EXPECT_EQ(HeaderOf(*basic, "Authorization"), "Basic dXNlcjpwYXNz");  // base64("user:pass")
  auto both = PrometheusRemoteWriteOptions::From(
      WithFile(R"({"prometheus-remote-write": {"url": "http://p", "bearer-token": "t",
                  "basic-auth-username": "u", "basic-auth-password": "p"}})"));
  ASSERT_FALSE(both.ok());
  EXPECT_TRUE(Mentions(both.status(), "prometheus-remote-write.bearer-token"));
  auto password_only = PrometheusRemoteWriteOptions::From(
      WithFile(R"({"prometheus-remote-write": {"url": "http://p", "basic-auth-password": "p"}})"));
  EXPECT_TRUE(Mentions(password_only.status(), "basic-auth-username: is required"));
}

TEST(RemoteWriteOptionsTest, CustomHeadersAddedButNeverReplaceTheBackends) {
  auto o =
      PrometheusRemoteWriteOptions::From(WithFile(R"({"prometheus-remote-write": {"url": "http://p",
                  "headers": {"X-Scope-OrgID": "team-a", "X-Extra": "1"}}})"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(HeaderOf(*o, "X-Scope-OrgID"), "team-a");
  EXPECT_EQ(HeaderOf(*o, "X-Extra"), "1");
  auto reserved =
      PrometheusRemoteWriteOptions::From(WithFile(R"({"prometheus-remote-write": {"url": "http://p",
                  "headers": {"authorization": "Bearer x", "Content-Encoding": "gzip"}}})"));
  ASSERT_FALSE(reserved.ok());
  EXPECT_TRUE(Mentions(reserved.status(), "\"authorization\" is set by the backend"));
  EXPECT_TRUE(Mentions(reserved.status(), "\"Content-Encoding\" is set by the backend"));
  auto not_a_table = PrometheusRemoteWriteOptions::From(
      WithFile(R"({"prometheus-remote-write": {"url": "http://p", "headers": "x"}})"));
  EXPECT_TRUE(Mentions(not_a_table.status(), "prometheus-remote-write.headers"));
}

TEST(RemoteWriteRetryTest, ServerErrorsAnd429RetriedOtherStatusesNever) {
  const auto policy = RemoteWriteRetry(std::chrono::seconds(30));
  auto decide = [&](long status) {
    transport::RetryState state(policy);
    return state.Decide(status).action;
  };
  EXPECT_EQ(decide(200), transport::RetryAction::kDone);
  EXPECT_EQ(decide(204), transport::RetryAction::kDone);
  for (long status : {0L, 429L, 500L, 501L, 502L, 503L, 504L, 599L}) {
    EXPECT_EQ(decide(status), transport::RetryAction::kRetry) << status;
  }
  for (long status : {400L, 401L, 403L, 404L, 408L, 413L, 301L}) {
    EXPECT_EQ(decide(status), transport::RetryAction::kGiveUp) << status;
  }
  // -1: one attempt, whatever the status.
  transport::RetryState once(RemoteWriteRetry(std::chrono::nanoseconds(-1)));
  EXPECT_EQ(once.Decide(500).action, transport::RetryAction::kGiveUp);
}

TEST(RemoteWriteRetryTest, RetryAfterLengthensTheWaitWithinTheBudget) {
  transport::RetryState state(RemoteWriteRetry(std::chrono::seconds(30)));
  auto d = state.Decide(429, std::chrono::seconds(7));
  EXPECT_EQ(d.action, transport::RetryAction::kRetry);
  EXPECT_EQ(d.wait, std::chrono::seconds(7));
  transport::RetryState past(RemoteWriteRetry(std::chrono::seconds(30)));
  EXPECT_EQ(past.Decide(503, std::chrono::seconds(60)).action, transport::RetryAction::kGiveUp);
}

}  // namespace
}  // namespace cstatsd::backends::prometheus_remote_write
