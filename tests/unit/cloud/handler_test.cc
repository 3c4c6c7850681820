#include "cloud/handler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "cloud/enricher.h"
#include "unit/cloud/fake_provider.h"

namespace cstatsd::cloud {
namespace {

using std::chrono::minutes;
using testing::FakeProvider;

ParkedLine Line(std::string source, std::string line) {
  return ParkedLine{source, source, std::move(line)};
}

// The tests drive the lookup thread's steps (LookupOnce, RefreshScan) on their own thread, at
// the times of a clock they advance; one test runs the real Run() thread.
class HandlerTest : public ::testing::Test {
 protected:
  static constexpr int64_t kStartNs = 1'700'000'000'000'000'000;

  void Start(HandlerOptions o = {}, size_t max_batch = 32) {
    auto p = std::make_unique<FakeProvider>(max_batch);
    provider_ = p.get();
    setup_(*provider_);
    HandlerClock clock;
    clock.wall_ns = [this] { return Now(); };
    clock.steady = [this] { return Steady(); };
    handler_ = std::make_unique<CloudHandler>(std::move(p), o, std::move(clock));
    handler_->SetEventSink([this](Event&& e) {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
    });
    ASSERT_TRUE(handler_->Start().ok());
  }
  void TearDown() override {
    if (handler_) handler_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  int64_t Now() const { return kStartNs + elapsed_.count(); }
  std::chrono::steady_clock::time_point Steady() const {
    return std::chrono::steady_clock::time_point(elapsed_);
  }
  void Advance(std::chrono::nanoseconds d) { elapsed_ += d; }
  // One round of the lookup thread at the current time; returns the wait for a token.
  std::chrono::nanoseconds LookupOnce() { return handler_->LookupOnce(Steady()); }
  void RefreshScan() { handler_->RefreshScan(Now()); }
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
  std::chrono::nanoseconds elapsed_{0};
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
  EXPECT_EQ(handler_->replay_ready(), 0u);
  EXPECT_EQ(handler_->stats().items_queued_metrics, 3u);
  EXPECT_EQ(LookupOnce(), std::chrono::nanoseconds::zero());
  EXPECT_EQ(handler_->replay_ready(), 3u);
  // One lookup, both sources in one batch.
  ASSERT_EQ(provider_->batches().size(), 1u);
  EXPECT_EQ(provider_->batches()[0], (std::vector<std::string>{"10.0.0.1", "10.0.0.9"}));
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
  // Nothing more wanted: another round asks nothing.
  EXPECT_EQ(LookupOnce(), std::chrono::nanoseconds::zero());
  EXPECT_EQ(provider_->batches().size(), 1u);
}

TEST_F(HandlerTest, RunLooksUpParkedSourcesAndWakesTheReplayNotifier) {
  // The real lookup thread, real time: the replay notifier signals the test.
  std::mutex mu;
  std::condition_variable cv;
  size_t notified = 0;
  auto p = std::make_unique<FakeProvider>();
  provider_ = p.get();
  provider_->Set("10.0.0.1", "i-1", {"role:web"});
  handler_ = std::make_unique<CloudHandler>(std::move(p), HandlerOptions{});
  handler_->SetEventSink([this](Event&& ev) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(ev));
  });
  handler_->SetReplayNotifier([&] {
    std::lock_guard lock(mu);
    ++notified;
    cv.notify_all();
  });
  ASSERT_TRUE(handler_->Start().ok());
  thread_ = std::thread([h = handler_.get()] { h->Run(); });
  Event ev;
  ev.title = "deploy";
  handler_->ParkEvent("10.0.0.1", std::move(ev));
  std::vector<ParkedLine> lines = {Line("10.0.0.1", "a:1|c"), Line("10.0.0.9", "c:3|c")};
  handler_->Park(lines);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                            [&] { return notified > 0 && handler_->replay_ready() == 2; }));
  }
  EXPECT_EQ(Replay().size(), 2u);
  ASSERT_EQ(Events().size(), 1u);  // dispatched before the notifier is called
  EXPECT_EQ(Events()[0].source, "i-1");
  EXPECT_EQ(handler_->stats().lookups, 2u);
  handler_->Stop();
  thread_.join();  // Run() returns after Stop()
}

TEST_F(HandlerTest, AKnownSourceIsNotLookedUpAgain) {
  Start();
  std::vector<ParkedLine> lines = {Line("10.0.0.1", "a:1|c")};
  handler_->Park(lines);
  LookupOnce();
  EXPECT_EQ(handler_->replay_ready(), 1u);
  Replay();
  // A worker with a stale view parks again: the handler replays at once, no second lookup.
  lines = {Line("10.0.0.1", "a:1|c")};
  handler_->Park(lines);
  EXPECT_EQ(handler_->replay_ready(), 1u);
  LookupOnce();
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
  o.max_requests = 0.001;  // one token: the first batch goes, the next waits (1000 s)
  o.burst_requests = 1;
  setup_ = [](FakeProvider&) {};
  Start(o, /*max_batch=*/1);
  std::vector<ParkedLine> lines;
  for (int i = 0; i < 5; ++i) lines.push_back(Line("10.0.0.2", "a:1|c"));  // 3 kept, 2 dropped
  for (int i = 0; i < 5; ++i) lines.push_back(Line("10.0.0.3", "a:1|c"));  // 2 kept, 3 dropped
  handler_->Park(lines);
  EXPECT_EQ(LookupOnce(), std::chrono::nanoseconds::zero());
  EXPECT_EQ(provider_->batches().size(), 1u);
  EXPECT_EQ(handler_->replay_ready(), 3u);
  const auto wait = LookupOnce();  // the rate limit holds the second lookup
  EXPECT_EQ(wait, std::chrono::seconds(1000));
  const HandlerStats s = handler_->stats();
  EXPECT_EQ(s.items_dropped_metrics, 5u);
  EXPECT_EQ(s.items_queued_metrics, 2u);  // 10.0.0.3's lines wait for a token
  EXPECT_EQ(s.hosts_queued_metrics, 1u);
  EXPECT_EQ(provider_->batches().size(), 1u);
  // Not yet; then the token is there (reserved once: no second wait).
  Advance(wait - std::chrono::seconds(1));
  EXPECT_EQ(LookupOnce(), std::chrono::seconds(1));
  EXPECT_EQ(provider_->batches().size(), 1u);
  Advance(std::chrono::seconds(1));
  EXPECT_EQ(LookupOnce(), std::chrono::nanoseconds::zero());
  ASSERT_EQ(provider_->batches().size(), 2u);
  EXPECT_EQ(provider_->batches()[1], std::vector<std::string>{"10.0.0.3"});
  EXPECT_EQ(handler_->replay_ready(), 5u);
  EXPECT_EQ(handler_->stats().items_queued_metrics, 0u);
}

TEST_F(HandlerTest, EventsWaitForTheLookupAndAreEnriched) {
  Start();
  Event ev;
  ev.title = "deploy";
  ev.source = "10.0.0.1";
  ev.tags = {"role:web"};
  handler_->ParkEvent("10.0.0.1", std::move(ev));
  EXPECT_TRUE(Events().empty());
  EXPECT_EQ(handler_->stats().items_queued_events, 1u);
  LookupOnce();
  ASSERT_EQ(Events().size(), 1u);
  const Event got = Events()[0];
  EXPECT_EQ(got.source, "i-1");
  EXPECT_EQ(got.tags, (std::vector<std::string>{"role:web", "region:us-east-1"}));
  EXPECT_EQ(handler_->stats().items_queued_events, 0u);
  // Now known: dispatched at once.
  Event again;
  again.title = "again";
  handler_->ParkEvent("10.0.0.1", std::move(again));
  EXPECT_EQ(Events().size(), 2u);
}

TEST_F(HandlerTest, ExpiredEntriesAreRefreshedAndAFailedRefreshKeepsTheInstance) {
  HandlerOptions o;  // cache-ttl 30 min, negative-ttl 1 min
  o.evict_after_idle = std::chrono::hours(24);
  o.max_requests = 0;  // unlimited
  Start(o);
  std::vector<ParkedLine> lines = {Line("10.0.0.1", "a:1|c")};
  handler_->Park(lines);
  LookupOnce();
  ASSERT_EQ(provider_->batches().size(), 1u);
  // Not expired yet: the scan wants nothing.
  Advance(minutes(29));
  RefreshScan();
  LookupOnce();
  EXPECT_EQ(provider_->batches().size(), 1u);
  // Expired: refreshed in the background, and the refresh fails.
  provider_->Fail(true);
  Advance(minutes(2));
  RefreshScan();
  LookupOnce();
  ASSERT_EQ(provider_->batches().size(), 2u);
  EXPECT_EQ(handler_->stats().refresh_negative, 1u);
  EXPECT_EQ(handler_->stats().refresh_positive, 0u);
  Enricher e(handler_.get());
  auto r = e.Resolve("10.0.0.1", Now(), true);
  ASSERT_EQ(r.action, Enricher::Action::kEnrich);
  EXPECT_EQ(r.instance->id, "i-1");
  // A failed refresh is tried again a negative-ttl later, not before.
  Advance(std::chrono::seconds(30));
  RefreshScan();
  LookupOnce();
  EXPECT_EQ(provider_->batches().size(), 2u);
  provider_->Fail(false);
  provider_->Set("10.0.0.1", "i-2", {});
  Advance(std::chrono::seconds(30));
  RefreshScan();
  LookupOnce();
  ASSERT_EQ(provider_->batches().size(), 3u);
  e.Refresh();
  auto now = e.Resolve("10.0.0.1", Now(), true);
  ASSERT_NE(now.instance, nullptr);
  EXPECT_EQ(now.instance->id, "i-2");
  EXPECT_EQ(handler_->stats().refresh_positive, 1u);
  EXPECT_EQ(handler_->stats().refresh_negative, 1u);
}

TEST_F(HandlerTest, ANegativeEntryIsLookedUpAgainAfterTheNegativeTtl) {
  HandlerOptions o;  // negative-ttl 1 min
  o.max_requests = 0;
  setup_ = [](FakeProvider&) {};
  Start(o);
  std::vector<ParkedLine> lines = {Line("10.0.0.8", "a:1|c")};
  handler_->Park(lines);
  LookupOnce();
  EXPECT_EQ(handler_->stats().cache_negative, 1u);
  Enricher e(handler_.get());
  EXPECT_EQ(e.Resolve("10.0.0.8", Now(), true).action, Enricher::Action::kPass);
  Advance(std::chrono::seconds(59));
  RefreshScan();
  LookupOnce();
  EXPECT_EQ(provider_->batches().size(), 1u);
  provider_->Set("10.0.0.8", "i-8", {});
  Advance(std::chrono::seconds(1));
  RefreshScan();
  LookupOnce();
  ASSERT_EQ(provider_->batches().size(), 2u);
  e.Refresh();
  auto r = e.Resolve("10.0.0.8", Now(), true);
  ASSERT_EQ(r.action, Enricher::Action::kEnrich);
  EXPECT_EQ(r.instance->id, "i-8");
  EXPECT_EQ(handler_->stats().cache_positive, 1u);
  EXPECT_EQ(handler_->stats().cache_negative, 0u);
}

TEST_F(HandlerTest, IdleEntriesAreEvicted) {
  HandlerOptions o;  // evict after 10 min idle
  Start(o);
  std::vector<ParkedLine> lines = {Line("10.0.0.1", "a:1|c")};
  handler_->Park(lines);
  LookupOnce();
  ASSERT_EQ(provider_->batches().size(), 1u);
  // Used 5 minutes in: kept 14 minutes in (idle for 9).
  Advance(minutes(5));
  {
    Enricher e(handler_.get());
    EXPECT_EQ(e.Resolve("10.0.0.1", Now(), true).action, Enricher::Action::kEnrich);
  }
  Advance(minutes(9));
  RefreshScan();
  EXPECT_EQ(handler_->stats().cache_positive, 1u);
  Advance(minutes(1) + std::chrono::nanoseconds(1));
  RefreshScan();
  EXPECT_EQ(handler_->stats().cache_positive, 0u);
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
  LookupOnce();  // the only token
  ASSERT_EQ(provider_->batches().size(), 1u);
  std::vector<ParkedLine> lines = {Line("10.0.0.5", "a:1|c"), Line("10.0.0.6", "b:1|c")};
  handler_->Park(lines);
  Event ev;
  ev.title = "t";
  handler_->ParkEvent("10.0.0.6", std::move(ev));
  EXPECT_GT(LookupOnce(), std::chrono::nanoseconds::zero());  // no token
  handler_->Stop();
  EXPECT_EQ(LookupOnce(), std::chrono::nanoseconds::zero());  // stopped: asks nothing
  EXPECT_EQ(provider_->batches().size(), 1u);
  EXPECT_TRUE(Events().empty());
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
      publish_(index, nullptr);
      return {};
    }
    void Change() {
      auto index = std::make_shared<Index>();
      (*index)["10.1.0.2"] = std::make_shared<const Instance>(Instance{"default/web-2", {}});
      publish_(index, nullptr);
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

// A provider that publishes pods by IP and by container (as k8s does).
class ContainerProvider : public Provider {
 public:
  std::string_view name() const override { return "index"; }
  bool answers_lookups() const override { return false; }
  Status Start() override {
    auto web = std::make_shared<const Instance>(Instance{"default/web-1", {"app:web"}});
    auto agent = std::make_shared<const Instance>(Instance{"infra/agent", {"app:agent"}});
    auto index = std::make_shared<Index>();
    (*index)["10.1.0.1"] = web;
    auto containers = std::make_shared<ContainerIndex>();
    (*containers)["abc123"] = web;
    (*containers)["def456"] = agent;
    (*containers)["in-777"] = agent;  // a cgroup inode ([k8s] cgroup-path)
    publish_(index, containers);
    return {};
  }
};

TEST(IndexHandlerTest, AContainerIdResolvesInEveryDogStatsDForm) {
  CloudHandler handler(std::make_unique<ContainerProvider>(), HandlerOptions{});
  ASSERT_TRUE(handler.Start().ok());
  Enricher e(&handler);
  auto id = [&](std::string_view field) {
    const Instance* i = e.ResolveContainer(field);
    return i == nullptr ? std::string("(none)") : i->id;
  };
  EXPECT_EQ(id("ci-abc123"), "default/web-1");
  EXPECT_EQ(id("abc123"), "default/web-1");  // DogStatsD 1.2: the bare id
  EXPECT_EQ(id("ci-def456"), "infra/agent");
  EXPECT_EQ(id("ci-def456,in-12345"), "infra/agent");
  EXPECT_EQ(id("in-12345,ci-def456"), "infra/agent");
  EXPECT_EQ(id("ci-unknown,ci-abc123"), "default/web-1");  // the first id known
  EXPECT_EQ(id("in-777"), "infra/agent");
  EXPECT_EQ(id("ci-unknown,in-777"), "infra/agent");
  EXPECT_EQ(id("in-777,ci-abc123"), "default/web-1");  // an id before an inode, whatever order
  // Not resolved: an unknown inode or id, a prefix left on, empty items.
  EXPECT_EQ(id("in-12345"), "(none)");
  EXPECT_EQ(id("777"), "(none)");
  EXPECT_EQ(id("in-abc123"), "(none)");
  EXPECT_EQ(id("ci-nothing"), "(none)");
  EXPECT_EQ(id("containerd://abc123"), "(none)");
  EXPECT_EQ(id("ci-"), "(none)");
  EXPECT_EQ(id(","), "(none)");
  EXPECT_EQ(id("ci-abc1234"), "(none)");
  EXPECT_EQ(id("ci-abc12"), "(none)");
}

TEST(IndexHandlerTest, WithoutAContainerIndexAContainerIdResolvesToNothing) {
  auto p = std::make_unique<testing::FakeProvider>();
  p->Set("abc123", "i-1", {});
  CloudHandler handler(std::move(p), HandlerOptions{});
  ASSERT_TRUE(handler.Start().ok());
  Enricher e(&handler);
  EXPECT_EQ(e.ResolveContainer("ci-abc123"), nullptr);
  EXPECT_EQ(e.ResolveContainer("abc123"), nullptr);
}

}  // namespace
}  // namespace cstatsd::cloud
