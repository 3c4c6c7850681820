// Timestamped samples through the flusher (docs/aggregation.md#timestamped-samples): merged from
// the workers' maps per (series, timestamp), into the snapshot of a backend that takes a
// timestamp, folded into the interval for one that does not, under the series limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/flusher.h"
#include "unit/server/recording_backend.h"

namespace cstatsd::server {
namespace {

using test::RecordingBackend;

constexpr int64_t kNowS = 1'700'000'000;
constexpr int64_t kNow = kNowS * 1'000'000'000;

class TimedFlushTest : public ::testing::Test {
 protected:
  void Start(uint64_t max_series_per_metric, const char* statser = "null") {
    options_.statser_type = statser;
    options_.max_series_per_metric = max_series_per_metric;
    pipeline_ = pipeline::PipelineOptions::From(options_);
    for (bool takes : {true, false}) {
      auto b = std::make_unique<RecordingBackend>(takes);
      (takes ? timed_ : plain_) = b.get();
      parts_.runners.push_back(std::make_unique<BackendRunner>(std::move(b), 10, 10));
      parts_.runners.back()->Start();
    }
    flusher_ = std::make_unique<Flusher>(options_, &pipeline_, parts_, [this] { return now_; });
    for (int i = 0; i < 2; ++i) {
      parts_.workers.push_back(std::make_unique<ingest::Worker>(i, -1, ingest::WorkerOptions{},
                                                                &pipeline_, [](Event&&) {}));
      flusher_->Attach(*parts_.workers.back());
    }
    flusher_->Start();
  }

  // A line through worker `w`'s pipeline into its map (what the worker does with a parsed line).
  void Receive(int w, MetricType type, std::string_view name, double v, int64_t ts) {
    ParsedMetric m;
    m.type = type;
    m.name = name;
    m.values = {v};
    m.timestamp = ts;
    pipeline::Pipeline p(&pipeline_);
    p.Receive(m, "", kNow, parts_.workers[static_cast<size_t>(w)]->active_map());
  }
  void Flush() {
    now_ += std::chrono::seconds(10);
    flusher_->FinalFlush();
  }
  void Stop() {
    for (auto& r : parts_.runners) EXPECT_TRUE(r->Stop(std::chrono::seconds(5)));
  }

  config::Options options_;
  pipeline::PipelineOptions pipeline_;
  Components parts_;
  RecordingBackend* timed_ = nullptr;
  RecordingBackend* plain_ = nullptr;
  std::unique_ptr<Flusher> flusher_;
  FlushClock::time_point now_ = FlushClock::time_point(std::chrono::seconds(kNowS));
};

TEST_F(TimedFlushTest, PointsOfEveryWorkerMergePerSeriesAndTimestamp) {
  Start(0);
  Receive(0, MetricType::kCounter, "c", 1, kNowS - 60);
  Receive(1, MetricType::kCounter, "c", 2, kNowS - 60);
  Receive(1, MetricType::kCounter, "c", 5, kNowS - 30);
  Receive(0, MetricType::kCounter, "c", 10, 0);  // the interval's own
  Receive(1, MetricType::kGauge, "g", 4, kNowS - 60);
  Flush();
  Stop();
  const auto t = timed_->snapshots();
  ASSERT_EQ(t.size(), 1u);
  ASSERT_EQ(t[0].counters.size(), 1u);
  EXPECT_EQ(t[0].counters[0].value, 10);
  ASSERT_EQ(t[0].timed_counters.size(), 2u);
  EXPECT_EQ(t[0].timed_counters[0].timestamp, kNowS - 60);  // sorted by time
  EXPECT_EQ(t[0].timed_counters[0].value, 3);
  EXPECT_DOUBLE_EQ(t[0].timed_counters[0].per_second, 0.3);
  EXPECT_EQ(t[0].timed_counters[1].timestamp, kNowS - 30);
  EXPECT_EQ(t[0].timed_counters[1].value, 5);
  ASSERT_EQ(t[0].timed_gauges.size(), 1u);
  EXPECT_EQ(t[0].timed_gauges[0].value, 4);
  EXPECT_EQ(t[0].gauges.size(), 0u);

  const auto p = plain_->snapshots();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_FALSE(p[0].has_timed());
  ASSERT_EQ(p[0].counters.size(), 1u);
  EXPECT_EQ(p[0].counters[0].value, 18);  // nothing lost: 10 + 3 + 5
  ASSERT_EQ(p[0].gauges.size(), 1u);
  EXPECT_EQ(p[0].gauges[0].value, 4);
}

TEST_F(TimedFlushTest, TheNextFlushStartsEmpty) {
  Start(0);
  Receive(0, MetricType::kCounter, "c", 1, kNowS - 60);
  Flush();
  Flush();
  Stop();
  const auto t = timed_->snapshots();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].timed_counters.size(), 1u);
  EXPECT_FALSE(t[1].has_timed());
  // Timestamped points never create a series of the interval: nothing to report or expire.
  EXPECT_EQ(t[1].counters.size(), 0u);
}

TEST_F(TimedFlushTest, ANameAtItsSeriesLimitSendsNewSeriesToItsOverflowSeries) {
  Start(1);
  ParsedMetric m;
  m.type = MetricType::kCounter;
  m.name = "c";
  m.values = {1};
  m.tags = {"k:1"};
  pipeline::Pipeline p(&pipeline_);
  p.Receive(m, "", kNow, parts_.workers[0]->active_map());  // the name's one series
  Flush();                                                  // published: c is full
  m.timestamp = kNowS;
  p.Receive(m, "", kNow, parts_.workers[0]->active_map());  // a series it holds: kept
  m.tags = {"k:2"};
  p.Receive(m, "", kNow, parts_.workers[0]->active_map());  // a new one: overflow
  Flush();
  Stop();
  const auto t = timed_->snapshots();
  ASSERT_EQ(t.size(), 2u);
  ASSERT_EQ(t[1].timed_counters.size(), 2u);
  std::vector<std::string> tags;
  for (const auto& c : t[1].timed_counters) tags.emplace_back(c.key->tags());
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(tags, (std::vector<std::string>{std::string(kOverflowTag), "k:1"}));
}

TEST_F(TimedFlushTest, DropsAreReportedAsAnInternalMetric) {
  Start(0, "internal");
  Receive(0, MetricType::kCounter, "c", 1, kNowS - 7200);  // outside the window
  Receive(0, MetricType::kCounter, "c", 1, kNowS - 7300);
  Flush();
  Flush();  // internal metrics collected at a flush report what the previous flushes counted
  Stop();
  const auto t = timed_->snapshots();
  ASSERT_EQ(t.size(), 2u);
  double window = -1, limit = -1;
  for (const auto& g : t[1].gauges) {
    if (g.key->name() != "statsd.aggregator.timestamped_dropped") continue;
    if (g.key->tags().find("reason:window") != std::string_view::npos) window = g.value;
    if (g.key->tags().find("reason:limit") != std::string_view::npos) limit = g.value;
  }
  EXPECT_EQ(window, 2);
  EXPECT_EQ(limit, -1);  // sparse: never reported while 0
}

}  // namespace
}  // namespace cstatsd::server
