// Service checks through a worker with a cloud provider (docs/protocol.md#service-checks): a check
// from a sender the provider knows gets the instance's tags and, without h:, its id as the source;
// one from a sender not looked up yet passes at once, unchanged (checks are never parked).
#include <gtest/gtest.h>

#include <string>

#include "cloud/handler.h"
#include "ingest/worker.h"
#include "unit/cloud/fake_provider.h"

namespace cstatsd::ingest {
namespace {

class WorkerServiceCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = std::make_unique<testing::FakeProvider>();
    p->Set("10.0.0.1", "i-abc", {"env:prod"});
    cloud::HandlerClock clock;  // fixed: nothing here depends on time
    clock.wall_ns = [] { return int64_t{1000}; };
    clock.steady = [] { return std::chrono::steady_clock::time_point(); };
    handler_ = std::make_unique<cloud::CloudHandler>(std::move(p), cloud::HandlerOptions{},
                                                     std::move(clock));
    ASSERT_TRUE(handler_->Start().ok());
    popts_.default_tags = {"dc:1"};
    worker_.SetCloud(handler_.get());
    worker_.SetServiceCheckSink([this](ServiceCheck&& c) { checks_.push_back(std::move(c)); });
  }
  void TearDown() override { handler_->Stop(); }
  void Send(std::string datagram, std::string_view sender) {
    worker_.ProcessDatagram(datagram.data(), datagram.size(), sender, 1000);
  }

  std::unique_ptr<cloud::CloudHandler> handler_;
  pipeline::PipelineOptions popts_;
  std::vector<ServiceCheck> checks_;
  Worker worker_{0, -1, WorkerOptions{}, &popts_, nullptr};
};

TEST_F(WorkerServiceCheckTest, AnUnknownSenderPassesAtOnceAKnownOneIsEnriched) {
  Send("a:1|c\n_sc|db.up|1|#team:x", "10.0.0.1");  // the metric line asks for the lookup
  ASSERT_EQ(checks_.size(), 1u);
  EXPECT_EQ(checks_[0].source, "10.0.0.1");
  EXPECT_EQ(checks_[0].tags, (std::vector<std::string>{"team:x", "dc:1"}));
  EXPECT_EQ(handler_->LookupOnce(std::chrono::steady_clock::time_point()),
            std::chrono::nanoseconds::zero());
  Send("_sc|db.up|1|#team:x\n_sc|web.up|0|h:web-1", "10.0.0.1");
  ASSERT_EQ(checks_.size(), 3u);
  EXPECT_EQ(checks_[1].source, "i-abc");
  EXPECT_EQ(checks_[1].tags, (std::vector<std::string>{"team:x", "dc:1", "env:prod"}));
  EXPECT_EQ(checks_[2].source, "web-1");  // h: wins over the instance id
  EXPECT_EQ(checks_[2].tags, (std::vector<std::string>{"dc:1", "env:prod"}));
  EXPECT_EQ(stats::Read(worker_.counters().service_checks_received), 3u);
}

}  // namespace
}  // namespace cstatsd::ingest
