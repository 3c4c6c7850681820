#include "cloud/handler.h"

#include <gtest/gtest.h>

#include <thread>

#include "cloud/enricher.h"
#include "unit/cloud/fake_provider.h"

namespace cstatsd::cloud {
namespace {

using testing::FakeProvider;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Polls (bounded) until pred holds; returns whether it did.
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::seconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

ParkedLine Line(std::string source, std::string line) {
  return ParkedLine{source, source, std::move(line)};
}

class HandlerTest : public ::testing::Test {
 protected:
  void Start(HandlerOptions o = {}, size_t max_batch = 32) {
    auto p = std::make_unique<FakeProvider>(max_batch);
    provider_ = p.get();
    setup_(*provider_);
    handler_ = std::make_unique<CloudHandler>(std::move(p), o);
    handler_->SetEventSink([this](Event&& e) {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
    });
    ASSERT_TRUE(handler_->Start().ok());
    thread_ = std::thread([h = handler_.get()] { h->Run(); });
  }
  void TearDown() override {
    if (handler_) handler_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<ParkedLine> Replay() {
    std::vector<ParkedLine> out;
    handler_->TakeReplay(out, 1000000);
    return out;
  }
  std::vector<Event> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }

  std::function<void(FakeProvider&)> setup_ = [](FakeProvider& p) {
    p.Set("10.0.0.1", "i-1", {"role:web", "region:us-east-1"});
  };
  FakeProvider* provider_ = nullptr;
  std::unique_ptr<CloudHandler> handler_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Event> events_;
};

TEST_F(HandlerTest, ParkedLinesAreReplayedOnceTheSourceIsLookedUp) {
  Start();
  Enricher e(handler_.get());
  EXPECT_EQ(e.Resolve("10.0.0.1", Now(), true).action, Enricher::Action::kPark);
  std::vector<ParkedLine> lines = {Line("10.0.0.1", "a:1|c"), Line("10.0.0.1", "b:2|c"),
                                   Line("10.0.0.9", "c:3|c")};
  handler_->Park(lines);
  EXPECT_TRUE(lines.empty());
  ASSERT_TRUE(WaitUntil([&] { return handler_->replay_ready() == 3; }));
  // One lookup, both sources in one batch.
  ASSERT_EQ(provider_->batches().size(), 1u);
  EXPECT_EQ(provider_->batches()[0].size(), 2u);
  std::vector<ParkedLine> replay = Replay();
  ASSERT_EQ(replay.size(), 3u);
  EXPECT_EQ(replay[0].line, "a:1|c");  // in arrival order per source
  EXPECT_EQ(replay[1].line, "b:2|c");

  e.Refresh();
  auto known = e.Resolve("10.0.0.1", Now(), true);
  ASSERT_EQ(known.action, Enricher::Action::kEnrich);
  EXPECT_EQ(known.instance->id, "i-1");
  EXPECT_EQ(known.instance->tags, (std::vector<std::string>{"role:web", "region:us-east-1"}));
  // Unknown to the provider: a negative entry, the metric passes unchanged.
  EXPECT_EQ(e.Resolve("10.0.0.9", Now(), true).action, Enricher::Action::kPass);
  const HandlerStats s = handler_->stats();
  EXPECT_EQ(s.cache_positive, 1u);
  EXPECT_EQ(s.cache_negative, 1u);
  EXPECT_EQ(s.items_queued_metrics, 0u);
  EXPECT_EQ(s.lookups, 2u);
}

TEST_F(HandlerTest, AKnownSourceIsNotLookedUpAgain) {
  Start();
  std::vector<ParkedLine> lines = {Line("10.0.0.1", "a:1|c")};
  handler_->Park(lines);
  ASSERT_TRUE(WaitUntil([&] { return handler_->replay_ready() == 1; }));
  Replay();
  // A worker with a stale view parks again: the handler replays at once, no second lookup.
  lines = {Line("10.0.0.1", "a:1|c")};
  handler_->Park(lines);
  EXPECT_EQ(handler_->replay_ready(), 1u);
  Enricher e(handler_.get());
  for (int i = 0; i < 100; ++i) e.Resolve("10.0.0.1", Now(), true);
  EXPECT_EQ(provider_->batches().size(), 1u);
  EXPECT_EQ(e.hits.load(), 100u);
  EXPECT_EQ(e.misses.load(), 0u);
}

TEST_F(HandlerTest, AnEmptySourceIsAHitWithoutInstance) {
  Start();
  Enricher e(handler_.get());
  EXPECT_EQ(e.Resolve("", Now(), true).action, Enricher::Action::kPass);
  EXPECT_EQ(e.hits.load(), 1u);
}

TEST_F(HandlerTest, AReplayedLineWhoseSourceIsStillUnknownPasses) {
  Start();
  Enricher e(handler_.get());
  EXPECT_EQ(e.Resolve("10.0.0.7", Now(), false).action, Enricher::Action::kPass);
  EXPECT_EQ(e.Resolve("10.0.0.7", Now(), true).action, Enricher::Action::kPark);
}

TEST_F(HandlerTest, QueuesAreBoundedPerSourceAndInTotalAndOverflowIsCounted) {
  HandlerOptions o;
  o.max_parked_per_source = 3;
  o.max_parked = 5;
  o.max_requests = 0.001;  // one token: the first batch goes, the next waits (for ~17 min)
  o.burst_requests = 1;
  setup_ = [](FakeProvider&) {};
  Start(o, /*max_batch=*/1);
  std::vector<ParkedLine> lines;
  for (int i = 0; i < 5; ++i) lines.push_back(Line("10.0.0.2", "a:1|c"));  // 3 kept, 2 dropped
  for (int i = 0; i < 5; ++i) lines.push_back(Line("10.0.0.3", "a:1|c"));  // 2 kept, 3 dropped
  handler_->Park(lines);
  ASSERT_EQ(provider_->WaitForBatches(1), 1u);
  ASSERT_TRUE(WaitUntil([&] { return handler_->replay_ready() == 3; }));
  const HandlerStats s = handler_->stats();
  EXPECT_EQ(s.items_dropped_metrics, 5u);
  EXPECT_EQ(s.items_queued_metrics, 2u);  // 10.0.0.3's lines wait for a token
  EXPECT_EQ(s.hosts_queued_metrics, 1u);
  EXPECT_EQ(provider_->batches().size(), 1u);  // the rate limit holds the second lookup
}

TEST_F(HandlerTest, EventsWaitForTheLookupAndAreEnriched) {
  Start();
  Event ev;
  ev.title = "deploy";
  ev.source = "10.0.0.1";
  ev.tags = {"role:web"};
  handler_->ParkEvent("10.0.0.1", std::move(ev));
  ASSERT_TRUE(WaitUntil([&] { return Events().size() == 1; }));
  const Event got = Events()[0];
  EXPECT_EQ(got.source, "i-1");
  EXPECT_EQ(got.tags, (std::vector<std::string>{"role:web", "region:us-east-1"}));
  // Now known: dispatched at once.
  Event again;
  again.title = "again";
  handler_->ParkEvent("10.0.0.1", std::move(again));
  EXPECT_EQ(Events().size(), 2u);
}

TEST_F(HandlerTest, ExpiredEntriesAreRefreshedAndAFailedRefreshKeepsTheInstance) {
  HandlerOptions o;
  o.cache_ttl = std::chrono::milliseconds(1);
  o.cache_negative_ttl = std::chrono::milliseconds(1);  // a failed refresh is tried again soon
  o.refresh_period = std::chrono::milliseconds(20);
  o.max_requests = 0;  // unlimited
  Start(o);
  std::vector<ParkedLine> lines = {Line("10.0.0.1", "a:1|c")};
  handler_->Park(lines);
  ASSERT_EQ(provider_->WaitForBatches(1), 1u);
  provider_->Fail(true);
  ASSERT_GE(provider_->WaitForBatches(3), 3u);  // refreshed (and failing) in the background
  ASSERT_TRUE(WaitUntil([&] { return handler_->stats().refresh_negative >= 1; }));
  Enricher e(handler_.get());
  auto r = e.Resolve("10.0.0.1", Now(), true);
  ASSERT_EQ(r.action, Enricher::Action::kEnrich);
  EXPECT_EQ(r.instance->id, "i-1");
  provider_->Fail(false);
  provider_->Set("10.0.0.1", "i-2", {});
  ASSERT_TRUE(WaitUntil([&] {
    e.Refresh();
    auto now = e.Resolve("10.0.0.1", Now(), true);
    return now.instance != nullptr && now.instance->id == "i-2";
  }));
  EXPECT_GE(handler_->stats().refresh_positive, 1u);
}

TEST_F(HandlerTest, IdleEntriesAreEvicted) {
  HandlerOptions o;
  o.evict_after_idle = std::chrono::milliseconds(1);
  o.refresh_period = std::chrono::milliseconds(20);
  Start(o);
  std::vector<ParkedLine> lines = {Line("10.0.0.1", "a:1|c")};
  handler_->Park(lines);
  ASSERT_EQ(provider_->WaitForBatches(1), 1u);
  ASSERT_TRUE(WaitUntil([&] { return handler_->stats().cache_positive == 0; }));
  Enricher e(handler_.get());
  EXPECT_EQ(e.Resolve("10.0.0.1", Now(), true).action, Enricher::Action::kPark);
}

TEST_F(HandlerTest, ReleaseAllHandsBackWhatWaitsAndDispatchesParkedEvents) {
  HandlerOptions o;
  o.max_requests = 0.001;
  o.burst_requests = 1;
  setup_ = [](FakeProvider&) {};
  Start(o, 1);
  std::vector<ParkedLine> first = {Line("10.0.0.4", "x:1|c")};
  handler_->Park(first);
  ASSERT_EQ(provider_->WaitForBatches(1), 1u);  // the only token
  std::vector<ParkedLine> lines = {Line("10.0.0.5", "a:1|c"), Line("10.0.0.6", "b:1|c")};
  handler_->Park(lines);
  Event ev;
  ev.title = "t";
  handler_->ParkEvent("10.0.0.6", std::move(ev));
  handler_->Stop();
  thread_.join();
  std::vector<ParkedLine> rest = handler_->ReleaseAll();
  EXPECT_EQ(rest.size(), 3u);  // 10.0.0.4's (replayable) and the two waiting ones
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(handler_->stats().items_queued_metrics, 0u);
}

TEST(IndexHandlerTest, AnIndexProviderIsNeverAskedAndUnknownSourcesPass) {
  class IndexProvider : public Provider {
   public:
    std::string_view name() const override { return "index"; }
    bool answers_lookups() const override { return false; }
    Status Start() override {
      auto index = std::make_shared<Index>();
      (*index)["10.1.0.1"] =
          std::make_shared<const Instance>(Instance{"default/web-1", {"app:web"}});
      publish_(index);
      return {};
    }
    void Change() {
      auto index = std::make_shared<Index>();
      (*index)["10.1.0.2"] = std::make_shared<const Instance>(Instance{"default/web-2", {}});
      publish_(index);
    }
  };
  auto p = std::make_unique<IndexProvider>();
  IndexProvider* provider = p.get();
  CloudHandler handler(std::move(p), HandlerOptions{});
  ASSERT_TRUE(handler.Start().ok());
  EXPECT_FALSE(handler.answers_lookups());
  Enricher e(&handler);
  auto r = e.Resolve("10.1.0.1", 1, true);
  ASSERT_EQ(r.action, Enricher::Action::kEnrich);
  EXPECT_EQ(r.instance->id, "default/web-1");
  EXPECT_EQ(e.Resolve("10.9.9.9", 1, true).action, Enricher::Action::kPass);
  provider->Change();
  e.Refresh();
  EXPECT_EQ(e.Resolve("10.1.0.1", 1, true).action, Enricher::Action::kPass);
  EXPECT_EQ(e.Resolve("10.1.0.2", 1, true).instance->id, "default/web-2");
}

}  // namespace
}  // namespace cstatsd::cloud
