// The Flusher without threads of its own: the hand-over bookkeeping that decides when a retired
// series id may be freed, and flushes driven by an injected clock (docs/architecture.md, steps
// 4–5).
#include "server/flusher.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>

#include "config/config.h"
#include "unit/server/recording_backend.h"

namespace cstatsd::server {
namespace {

TEST(HandOverLedgerTest, SafeIsTheOldestRoundAWorkerHandedOverIn) {
  HandOverLedger l;
  l.Begin(3);
  l.HandedOver(0, 7);
  l.HandedOver(1, 5);
  l.HandedOver(2, 9);
  EXPECT_EQ(l.safe(), 5u);
}

TEST(HandOverLedgerTest, NoWorkerMeansEverythingIsSafe) {
  HandOverLedger l;
  l.Begin(0);
  EXPECT_EQ(l.safe(), UINT64_MAX);
}

TEST(HandOverLedgerTest, AMissedHandOverHoldsTheRoundForTwoMoreHandOvers) {
  HandOverLedger l;
  l.Begin(2);
  l.HandedOver(0, 4);
  l.HandedOver(1, 4);
  EXPECT_EQ(l.safe(), 4u);

  l.Begin(2);  // round 5: worker 1 does not answer in time
  l.HandedOver(0, 5);
  l.Missed(1);
  EXPECT_EQ(l.safe(), 4u);

  l.Begin(2);  // round 6: its late map arrives; it may still name ids of round 4
  l.HandedOver(0, 6);
  l.HandedOver(1, 6);
  EXPECT_EQ(l.safe(), 4u);

  l.Begin(2);  // round 7: the map filled since, which may also
  l.HandedOver(0, 7);
  l.HandedOver(1, 7);
  EXPECT_EQ(l.safe(), 4u);

  l.Begin(2);  // round 8: caught up
  l.HandedOver(0, 8);
  l.HandedOver(1, 8);
  EXPECT_EQ(l.safe(), 8u);
}

TEST(HandOverLedgerTest, AMissAfterAMissStartsTheWaitAgain) {
  HandOverLedger l;
  l.Begin(1);
  l.HandedOver(0, 2);
  l.Begin(1);
  l.Missed(0);
  l.Begin(1);
  l.HandedOver(0, 4);  // one late map in
  l.Begin(1);
  l.Missed(0);  // and another miss: two more hand-overs again
  EXPECT_EQ(l.safe(), 2u);
  l.Begin(1);
  l.HandedOver(0, 6);
  l.Begin(1);
  l.HandedOver(0, 7);
  EXPECT_EQ(l.safe(), 2u);
  l.Begin(1);
  l.HandedOver(0, 8);
  EXPECT_EQ(l.safe(), 8u);
}

using test::RecordingBackend;

// A flusher over one worker that never runs a thread (fed with ProcessDatagram), a recording
// backend and a clock the test sets.
class FlusherTest : public ::testing::Test {
 protected:
  FlusherTest() {
    options_.statser_type = "null";  // no internal metrics among the series
    options_.expiry_interval = std::chrono::seconds(10);
    pipeline_ = pipeline::PipelineOptions::From(options_);
    auto backend = std::make_unique<RecordingBackend>();
    backend_ = backend.get();
    parts_.runners.push_back(std::make_unique<BackendRunner>(std::move(backend), 10, 10));
    parts_.runners.back()->Start();
    flusher_ = std::make_unique<Flusher>(options_, &pipeline_, parts_, [this] { return now_; });
    parts_.workers.push_back(std::make_unique<ingest::Worker>(0, -1, ingest::WorkerOptions{},
                                                              &pipeline_, [](Event&&) {}));
    flusher_->Attach(*parts_.workers.back());
  }

  void Receive(std::string line) {
    parts_.workers.back()->ProcessDatagram(line.data(), line.size(), "", Nanos());
  }
  int64_t Nanos() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(now_.time_since_epoch()).count();
  }
  std::vector<snapshot::FlushSnapshot> Delivered() {
    EXPECT_TRUE(parts_.runners.back()->Stop(std::chrono::seconds(5)));
    return backend_->snapshots();
  }

  config::Options options_;
  pipeline::PipelineOptions pipeline_;
  Components parts_;
  RecordingBackend* backend_ = nullptr;
  std::unique_ptr<Flusher> flusher_;
  FlushClock::time_point now_ = FlushClock::time_point(std::chrono::seconds(1'700'000'000));
};

TEST_F(FlusherTest, FinalFlushCoversTheTimeSinceTheStartOnTheInjectedClock) {
  flusher_->Start();
  Receive("hits:6|c");
  now_ += std::chrono::seconds(3);
  flusher_->FinalFlush();
  const auto snaps = Delivered();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].flush_time_ns, Nanos());
  EXPECT_DOUBLE_EQ(snaps[0].flush_seconds, 3.0);
  ASSERT_EQ(snaps[0].counters.size(), 1u);
  EXPECT_EQ(snaps[0].counters[0].value, 6);
  EXPECT_DOUBLE_EQ(snaps[0].counters[0].per_second, 2.0);
}

TEST_F(FlusherTest, AnExpiredCounterIsRetiredAtItsFlushAndFreedAtTheNextHandOver) {
  flusher_->Start();
  Receive("hits:1|c");
  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();  // merged: the aggregator holds the series
  const auto& index = flusher_->aggregator().counter_index();
  ASSERT_EQ(index.size(), 1u);
  const uint32_t id = 0;
  ASSERT_TRUE(index.live(id));

  now_ += std::chrono::seconds(11);  // past expiry-interval: this flush's reset erases it
  flusher_->FinalFlush();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.live(id));
  EXPECT_TRUE(index.entry(id).key) << "retired, not freed: a worker may still name the id";

  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();  // the hand-overs of a later round (no worker thread left): freed
  EXPECT_FALSE(index.entry(id).key);
  Delivered();
}

}  // namespace
}  // namespace cstatsd::server
