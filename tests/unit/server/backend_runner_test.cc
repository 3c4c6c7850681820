// docs/compatibility.md#decision-5: a slow backend gets a bounded queue; when it is full the oldest
// pending flush is dropped and counted; other backends and the caller never wait.
#include "server/backend_runner.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace cstatsd::server {
namespace {

// A backend that blocks in SendMetrics until released, and records what it delivered.
class GateBackend : public backends::Backend {
 public:
  std::string_view Name() const override { return "gate"; }
  Status SendMetrics(const snapshot::FlushSnapshot& s) override {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    delivered_.push_back(s.flush_time_ns);
    return fail_ ? Status::Error("refused") : Status();
  }
  Status SendEvent(const Event&) override { return {}; }
  // As a socket backend's dial backoff: a wait that shutdown ends.
  void Interrupt() override {
    if (open_on_interrupt_) Open();
  }

  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  std::vector<int64_t> delivered() {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  bool fail_ = false;
  bool open_on_interrupt_ = false;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool entered_ = false;
  std::vector<int64_t> delivered_;
};

snapshot::SnapshotPtr Snap(int64_t t) {
  auto s = std::make_shared<snapshot::FlushSnapshot>();
  s->flush_time_ns = t;
  return s;
}

TEST(BackendRunnerTest, FullQueueDropsTheOldestAndCountsIt) {
  auto owned = std::make_unique<GateBackend>();
  GateBackend* b = owned.get();
  BackendRunner r(std::move(owned), /*queue_size=*/3, /*event_queue_size=*/10);
  r.Start();
  r.EnqueueMetrics(Snap(1));
  b->WaitEntered();                                        // flush 1 is being sent and blocks
  for (int t = 2; t <= 7; ++t) r.EnqueueMetrics(Snap(t));  // never blocks the caller
  EXPECT_EQ(b->stats().dropped.load(), 3u);                // 2, 3, 4 dropped; 5, 6, 7 queued
  b->Open();
  EXPECT_TRUE(r.Stop(std::chrono::seconds(5)));
  EXPECT_EQ(b->delivered(), (std::vector<int64_t>{1, 5, 6, 7}));
  EXPECT_EQ(b->stats().sent.load(), 4u);
  EXPECT_EQ(b->stats().created.load(), 4u);
}

TEST(BackendRunnerTest, FailedSendIsCountedAsDropped) {
  auto owned = std::make_unique<GateBackend>();
  GateBackend* b = owned.get();
  b->fail_ = true;
  b->Open();
  BackendRunner r(std::move(owned), 10, 10);
  r.Start();
  r.EnqueueMetrics(Snap(1));
  r.EnqueueMetrics(Snap(2));
  EXPECT_TRUE(r.Stop(std::chrono::seconds(5)));
  EXPECT_EQ(b->stats().dropped.load(), 2u);
  EXPECT_EQ(b->stats().sent.load(), 0u);
}

TEST(BackendRunnerTest, StopInterruptsTheBackendsWait) {
  auto owned = std::make_unique<GateBackend>();
  GateBackend* b = owned.get();
  b->open_on_interrupt_ = true;
  BackendRunner r(std::move(owned), 10, 10);
  r.Start();
  r.EnqueueMetrics(Snap(1));
  b->WaitEntered();  // waiting, as for a dial backoff
  r.EnqueueMetrics(Snap(2));
  // Only Backend::Interrupt opens the gate: without it Stop would give up after the timeout.
  EXPECT_TRUE(r.Stop(std::chrono::seconds(60)));
  EXPECT_EQ(b->delivered(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(b->stats().sent.load(), 2u);
}

}  // namespace
}  // namespace cstatsd::server
