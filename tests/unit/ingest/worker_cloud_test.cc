// A worker with a cloud provider (docs/cloud-providers.md): lines from a source not looked up yet
// are parked, not counted twice, replayed once the answer is in, enriched (source = instance id,
// instance tags added, then filters and default tags as usual); unknown senders pass unchanged;
// events wait for the lookup too. The test plays the handler's lookup thread (LookupOnce) itself.
#include <gtest/gtest.h>

#include <string>

#include "cloud/handler.h"
#include "ingest/worker.h"
#include "unit/cloud/fake_provider.h"

namespace cstatsd::ingest {
namespace {

class WorkerCloudTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = std::make_unique<testing::FakeProvider>();
    provider_ = p.get();
    provider_->Set("10.0.0.1", "i-abc", {"env:prod", "region:us-east-1"});
    cloud::HandlerClock clock;  // fixed: nothing here depends on time
    clock.wall_ns = [] { return int64_t{1000}; };
    clock.steady = [] { return std::chrono::steady_clock::time_point(); };
    handler_ = std::make_unique<cloud::CloudHandler>(std::move(p), cloud::HandlerOptions{},
                                                     std::move(clock));
    handler_->SetEventSink([this](Event&& e) {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
    });
    ASSERT_TRUE(handler_->Start().ok());
    popts_.default_tags = {"dc:1"};
    worker_.SetCloud(handler_.get());
  }
  void TearDown() override { handler_->Stop(); }
  void Send(std::string datagram, std::string_view sender) {
    worker_.ProcessDatagram(datagram.data(), datagram.size(), sender, 1000);
  }
  // One round of the handler's lookup thread.
  void LookUp() {
    EXPECT_EQ(handler_->LookupOnce(std::chrono::steady_clock::time_point()),
              std::chrono::nanoseconds::zero());
  }
  // Looks the parked sources up, expects n lines ready and replays them as the worker loop does.
  void LookUpAndReplay(size_t n) {
    EXPECT_EQ(handler_->replay_ready(), 0u);
    LookUp();
    ASSERT_EQ(handler_->replay_ready(), n);
    std::vector<cloud::ParkedLine> lines;
    handler_->TakeReplay(lines, 1000);
    worker_.ReplayLines(lines, 2000);
  }
  // name|tags|source → value of every counter in the worker's map.
  std::map<std::string, int64_t> Counters() {
    std::map<std::string, int64_t> out;
    for (auto& e : worker_.active_map().counters.entries()) {
      out[std::string(e.key->name()) + "|" + std::string(e.key->tags()) + "|" +
          std::string(e.key->source())] = e.value.value;
    }
    return out;
  }

  testing::FakeProvider* provider_ = nullptr;
  std::unique_ptr<cloud::CloudHandler> handler_;
  pipeline::PipelineOptions popts_;
  std::mutex mu_;
  std::vector<Event> events_;
  Worker worker_{0, -1, WorkerOptions{}, &popts_, [this](Event&& e) {
                   std::lock_guard lock(mu_);
                   events_.push_back(std::move(e));
                 }};
};

TEST_F(WorkerCloudTest, LinesWaitForTheLookupAndAreEnriched) {
  Send("a:1|c|#team:x\na:2|c|#team:x\nbad line", "10.0.0.1");
  EXPECT_TRUE(Counters().empty());  // parked, not aggregated yet
  EXPECT_EQ(stats::Read(worker_.counters().metrics_received), 2u);
  LookUpAndReplay(2);
  EXPECT_EQ(Counters(),
            (std::map<std::string, int64_t>{{"a|dc:1,env:prod,region:us-east-1,team:x|i-abc", 3}}));
  EXPECT_EQ(stats::Read(worker_.counters().metrics_received), 2u);  // not counted twice
  EXPECT_EQ(stats::Read(worker_.counters().bad_lines_seen), 1u);

  // Known now: straight in, no parking, no second lookup.
  Send("a:4|c|#team:x", "10.0.0.1");
  EXPECT_EQ(Counters()["a|dc:1,env:prod,region:us-east-1,team:x|i-abc"], 7);
  EXPECT_EQ(provider_->batches().size(), 1u);
  EXPECT_EQ(handler_->replay_ready(), 0u);
}

TEST_F(WorkerCloudTest, AWorkerFedOnlyDatagramsSeesNewAnswers) {
  // The TCP input's worker has no receive loop of its own (and another worker replays): once
  // the handler knows a source, its next datagram is enriched at once, not parked again.
  Send("a:1|c", "10.0.0.1");
  LookUp();
  std::vector<cloud::ParkedLine> elsewhere;
  handler_->TakeReplay(elsewhere, 10);  // replayed by some other worker
  ASSERT_EQ(elsewhere.size(), 1u);
  Send("a:2|c", "10.0.0.1");
  EXPECT_EQ(handler_->replay_ready(), 0u);
  EXPECT_EQ(Counters(),
            (std::map<std::string, int64_t>{{"a|dc:1,env:prod,region:us-east-1|i-abc", 2}}));
}

TEST_F(WorkerCloudTest, UnknownSendersPassUnchanged) {
  Send("b:5|c", "10.0.0.2");
  LookUpAndReplay(1);
  EXPECT_EQ(Counters(), (std::map<std::string, int64_t>{{"b|dc:1|10.0.0.2", 5}}));
  Send("b:5|c", "10.0.0.2");  // negative entry: passes at once
  EXPECT_EQ(Counters()["b|dc:1|10.0.0.2"], 10);
}

TEST_F(WorkerCloudTest, EventsAreEnrichedOnceTheAnswerIsIn) {
  Send("_e{2,4}:up|text|#team:x", "10.0.0.1");
  {
    std::lock_guard lock(mu_);
    EXPECT_TRUE(events_.empty());  // waits for the lookup
  }
  LookUp();
  std::lock_guard lock(mu_);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].source, "i-abc");
  EXPECT_EQ(events_[0].tags,
            (std::vector<std::string>{"team:x", "dc:1", "env:prod", "region:us-east-1"}));
}

}  // namespace
}  // namespace cstatsd::ingest
