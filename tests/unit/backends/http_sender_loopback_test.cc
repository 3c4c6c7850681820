// HttpSender against a local HTTP server: a flush of more batches than the client's waiting
// queue holds (1000) arrives whole, never more than max_requests at a time, and a shutdown
// during a send counts what was not delivered as dropped.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "backends/common/http_sender.h"
#include "unit/support/fake_http_server.h"

namespace cstatsd::backends {
namespace {

using testing::FakeHttpServer;

config::Config EmptyConfig() {
  config::Config c;
  c.file = nlohmann::json::object();
  return c;
}

std::vector<HttpSender::Batch> Batches(const std::string& url, size_t n) {
  std::vector<HttpSender::Batch> batches;
  for (size_t i = 0; i < n; ++i) {
    HttpSender::Batch b;
    b.request.url = url + "/series";
    b.request.body = std::to_string(i);
    b.series = 2;
    batches.push_back(std::move(b));
  }
  return batches;
}

// Runs the client's loop on a thread for the life of the test, as the BackendRunner does.
class SenderTest : public ::testing::Test {
 protected:
  void Start(size_t max_requests) {
    auto s = HttpSender::Create(EmptyConfig(), "test", "default", max_requests);
    ASSERT_TRUE(s.ok()) << s.error();
    sender_ = std::move(*s);
    loop_ = std::thread([c = &sender_->client()] { c->Run(); });
  }
  void TearDown() override {
    if (sender_) sender_->client().Shutdown();
    if (loop_.joinable()) loop_.join();
  }

  FakeHttpServer server_;
  std::unique_ptr<HttpSender> sender_;
  std::thread loop_;
};

TEST_F(SenderTest, MoreBatchesThanTheQueueHoldsAllArrive) {
  Start(4);
  constexpr size_t kBatches = 2500;  // 2.5 × the client's queue bound of 1000
  transport::RetryOptions retry;
  retry.max_elapsed_time = std::chrono::seconds(10);
  BackendStats stats;
  Status s = sender_->SendAll(Batches(server_.url(), kBatches), retry, stats);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(stats.created.load(), kBatches);
  EXPECT_EQ(stats.sent.load(), kBatches);
  EXPECT_EQ(stats.series_sent.load(), 2 * kBatches);
  EXPECT_EQ(stats.dropped.load(), 0u);
  const auto got = server_.requests();
  ASSERT_EQ(got.size(), kBatches);
  std::set<std::string> bodies;
  for (const auto& r : got) bodies.insert(r.body);
  EXPECT_EQ(bodies.size(), kBatches);  // each batch exactly once
  EXPECT_EQ(*bodies.begin(), "0");
}

TEST_F(SenderTest, RetriedBatchesHoldTheirSlotAndStillAllArrive) {
  Start(2);
  server_.Script({500, 503, 500});
  transport::RetryOptions retry;
  retry.max_elapsed_time = std::chrono::seconds(10);
  retry.backoff.initial_interval = std::chrono::milliseconds(1);
  BackendStats stats;
  Status s = sender_->SendAll(Batches(server_.url(), 1200), retry, stats);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(stats.sent.load(), 1200u);
  EXPECT_EQ(stats.retried.load(), 3u);
  EXPECT_EQ(stats.dropped.load(), 0u);
  EXPECT_EQ(server_.requests().size(), 1203u);
}

TEST_F(SenderTest, ShutdownDuringASendCountsTheRestAsDropped) {
  Start(1);
  server_.Script({500});  // the first batch waits out a long backoff
  transport::RetryOptions retry;
  retry.max_elapsed_time = std::chrono::seconds(60);
  retry.backoff.initial_interval = std::chrono::seconds(30);
  BackendStats stats;
  Status result;
  std::thread sending([&] { result = sender_->SendAll(Batches(server_.url(), 5), retry, stats); });
  server_.WaitFor(1);
  // The sender is blocked: the only slot is taken by the batch waiting to retry.
  sender_->client().Shutdown();
  sending.join();
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.message().find("5 of 5 batches dropped"), std::string::npos) << result.message();
  EXPECT_EQ(stats.created.load(), 5u);
  EXPECT_EQ(stats.dropped.load(), 5u);
  EXPECT_EQ(stats.sent.load(), 0u);
  EXPECT_EQ(server_.requests().size(), 1u);
}

}  // namespace
}  // namespace cstatsd::backends
