// The prometheus-remote-write backend against the fake HTTP server
// (docs/prometheus.md#backend-prometheus-remote-write): snappy-compressed WriteRequests with the
// protocol's headers, counters cumulative across flushes, ms timers as histograms in seconds,
// requests cut at max-samples-per-send, and the retry policy on the wire: a 500 retried, a 429
// retried after its Retry-After (or given up when that ends past the budget), a 400 never
// retried and counted as dropped.
#include <gtest/gtest.h>
#include <snappy.h>

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "backends/prometheus_remote_write/prometheus_remote_write_backend.h"
#include "transport/http_client.h"
#include "unit/backends/prometheus_remote_write_samples.h"
#include "unit/support/fake_http_server.h"
#include "unit/support/series.h"

namespace cstatsd::backends::prometheus_remote_write {
namespace {

using test::Key;
using testing::FakeHttpServer;

constexpr int64_t kFlushNs = 1700000000LL * 1000000000 + 250000000;

// name{labels} → value, from every request's body.
std::map<std::string, double> Samples(const std::vector<testing::RecordedRequest>& requests,
                                      std::vector<int64_t>* timestamps = nullptr) {
  std::map<std::string, double> out;
  for (const auto& r : requests) {
    std::string raw;
    EXPECT_TRUE(snappy::Uncompress(r.body.data(), r.body.size(), &raw));
    AddSamples(raw, out, timestamps);
  }
  return out;
}

class RemoteWriteLoopbackTest : public ::testing::Test {
 protected:
  void Start(nlohmann::json keys = nlohmann::json::object()) {
    keys["url"] = server_.url() + "/api/v1/write";
    if (!keys.contains("max-request-elapsed-time")) keys["max-request-elapsed-time"] = "10s";
    config_.file = nlohmann::json{{"prometheus-remote-write", keys}};
    BackendContext ctx{config_, config_.options};
    auto b = PrometheusRemoteWriteBackend::Create(ctx);
    ASSERT_TRUE(b.ok()) << b.error();
    backend_ = std::move(*b);
    loop_ = std::thread([c = backend_->http_client()] { c->Run(); });
  }
  void TearDown() override {
    if (backend_) backend_->http_client()->Shutdown();
    if (loop_.joinable()) loop_.join();
  }

  static snapshot::FlushSnapshot Flush(int64_t counter, int flush = 0) {
    snapshot::FlushSnapshot s;
    s.flush_time_ns = kFlushNs + flush * 1000000000LL;
    s.flush_seconds = 1;
    s.counters.push_back({Key(MetricType::kCounter, "req.count", "env:prod"), counter, 0});
    s.gauges.push_back({Key(MetricType::kGauge, "temp", "", "10.0.0.1"), 21.5});
    return s;
  }

  FakeHttpServer server_;
  config::Config config_;
  std::unique_ptr<Backend> backend_;
  std::thread loop_;
};

TEST_F(RemoteWriteLoopbackTest, HeadersSnappyBodyAndCumulativeCounters) {
  Start({{"bearer-token", "t0k"},
         {"headers", {{"X-Scope-OrgID", "team-a"}}},
         {"source-label", "host"}});
  ASSERT_TRUE(backend_->SendMetrics(Flush(3, 0)).ok());
  Status second = backend_->SendMetrics(Flush(4, 1));
  ASSERT_TRUE(second.ok()) << second.message();
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto& r = requests[1];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/v1/write");
  EXPECT_EQ(r.Header("Content-Encoding"), "snappy");
  EXPECT_EQ(r.Header("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(r.Header("X-Prometheus-Remote-Write-Version"), "0.1.0");
  EXPECT_EQ(r.Header("User-Agent").rfind("cstatsd/", 0), 0u);
  EXPECT_EQ(r.Header("Authorization"), "Bearer t0k");
  EXPECT_EQ(r.Header("X-Scope-OrgID"), "team-a");
  std::vector<int64_t> timestamps;
  const auto first = Samples({requests[0]});
  EXPECT_EQ(first.at("req_count{env=prod}"), 3);
  const auto samples = Samples({r}, &timestamps);
  EXPECT_EQ(samples.at("req_count{env=prod}"), 7);  // the total since the series appeared
  EXPECT_EQ(samples.at("temp{host=10.0.0.1}"), 21.5);
  for (int64_t t : timestamps) EXPECT_EQ(t, kFlushNs / 1000000 + 1000);  // the flush, in ms
  EXPECT_EQ(backend_->stats().sent.load(), 2u);
  EXPECT_EQ(backend_->stats().series_sent.load(), 4u);
}

TEST_F(RemoteWriteLoopbackTest, TimersAsHistogramsInSecondsCutAtMaxSamplesPerSend) {
  Start({{"max-samples-per-send", 5}});
  auto s = Flush(1);
  s.has_raw_values = true;
  s.timer_values = {100, 300};  // ms
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "lat", "route:home");
  t.count = 2;
  t.sum = 400;
  t.values_begin = 0;
  t.values_end = 2;
  s.timers.push_back(t);
  Status st = backend_->SendMetrics(s);
  ASSERT_TRUE(st.ok()) << st.message();
  const auto requests = server_.requests();
  // 1 counter + 1 gauge + 11 default buckets + +Inf + _sum + _count = 16 samples.
  ASSERT_EQ(requests.size(), 4u);
  const auto samples = Samples(requests);
  EXPECT_EQ(samples.size(), 16u);
  EXPECT_EQ(samples.at("lat_bucket{le=0.05,route=home}"), 0);
  EXPECT_EQ(samples.at("lat_bucket{le=0.1,route=home}"), 1);
  EXPECT_EQ(samples.at("lat_bucket{le=0.25,route=home}"), 1);
  EXPECT_EQ(samples.at("lat_bucket{le=0.5,route=home}"), 2);
  EXPECT_EQ(samples.at("lat_bucket{le=+Inf,route=home}"), 2);
  EXPECT_DOUBLE_EQ(samples.at("lat_sum{route=home}"), 0.4);
  EXPECT_EQ(samples.at("lat_count{route=home}"), 2);
  EXPECT_EQ(backend_->stats().created.load(), 4u);
  EXPECT_EQ(backend_->stats().series_sent.load(), 16u);
}

TEST_F(RemoteWriteLoopbackTest, ASeriesNotReceivedForExpiryIntervalIsNoLongerSent) {
  Start({{"expiry-interval", "1500ms"}});
  ASSERT_TRUE(backend_->SendMetrics(Flush(3, 0)).ok());
  snapshot::FlushSnapshot later;  // neither series received for 2 s
  later.flush_time_ns = kFlushNs + 2000000000LL;
  later.gauges.push_back({Key(MetricType::kGauge, "other", ""), 1});
  ASSERT_TRUE(backend_->SendMetrics(later).ok());
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(Samples({requests[0]}).size(), 2u);
  const auto after = Samples({requests[1]});
  EXPECT_EQ(after.count("req_count{env=prod}"), 0u);
  EXPECT_EQ(after.count("temp{}"), 0u);
  EXPECT_EQ(after.at("other{}"), 1);
}

TEST_F(RemoteWriteLoopbackTest, ServerErrorIsRetried) {
  Start();
  server_.Script({500});
  Status s = backend_->SendMetrics(Flush(1));
  EXPECT_TRUE(s.ok()) << s.message();
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 500);
  EXPECT_EQ(requests[0].body, requests[1].body);  // the same batch again
  EXPECT_EQ(backend_->stats().retried.load(), 1u);
  EXPECT_EQ(backend_->stats().sent.load(), 1u);
  EXPECT_EQ(backend_->stats().dropped.load(), 0u);
}

TEST_F(RemoteWriteLoopbackTest, TooManyRequestsIsRetriedAfterItsRetryAfter) {
  Start();
  server_.Script({429});
  server_.SetRetryAfter("1");
  Status s = backend_->SendMetrics(Flush(1));
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(server_.requests().size(), 2u);
  EXPECT_EQ(backend_->stats().retried.load(), 1u);
  EXPECT_EQ(backend_->stats().sent.load(), 1u);
}

TEST_F(RemoteWriteLoopbackTest, RetryAfterPastTheBudgetGivesUpAtOnce) {
  Start({{"max-request-elapsed-time", "5s"}});
  server_.Script({429});
  server_.SetRetryAfter("120");
  Status s = backend_->SendMetrics(Flush(1));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(backend_->stats().dropped.load(), 1u);
  EXPECT_EQ(backend_->stats().retried.load(), 0u);
}

TEST_F(RemoteWriteLoopbackTest, BadRequestIsNeverRetriedAndCountedAsDropped) {
  Start();
  server_.Script({400});
  Status s = backend_->SendMetrics(Flush(1));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(backend_->stats().retried.load(), 0u);
  EXPECT_EQ(backend_->stats().dropped.load(), 1u);
  EXPECT_EQ(backend_->stats().sent.load(), 0u);
  // The next flush is sent (and still cumulative: the dropped one's counts are in it).
  ASSERT_TRUE(backend_->SendMetrics(Flush(2, 1)).ok());
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(Samples({requests[1]}).at("req_count{env=prod}"), 3);
}

}  // namespace
}  // namespace cstatsd::backends::prometheus_remote_write
