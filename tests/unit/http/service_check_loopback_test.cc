// Service checks over the forwarding protocol (docs/forwarder.md#service-checks): a cstatsd
// forwarder posts each to /v2/check of a cstatsd aggregator's HTTP server, which hands it to its
// service-check sink with default tags added; an aggregator without the path (gostatsd: 404) gets
// one attempt per check, counted as dropped, never retried.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "forward/http_forwarder.h"
#include "http/http_server.h"
#include "unit/support/fake_http_server.h"

namespace cstatsd::http {
namespace {

using namespace std::chrono_literals;

class ServiceCheckLoopbackTest : public ::testing::Test {
 protected:
  void StartAggregator() {
    pipeline::PipelineOptions popts;
    popts.default_tags = {"dc:eu"};
    ingest_ = std::make_shared<IngestTarget>(popts);
    ingest_->SetServiceCheckSink([this](ServiceCheck&& c) {
      std::lock_guard lock(mu_);
      received_.push_back(std::move(c));
      cv_.notify_all();
    });
    HttpServerOptions o;
    o.name = "t";
    o.host = "127.0.0.1";
    o.port = 0;
    o.enable_ingestion = true;
    HttpServerDeps deps;
    deps.ingest = ingest_;
    server_ = std::make_unique<HttpServer>(std::move(o), std::move(deps));
    ASSERT_TRUE(server_->Bind().ok());
    server_thread_ = std::thread([this] { server_->Run(); });
  }
  void StartForwarder(std::string endpoint) {
    forward::ForwarderOptions o;
    o.api_endpoint = std::move(endpoint);
    o.max_request_elapsed_time = 5s;
    auto f = forward::HttpForwarder::Create(o, transport::TransportOptions{});
    ASSERT_TRUE(f.ok()) << f.error();
    fwd_ = std::move(*f);
    fwd_thread_ = std::thread([this] { fwd_->Run(); });
  }
  void TearDown() override {
    if (fwd_) {
      fwd_->Stop(std::chrono::steady_clock::now() + 10s);
      fwd_thread_.join();
    }
    if (server_) server_->Stop();
    if (server_thread_.joinable()) server_thread_.join();
  }
  std::vector<ServiceCheck> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 20s, [&] { return received_.size() >= n; });
    return received_;
  }

  std::shared_ptr<IngestTarget> ingest_;
  std::unique_ptr<HttpServer> server_;
  std::thread server_thread_;
  std::unique_ptr<forward::HttpForwarder> fwd_;
  std::thread fwd_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ServiceCheck> received_;
};

TEST_F(ServiceCheckLoopbackTest, AForwardedCheckArrivesWhole) {
  StartAggregator();
  StartForwarder("http://127.0.0.1:" + std::to_string(server_->port()));
  ServiceCheck c;
  c.name = "db.up";
  c.status = ServiceCheckStatus::kWarning;
  c.timestamp = 1700000000;
  c.source = "db-1";
  c.message = "slow | 900 ms";
  c.tags = {"env:prod"};
  c.container_id = "ci-abc";
  fwd_->SendServiceCheck(c);
  c.name = "web.up";
  c.status = ServiceCheckStatus::kUnknown;
  fwd_->SendServiceCheck(c);
  const std::vector<ServiceCheck> got = WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  ServiceCheck want = c;
  want.tags = {"env:prod", "dc:eu"};  // the aggregator's default tags
  want.name = "db.up";
  want.status = ServiceCheckStatus::kWarning;
  // Two requests in flight may arrive in either order.
  const bool in_order = got[0].name == "db.up";
  EXPECT_EQ(got[in_order ? 0 : 1], want);
  want.name = "web.up";
  want.status = ServiceCheckStatus::kUnknown;
  EXPECT_EQ(got[in_order ? 1 : 0], want);
  // The server counts a check after handing it to the sink and before answering: only once the
  // forwarder has both answers is the count certain.
  ASSERT_TRUE(fwd_->Stop(std::chrono::steady_clock::now() + 10s));
  EXPECT_EQ(server_->counters().service_checks.load(), 2u);
  const forward::ForwarderStats s = fwd_->TakeStats();
  EXPECT_EQ(s.sent, 2u);
  EXPECT_EQ(s.dropped, 0u);
}

TEST_F(ServiceCheckLoopbackTest, AnAggregatorWithoutTheRouteAnswers404AndIsNotRetried) {
  cstatsd::testing::FakeHttpServer gostatsd;  // every path it does not know: 404
  gostatsd.Script(std::vector<int>(10, 404));
  StartForwarder(gostatsd.url());
  ServiceCheck c;
  c.name = "db.up";
  fwd_->SendServiceCheck(c);
  fwd_->SendServiceCheck(c);
  ASSERT_TRUE(fwd_->Stop(std::chrono::steady_clock::now() + 10s));
  const auto reqs = gostatsd.requests();
  ASSERT_EQ(reqs.size(), 2u);  // one attempt each
  EXPECT_EQ(reqs[0].path, "/v2/check");
  const forward::ForwarderStats s = fwd_->TakeStats();
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(s.sent, 0u);
}

TEST_F(ServiceCheckLoopbackTest, AMalformedCheckIsRefused) {
  StartAggregator();
  httplib::Client client("127.0.0.1", server_->port());
  auto res = client.Post("/v2/check", std::string("\x0a\x05\x61", 3), "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(server_->counters().failure_unmarshal.load(), 1u);
  res = client.Get("/v2/check");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(server_->counters().service_checks.load(), 0u);
}

}  // namespace
}  // namespace cstatsd::http
