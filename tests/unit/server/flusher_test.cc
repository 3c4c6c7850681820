// The Flusher without threads of its own: the hand-over bookkeeping that decides when a retired
// series id may be freed, and flushes driven by an injected clock (docs/architecture.md, steps
// 4–5).
#include "server/flusher.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "config/config.h"
#include "state/state_file.h"
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

// state-file (docs/state-file.md): the flusher writes what the stop would lose and reads it back.
class FlusherStateTest : public FlusherTest {
 protected:
  FlusherStateTest() {
    char dir[] = "/tmp/cstatsd_flusher_state_XXXXXX";
    dir_ = mkdtemp(dir);
    options_.state_file = dir_ + "/state";
    NewFlusher();
  }
  ~FlusherStateTest() override { std::filesystem::remove_all(dir_); }
  // The flusher reads options_ when it is made.
  void NewFlusher() {
    flusher_ = std::make_unique<Flusher>(options_, &pipeline_, parts_, [this] { return now_; });
    flusher_->Attach(*parts_.workers.back());
  }
  state::State ReadState() {
    state::StateFile::Taken t = state::StateFile(options_.state_file).Take();
    EXPECT_TRUE(t.state.has_value()) << t.error;
    return t.state ? std::move(*t.state) : state::State{};
  }
  static SeriesKeyRef GaugeKey(std::string_view name) {
    return SeriesKeyRef::Adopt(SeriesKey::Create(
        MetricType::kGauge, name, "", "", SeriesKey::Hash(MetricType::kGauge, name, "", "")));
  }
  std::string dir_;
};

TEST_F(FlusherStateTest, WritesTheGaugesAndTheFinalFlushForTheBackendsItMissed) {
  flusher_->Start();
  Receive("temp:21.5|g\nhits:6|c");
  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();
  Delivered();
  EXPECT_TRUE(flusher_->FinalFlushDelivered(*parts_.runners.back()));
  flusher_->WriteState({"recording"});  // as if the final flush had not reached it
  const state::State st = ReadState();
  ASSERT_EQ(st.gauges.size(), 1u);
  EXPECT_EQ(st.gauges[0].key->name(), "temp");
  EXPECT_EQ(st.gauges[0].value, 21.5);
  EXPECT_EQ(st.gauges[0].last_ns, Nanos() - 1'000'000'000);
  ASSERT_EQ(st.undelivered.size(), 1u);
  EXPECT_EQ(st.undelivered[0].backends, std::vector<std::string>{"recording"});
  EXPECT_EQ(st.undelivered[0].snapshot->flush_time_ns, Nanos());
  ASSERT_EQ(st.undelivered[0].snapshot->counters.size(), 1u);
  EXPECT_EQ(st.undelivered[0].snapshot->counters[0].value, 6);
}

TEST_F(FlusherStateTest, DeliveredEverywhereKeepsOnlyTheGauges) {
  flusher_->Start();
  Receive("temp:1|g\nhits:6|c");
  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();
  Delivered();
  flusher_->WriteState({});
  const state::State st = ReadState();
  EXPECT_EQ(st.gauges.size(), 1u);
  EXPECT_TRUE(st.undelivered.empty());
}

TEST_F(FlusherStateTest, TheFirstFlushRestoresGaugesAndSendsTheKeptFlushOnce) {
  state::State st;
  const int64_t t0 = Nanos();
  st.gauges.push_back({GaugeKey("kept"), 7, t0 - 2'000'000'000});
  st.gauges.push_back({GaugeKey("old"), 8, t0 - 60'000'000'000});  // past expiry-interval (10s)
  auto kept = std::make_shared<snapshot::FlushSnapshot>();
  kept->flush_time_ns = t0 - 3'000'000'000;
  kept->flush_seconds = 1;
  kept->counters.push_back({SeriesKeyRef::Adopt(SeriesKey::Create(
                                MetricType::kCounter, "hits", "", "",
                                SeriesKey::Hash(MetricType::kCounter, "hits", "", ""))),
                            5, 5});
  st.undelivered.push_back({{"recording", "not-configured"}, kept});
  ASSERT_TRUE(state::StateFile(options_.state_file).Write(state::Encode(st)).ok());

  flusher_->Start();
  Receive("kept:9|g");  // received by this process after the file was written: it wins
  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();
  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();
  EXPECT_FALSE(std::filesystem::exists(options_.state_file));
  const auto snaps = Delivered();
  ASSERT_EQ(snaps.size(), 3u);
  EXPECT_EQ(snaps[0].flush_time_ns, kept->flush_time_ns);  // the kept flush, first and once
  ASSERT_EQ(snaps[0].counters.size(), 1u);
  EXPECT_EQ(snaps[0].counters[0].value, 5);
  for (size_t i = 1; i < 3; ++i) {
    ASSERT_EQ(snaps[i].gauges.size(), 1u) << "the expired gauge is not restored";
    EXPECT_EQ(snaps[i].gauges[0].key->name(), "kept");
    EXPECT_EQ(snaps[i].gauges[0].value, 9);
    EXPECT_TRUE(snaps[i].counters.empty());
  }
}

TEST_F(FlusherStateTest, ARestoredGaugeKeepsItsValueUntilItExpires) {
  state::State st;
  st.gauges.push_back({GaugeKey("kept"), 7, Nanos() - 2'000'000'000});
  ASSERT_TRUE(state::StateFile(options_.state_file).Write(state::Encode(st)).ok());
  flusher_->Start();
  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();  // 3 s after its update
  now_ += std::chrono::seconds(6);
  flusher_->FinalFlush();  // 9 s
  now_ += std::chrono::seconds(2);
  flusher_->FinalFlush();  // 11 s: past expiry-interval, reported once more then removed
  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();
  const auto snaps = Delivered();
  ASSERT_EQ(snaps.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(snaps[i].gauges.size(), 1u) << i;
    EXPECT_EQ(snaps[i].gauges[0].value, 7);
  }
  EXPECT_TRUE(snaps[3].gauges.empty());
}

TEST_F(FlusherStateTest, ACorruptFileIsRenamedAsideAndTheFlushGoesOn) {
  ASSERT_TRUE(state::StateFile(options_.state_file).Write("CSDSTATE garbage").ok());
  flusher_->Start();
  Receive("hits:2|c");
  now_ += std::chrono::seconds(1);
  flusher_->FinalFlush();
  EXPECT_FALSE(std::filesystem::exists(options_.state_file));
  EXPECT_TRUE(std::filesystem::exists(options_.state_file + ".bad"));
  const auto snaps = Delivered();
  ASSERT_EQ(snaps.size(), 1u);
  ASSERT_EQ(snaps[0].counters.size(), 1u);
  EXPECT_EQ(snaps[0].counters[0].value, 2);
}

}  // namespace
}  // namespace cstatsd::server
