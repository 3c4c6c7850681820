// The aggregation math of docs/aggregation.md: receive rules, merge, flush computations and their
// worked examples, reset and expiry.
#include "aggregate/aggregator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>

#include "pipeline/pipeline.h"

namespace cstatsd::aggregate {
namespace {

constexpr int64_t kSecond = 1000000000;

// Feeds metrics through a pipeline into a worker-style map, merges into an aggregator.
class AggregatorTest : public ::testing::Test {
 protected:
  void Add(MetricType type, std::string_view name, std::vector<double> values, double rate = 1,
           std::vector<std::string_view> tags = {}, std::string_view set_value = {},
           int64_t now = 100 * kSecond, std::string_view sender = "") {
    ParsedMetric m;
    m.type = type;
    m.name = name;
    m.values = std::move(values);
    m.rate = rate;
    m.tags = std::move(tags);
    m.set_value = set_value;
    if (attached_ && map_.ids == nullptr) Attach(map_, ids_);
    pipeline_.Receive(m, sender, now, map_);
  }

  // The same through a second worker's pipeline, into `map`.
  void AddTo(MetricMap& map, MetricType type, std::string_view name, std::vector<double> values,
             int64_t now, std::string_view set_value = {}) {
    ParsedMetric m;
    m.type = type;
    m.name = name;
    m.values = std::move(values);
    m.set_value = set_value;
    other_pipeline_.Receive(m, "", now, map);
  }

  // As a server's worker map: series the aggregator holds are received by id.
  void Attach(MetricMap& map, IdValues& ids) {
    ids.counters.index = &agg().counter_index();
    ids.gauges.index = &agg().gauge_index();
    map.ids = &ids;
  }

  Aggregator& agg() {
    if (!agg_) agg_ = std::make_unique<Aggregator>(options_);
    return *agg_;
  }

  SnapshotPtr FlushAt(int64_t now, double seconds = 10) {
    map_.TakeReceivedIds();  // the worker's part of a hand-over
    agg().Merge(map_);
    auto s = agg().Flush(now, seconds);
    agg().Reset(now);
    return s;
  }

  static std::map<std::string, double> Percentiles(const FlushSnapshot& s, const TimerPoint& t) {
    std::map<std::string, double> out;
    for (const auto& p : s.PercentilesOf(t)) out[std::string(p.name)] = p.value;
    return out;
  }

  pipeline::PipelineOptions pipeline_options_;
  pipeline::Pipeline pipeline_{&pipeline_options_};
  pipeline::Pipeline other_pipeline_{&pipeline_options_};
  MetricMap map_;
  IdValues ids_;
  bool attached_ = false;
  AggregatorOptions options_;
  std::unique_ptr<Aggregator> agg_;
};

// Each of these runs twice: with a map on its own (HTTP ingestion, tests) and with a worker map
// attached to the aggregator's indexes, where counters and gauges go by series id once the
// aggregator holds them.
class AggregatorMapsTest : public AggregatorTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override { attached_ = GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Maps, AggregatorMapsTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Attached" : "Alone";
                         });

TEST_P(AggregatorMapsTest, CounterTruncatesEachLineBySampleRate) {
  // docs/aggregation.md#receive: 2|c|@0.25 and 5|c|@0.25 → 8 + 20 = 28.
  Add(MetricType::kCounter, "c", {2}, 0.25);
  Add(MetricType::kCounter, "c", {5}, 0.25);
  // x:1|c|@0.3 → 3 (1/0.3 truncated)
  Add(MetricType::kCounter, "x", {1}, 0.3);
  auto s = FlushAt(100 * kSecond, 10);
  ASSERT_EQ(s->counters.size(), 2u);
  EXPECT_EQ(s->counters[0].value, 28);
  EXPECT_DOUBLE_EQ(s->counters[0].per_second, 2.8);
  EXPECT_EQ(s->counters[1].value, 3);
}

TEST_P(AggregatorMapsTest, PackedValues) {
  Add(MetricType::kCounter, "f", {2, 2});   // f:2:2|c → 4
  Add(MetricType::kTimer, "t", {2, 2});     // f:2:2|ms → [2,2], SampledCount 1
  Add(MetricType::kGauge, "g", {3, 3, 1});  // f:3:3:1|g → 1
  Add(MetricType::kGauge, "h", {3});        // f:3:|g → 3
  auto s = FlushAt(100 * kSecond, 1);
  EXPECT_EQ(s->counters[0].value, 4);
  ASSERT_EQ(s->timers.size(), 1u);
  EXPECT_EQ(s->timers[0].count, 1);
  EXPECT_DOUBLE_EQ(s->timers[0].sum, 4);
  ASSERT_EQ(s->gauges.size(), 2u);
  EXPECT_EQ(s->gauges[0].value, 1);
  EXPECT_EQ(s->gauges[1].value, 3);
}

TEST_P(AggregatorMapsTest, TimerWorkedExample) {
  // docs/aggregation.md#flush: values {2,4,12}, p=90, 10 s, rate 1.
  Add(MetricType::kTimer, "t", {2});
  Add(MetricType::kTimer, "t", {12});
  Add(MetricType::kTimer, "t", {4});
  auto s = FlushAt(100 * kSecond, 10);
  ASSERT_EQ(s->timers.size(), 1u);
  const TimerPoint& t = s->timers[0];
  EXPECT_EQ(t.count, 3);
  EXPECT_EQ(t.min, 2);
  EXPECT_EQ(t.max, 12);
  EXPECT_EQ(t.mean, 6);
  EXPECT_EQ(t.median, 4);
  EXPECT_EQ(t.sum, 18);
  EXPECT_EQ(t.sum_squares, 164);
  EXPECT_DOUBLE_EQ(t.stddev, 4.320493798938574);
  EXPECT_DOUBLE_EQ(t.count_per_second, 0.3);
  auto p = Percentiles(*s, t);
  EXPECT_EQ(p.size(), 5u);
  EXPECT_EQ(p["count_90"], 3);
  EXPECT_EQ(p["mean_90"], 6);
  EXPECT_EQ(p["sum_90"], 18);
  EXPECT_EQ(p["sum_squares_90"], 164);
  EXPECT_EQ(p["upper_90"], 12);
}

TEST_P(AggregatorMapsTest, TimerSampledCount) {
  // Same values with rate 0.1 → SampledCount 30 → Count 30, PerSecond 3.
  Add(MetricType::kTimer, "t", {2}, 0.1);
  Add(MetricType::kTimer, "t", {12}, 0.1);
  Add(MetricType::kTimer, "t", {4}, 0.1);
  auto s = FlushAt(100 * kSecond, 10);
  EXPECT_EQ(s->timers[0].count, 30);
  EXPECT_DOUBLE_EQ(s->timers[0].count_per_second, 3);
  EXPECT_EQ(s->timers[0].mean, 6);  // sample rate does not touch the values
}

TEST_P(AggregatorMapsTest, TimerMedianEvenAndSingleValue) {
  Add(MetricType::kTimer, "even", {1, 2, 3, 10});
  Add(MetricType::kTimer, "one", {7});
  auto s = FlushAt(100 * kSecond, 1);
  EXPECT_EQ(s->timers[0].median, 2.5);
  const TimerPoint& one = s->timers[1];
  EXPECT_EQ(one.median, 7);
  EXPECT_EQ(one.stddev, 0);
  auto p = Percentiles(*s, one);
  // n == 1: k = 1 and the percentile values are those of the single value.
  EXPECT_EQ(p["count_90"], 1);
  EXPECT_EQ(p["upper_90"], 7);
  EXPECT_EQ(p["sum_90"], 7);
  EXPECT_EQ(p["sum_squares_90"], 49);
}

TEST_P(AggregatorMapsTest, NegativeAndFractionalThresholds) {
  options_.percent_thresholds = {90, -10, 99.9, -100};
  std::vector<double> values;
  for (int i = 1; i <= 20; ++i) values.push_back(i);
  Add(MetricType::kTimer, "t", values);
  Add(MetricType::kTimer, "small", {1, 2});
  auto s = FlushAt(100 * kSecond, 1);
  auto p = Percentiles(*s, s->timers[0]);
  EXPECT_EQ(p["count_90"], 18);
  EXPECT_EQ(p["upper_90"], 18);
  EXPECT_EQ(p["sum_90"], 171);
  EXPECT_EQ(p["count_-10"], 2);  // the top 2 values
  EXPECT_EQ(p["lower_-10"], 19);
  EXPECT_EQ(p["sum_-10"], 39);
  EXPECT_EQ(p["mean_-10"], 19.5);
  EXPECT_EQ(p["sum_squares_-10"], 19 * 19 + 20 * 20);
  // Fractional names keep their decimals (docs/compatibility.md#decision-2).
  EXPECT_EQ(p["upper_99_9"], 20);
  EXPECT_EQ(p["count_99_9"], 20);
  // docs/compatibility.md#decision-1: a negative threshold whose k equals n uses all values
  // (gostatsd panics).
  EXPECT_EQ(p["count_-100"], 20);
  EXPECT_EQ(p["lower_-100"], 1);
  EXPECT_EQ(p["sum_-100"], 210);
  auto small = Percentiles(*s, s->timers[1]);
  // k = round(0.1 × 2) = 0: the -10 threshold is skipped.
  EXPECT_EQ(small.count("count_-10"), 0u);
  EXPECT_EQ(small["count_-100"], 2);
  EXPECT_EQ(small["sum_-100"], 3);
}

TEST_P(AggregatorMapsTest, PercentileSuffixes) {
  EXPECT_EQ(PercentileSuffix(90), "90");
  EXPECT_EQ(PercentileSuffix(-10), "-10");
  EXPECT_EQ(PercentileSuffix(99.9), "99_9");
  EXPECT_EQ(PercentileSuffix(99.99), "99_99");
  EXPECT_EQ(PercentileSuffix(100), "100");
}

TEST_P(AggregatorMapsTest, DisabledPercentileSubMetrics) {
  options_.percent_thresholds = {90, -10};
  options_.disabled.count_pct = true;
  options_.disabled.upper_pct = true;
  options_.disabled.sum_squares_pct = true;
  Add(MetricType::kTimer, "t", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  auto s = FlushAt(100 * kSecond, 1);
  auto p = Percentiles(*s, s->timers[0]);
  EXPECT_EQ(p.count("count_90"), 0u);
  EXPECT_EQ(p.count("upper_90"), 0u);
  EXPECT_EQ(p.count("sum_squares_90"), 0u);
  EXPECT_EQ(p["mean_90"], 5);
  EXPECT_EQ(p["lower_-10"], 10);
}

TEST_P(AggregatorMapsTest, HistogramWorkedExample) {
  Add(MetricType::kTimer, "h", {10, 20, 29.9, 2000, -38, -5}, 1,
      {"gsd_histogram:-10_0_2.5_20_50_5000"});
  auto s = FlushAt(100 * kSecond, 1);
  ASSERT_EQ(s->timers.size(), 1u);
  const TimerPoint& t = s->timers[0];
  EXPECT_TRUE(t.histogram);
  std::vector<std::pair<double, uint64_t>> got;
  for (const auto& b : s->BucketsOf(t)) got.emplace_back(b.le, b.count);
  const double inf = std::numeric_limits<double>::infinity();
  // Buckets count values <= the bound, as gostatsd's latencyHistogram does
  // (docs/aggregation.md#histograms); gostatsd's own worked example lists 3 for le:20, which
  // contradicts that rule for the value 20 itself.
  std::vector<std::pair<double, uint64_t>> want = {{-10, 1}, {0, 2},    {2.5, 2}, {20, 4},
                                                   {50, 5},  {5000, 6}, {inf, 6}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->PercentilesOf(t).begin(), s->PercentilesOf(t).end());

  // Idle: all buckets with 0.
  auto idle = FlushAt(101 * kSecond, 1);
  ASSERT_EQ(idle->timers.size(), 1u);
  uint64_t total = 0;
  size_t buckets = 0;
  for (const auto& b : idle->BucketsOf(idle->timers[0])) {
    total += b.count;
    ++buckets;
  }
  EXPECT_EQ(buckets, 7u);
  EXPECT_EQ(total, 0u);
}

TEST_P(AggregatorMapsTest, HistogramGostatsdVectors) {
  // From gostatsd's latency_histogram_test.go.
  Add(MetricType::kTimer, "a", {1, 10, 11, 12, 29, 30, 31, 45, 100, 100000}, 1,
      {"gsd_histogram:10_30_45"});
  Add(MetricType::kTimer, "b", {1.4999, 1.5, 1.51, 4.0, 7.01}, 1, {"gsd_histogram:1.5_4_7.0"});
  Add(MetricType::kTimer, "c", {0, 10, 20}, 1, {"gsd_histogram:nothresoldsatall"});
  auto s = FlushAt(100 * kSecond, 1);
  auto buckets = [&](size_t i) {
    std::vector<std::pair<double, uint64_t>> got;
    for (const auto& b : s->BucketsOf(s->timers[i])) got.emplace_back(b.le, b.count);
    return got;
  };
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(buckets(0),
            (std::vector<std::pair<double, uint64_t>>{{10, 2}, {30, 6}, {45, 8}, {inf, 10}}));
  EXPECT_EQ(buckets(1),
            (std::vector<std::pair<double, uint64_t>>{{1.5, 2}, {4, 4}, {7, 4}, {inf, 5}}));
  EXPECT_EQ(buckets(2), (std::vector<std::pair<double, uint64_t>>{{inf, 3}}));
}

TEST_P(AggregatorMapsTest, HistogramBoundsParsingAndLimit) {
  EXPECT_EQ(HistogramBounds("10__20_50", 100), (std::vector<double>{10, 20, 50}));
  EXPECT_EQ(HistogramBounds("10_incorrect_20_50", 100), (std::vector<double>{10, 20, 50}));
  EXPECT_TRUE(HistogramBounds("incorrect", 100).empty());
  EXPECT_EQ(HistogramBounds("50_10_10", 100), (std::vector<double>{10, 50}));
  EXPECT_EQ(HistogramBounds("10_20_50", 2), (std::vector<double>{10, 20}));

  options_.histogram_limit = 0;
  Add(MetricType::kTimer, "h", {1}, 1, {"gsd_histogram:10_20"});
  auto s = FlushAt(100 * kSecond, 1);
  ASSERT_EQ(s->timers.size(), 1u);
  EXPECT_EQ(s->BucketsOf(s->timers[0]).begin(), s->BucketsOf(s->timers[0]).end());
}

TEST_P(AggregatorMapsTest, IdleValuesUntilExpiry) {
  options_.expiry_counter = std::chrono::seconds(5);
  options_.expiry_gauge = std::chrono::seconds(5);
  options_.expiry_set = std::chrono::seconds(5);
  options_.expiry_timer = std::chrono::seconds(5);
  Add(MetricType::kCounter, "c", {3});
  Add(MetricType::kGauge, "g", {7});
  Add(MetricType::kSet, "s", {}, 1, {}, "joe");
  Add(MetricType::kTimer, "t", {1, 2});
  FlushAt(100 * kSecond);

  // Next flush, nothing received: counters 0, gauges their last value, sets 0, timers zeros
  // without percentiles.
  auto idle = FlushAt(101 * kSecond);
  ASSERT_EQ(idle->counters.size(), 1u);
  EXPECT_EQ(idle->counters[0].value, 0);
  EXPECT_EQ(idle->counters[0].per_second, 0);
  ASSERT_EQ(idle->gauges.size(), 1u);
  EXPECT_EQ(idle->gauges[0].value, 7);
  ASSERT_EQ(idle->sets.size(), 1u);
  EXPECT_EQ(idle->sets[0].cardinality, 0u);
  ASSERT_EQ(idle->timers.size(), 1u);
  EXPECT_EQ(idle->timers[0].count, 0);
  EXPECT_EQ(idle->timers[0].max, 0);
  EXPECT_EQ(idle->PercentilesOf(idle->timers[0]).begin(),
            idle->PercentilesOf(idle->timers[0]).end());

  // 5 s after the last update: not yet expired (strictly greater is needed)...
  auto at5 = FlushAt(105 * kSecond);
  EXPECT_EQ(at5->series(), 4u);
  // ...then gone.
  auto gone = FlushAt(106 * kSecond);
  EXPECT_EQ(gone->series(), 4u);  // expiry is applied after the flush
  EXPECT_EQ(agg().series(), 0u);
}

// GaugePoint::last_ns: a gauge reported again without a new value keeps its older time, so a
// backend with an expiry of its own (prometheus) can tell it from a received one.
TEST_P(AggregatorMapsTest, GaugePointCarriesTheLastUpdateTime) {
  Add(MetricType::kGauge, "g", {7}, 1, {}, {}, 100 * kSecond);
  auto first = FlushAt(100 * kSecond);
  ASSERT_EQ(first->gauges.size(), 1u);
  EXPECT_EQ(first->gauges[0].last_ns, 100 * kSecond);
  auto idle = FlushAt(101 * kSecond);
  ASSERT_EQ(idle->gauges.size(), 1u);
  EXPECT_EQ(idle->gauges[0].value, 7);
  EXPECT_EQ(idle->gauges[0].last_ns, 100 * kSecond);
  // Two workers: the newer value and its time.
  MetricMap other;
  Add(MetricType::kGauge, "g", {8}, 1, {}, {}, 103 * kSecond);
  AddTo(other, MetricType::kGauge, "g", {9}, 102 * kSecond);
  map_.TakeReceivedIds();
  agg().Merge(map_);
  agg().Merge(other);
  auto both = agg().Flush(104 * kSecond, 1);
  ASSERT_EQ(both->gauges.size(), 1u);
  EXPECT_EQ(both->gauges[0].value, 8);
  EXPECT_EQ(both->gauges[0].last_ns, 103 * kSecond);
  EXPECT_EQ(snapshot::GaugePoint{}.last_ns, 0);
}

TEST_P(AggregatorMapsTest, PerTypeExpiryZeroNeverNegativeImmediately) {
  options_.expiry_counter = std::chrono::nanoseconds(0);  // never
  options_.expiry_gauge = std::chrono::nanoseconds(-1);   // right after the first flush
  Add(MetricType::kCounter, "c", {1});
  Add(MetricType::kGauge, "g", {1});
  FlushAt(100 * kSecond);
  EXPECT_EQ(agg().gauges(), 0u);
  auto later = FlushAt(100000 * kSecond);
  EXPECT_EQ(later->counters.size(), 1u);
  EXPECT_EQ(later->gauges.size(), 0u);
}

TEST_P(AggregatorMapsTest, GaugeLastReceivedWins) {
  // docs/compatibility.md#decision-4: within one batch (same timestamp) the line received last
  // wins.
  Add(MetricType::kGauge, "g", {1});
  Add(MetricType::kGauge, "g", {2});
  auto s = FlushAt(100 * kSecond);
  EXPECT_EQ(s->gauges[0].value, 2);
}

TEST_F(AggregatorTest, MergeFromTwoWorkers) {
  // Two worker maps merged (docs/aggregation.md#merge): counters summed, timers concatenated, sets
  // united, the newer gauge kept.
  MetricMap other;
  Add(MetricType::kCounter, "c", {2}, 1, {}, {}, 100 * kSecond);
  Add(MetricType::kGauge, "g", {5}, 1, {}, {}, 101 * kSecond);
  Add(MetricType::kTimer, "t", {1}, 1, {}, {}, 100 * kSecond);
  Add(MetricType::kSet, "s", {}, 1, {}, "a", 100 * kSecond);
  AddTo(other, MetricType::kCounter, "c", {3}, 100 * kSecond);
  AddTo(other, MetricType::kGauge, "g", {9}, 100 * kSecond);  // older than 5 above
  AddTo(other, MetricType::kTimer, "t", {2, 3}, 100 * kSecond);
  AddTo(other, MetricType::kSet, "s", {}, 100 * kSecond, "b");
  AddTo(other, MetricType::kSet, "s", {}, 100 * kSecond, "a");

  agg().Merge(map_);
  agg().Merge(other);
  auto s = agg().Flush(102 * kSecond, 1);
  EXPECT_EQ(s->counters[0].value, 5);
  EXPECT_EQ(s->gauges[0].value, 5);
  EXPECT_EQ(s->timers[0].sum, 6);
  EXPECT_EQ(s->timers[0].count, 2);
  EXPECT_EQ(s->sets[0].cardinality, 2u);
}

TEST_F(AggregatorTest, TimerValuesMovedFromThreeMapsOverTwoIntervals) {
  // The state takes the first map's values and chains the others'
  // (docs/performance.md#memory-per-series): every value is in the flush, once, in every
  // interval; the maps keep no values, only how many they held; the forwarder's TakeState gets
  // them in merge order.
  MetricMap second, third;
  for (int interval = 0; interval < 2; ++interval) {
    const int64_t t = (100 + interval) * kSecond;
    Add(MetricType::kTimer, "t", {5, 1}, 1, {}, {}, t);
    AddTo(second, MetricType::kTimer, "t", {4}, t);
    AddTo(third, MetricType::kTimer, "t", {3, 2}, t);
    agg().Merge(map_);
    agg().Merge(second);
    agg().Merge(third);
    EXPECT_EQ(map_.timers.entries()[0].value.values.capacity(), 0u);
    EXPECT_EQ(third.timers.entries()[0].value.extra, 2u);
    auto s = agg().Flush(t, 1);
    ASSERT_EQ(s->timers.size(), 1u);
    EXPECT_EQ(s->timers[0].count, 3);  // lines, not values
    EXPECT_EQ(s->timers[0].sum, 15);
    EXPECT_EQ(s->timers[0].min, 1);
    EXPECT_EQ(s->timers[0].max, 5);
    EXPECT_EQ(s->timers[0].median, 3);
    agg().Reset(t);
  }
  Add(MetricType::kTimer, "t", {9}, 1, {}, {}, 102 * kSecond);
  AddTo(second, MetricType::kTimer, "t", {8, 7}, 102 * kSecond);
  AddTo(third, MetricType::kTimer, "t", {6}, 102 * kSecond);
  agg().Merge(map_);
  agg().Merge(second);
  agg().Merge(third);
  MetricMap out = agg().TakeState();
  ASSERT_EQ(out.timers.size(), 1u);
  EXPECT_EQ(out.timers.entries()[0].value.values, (std::vector<double>{9, 8, 7, 6}));
  EXPECT_EQ(out.timers.entries()[0].value.extra, 0u);
}

TEST_F(AggregatorTest, LentMapsGetTheirTimerVectorsBackEmptiedAtReset) {
  // MergeLent (docs/performance.md#memory-per-series): Reset hands each map's vector back to the
  // map's entry, emptied, so the next interval appends into it; a plain Merge's are freed; an
  // entry idle for an interval gives its capacity up.
  MetricMap second, plain;
  std::vector<double> many(100);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<double>(i);
  Add(MetricType::kTimer, "t", many, 1, {}, {}, 100 * kSecond);
  AddTo(second, MetricType::kTimer, "t", {7, 8}, 100 * kSecond);
  AddTo(plain, MetricType::kTimer, "t", {9}, 100 * kSecond);
  const double* first_data = map_.timers.entries()[0].value.values.data();
  const double* second_data = second.timers.entries()[0].value.values.data();
  agg().MergeLent(map_);
  agg().MergeLent(second);
  agg().Merge(plain);
  auto s = agg().Flush(100 * kSecond, 1);
  ASSERT_EQ(s->timers.size(), 1u);
  EXPECT_EQ(s->timers[0].count, 3);  // lines
  EXPECT_EQ(s->timers[0].sum, 4950 + 7 + 8 + 9);
  EXPECT_EQ(s->timers[0].max, 99);
  agg().Reset(100 * kSecond);
  const TimerAgg& a = map_.timers.entries()[0].value;
  const TimerAgg& b = second.timers.entries()[0].value;
  EXPECT_EQ(a.values.data(), first_data);  // the same vector, back home
  EXPECT_TRUE(a.values.empty());
  EXPECT_GE(a.values.capacity(), 100u);
  EXPECT_EQ(b.values.data(), second_data);
  EXPECT_EQ(plain.timers.entries()[0].value.values.capacity(), 0u);

  // The next interval: the first map appends into its vector; the second sends nothing.
  const std::vector<double> fewer(many.begin(), many.begin() + 30);
  Add(MetricType::kTimer, "t", fewer, 1, {}, {}, 101 * kSecond);
  EXPECT_EQ(map_.timers.entries()[0].value.values.data(), first_data);
  agg().MergeLent(map_);
  agg().MergeLent(second);
  s = agg().Flush(101 * kSecond, 1);
  ASSERT_EQ(s->timers.size(), 1u);
  EXPECT_EQ(s->timers[0].count, 1);
  EXPECT_EQ(s->timers[0].sum, 435);
  EXPECT_EQ(second.timers.entries()[0].value.values.capacity(), 0u);  // idle: freed
  agg().Reset(101 * kSecond);
  EXPECT_EQ(map_.timers.entries()[0].value.values.data(), first_data);

  // A vector over twice (+64) what it held this interval is freed, not kept at its peak.
  Add(MetricType::kTimer, "t", {1}, 1, {}, {}, 102 * kSecond);
  agg().MergeLent(map_);
  agg().Flush(102 * kSecond, 1);
  agg().Reset(102 * kSecond);
  EXPECT_EQ(map_.timers.entries()[0].value.values.capacity(), 0u);
}

TEST_F(AggregatorTest, WorkerMapReusedAcrossFlushesAndForgetsIdleSeries) {
  Add(MetricType::kCounter, "c", {1});
  Add(MetricType::kTimer, "t", {1});
  FlushAt(100 * kSecond);
  EXPECT_EQ(map_.counters.size(), 1u);  // kept for reuse, value reset
  EXPECT_EQ(map_.counters.entries()[0].value.value, 0);
  EXPECT_TRUE(map_.timers.entries()[0].value.values.empty());
  Add(MetricType::kCounter, "c", {4});
  auto s = FlushAt(101 * kSecond);
  EXPECT_EQ(s->counters[0].value, 4);
  for (int i = 0; i < Aggregator::kForgetAfterDrains; ++i) FlushAt((102 + i) * kSecond);
  EXPECT_EQ(map_.size(), 0u);
}

TEST_F(AggregatorTest, DrainStateLivesInLastNs) {
  // A worker-map value records "drained, idle for n drains" in last_ns (no dirty/idle fields).
  static_assert(sizeof(CounterAgg) == 16 && sizeof(GaugeAgg) == 16);
  Add(MetricType::kCounter, "c", {1}, 1, {}, {}, 0);  // time 0 still counts as received
  EXPECT_TRUE(Received(map_.counters.entries()[0].value));
  EXPECT_EQ(FlushAt(100 * kSecond)->counters[0].value, 1);
  const CounterAgg& c = map_.counters.entries()[0].value;
  EXPECT_FALSE(Received(c));
  EXPECT_EQ(IdleDrains(c), 0);
  for (int i = 1; i < Aggregator::kForgetAfterDrains; ++i) {
    FlushAt((100 + i) * kSecond);
    ASSERT_EQ(map_.counters.size(), 1u);
    EXPECT_EQ(IdleDrains(map_.counters.entries()[0].value), i);
  }
  FlushAt(110 * kSecond);
  EXPECT_EQ(map_.counters.size(), 0u);
  // Idle drains saturate instead of wrapping into a time.
  CounterAgg idle;
  for (int i = 0; i < 1000; ++i) CountIdleDrain(idle);
  EXPECT_FALSE(Received(idle));
  EXPECT_EQ(IdleDrains(idle), kMaxIdleDrains);

  // A gauge drained at 100 s takes a value stamped earlier, as a fresh one would.
  Add(MetricType::kGauge, "g", {7}, 1, {}, {}, 100 * kSecond);
  FlushAt(100 * kSecond);
  Add(MetricType::kGauge, "g", {3}, 1, {}, {}, 90 * kSecond);
  Add(MetricType::kGauge, "g", {4}, 1, {}, {}, 80 * kSecond);  // older than 3 above: ignored
  EXPECT_EQ(map_.gauges.entries()[0].value.value, 3);
  EXPECT_EQ(map_.gauges.entries()[0].value.last_ns, 90 * kSecond);
}

TEST_P(AggregatorMapsTest, SeriesIdentityIncludesSortedTagsAndSource) {
  Add(MetricType::kCounter, "c", {1}, 1, {"b:2", "a:1"}, {}, 100 * kSecond, "10.0.0.1");
  Add(MetricType::kCounter, "c", {1}, 1, {"a:1", "b:2"}, {}, 100 * kSecond, "10.0.0.1");
  Add(MetricType::kCounter, "c", {1}, 1, {"a:1", "b:2"}, {}, 100 * kSecond, "10.0.0.2");
  Add(MetricType::kGauge, "c", {1}, 1, {"a:1", "b:2"}, {}, 100 * kSecond, "10.0.0.2");
  auto s = FlushAt(100 * kSecond);
  ASSERT_EQ(s->counters.size(), 2u);
  EXPECT_EQ(s->counters[0].value, 2);
  EXPECT_EQ(s->counters[0].key->tags(), "a:1,b:2");
  EXPECT_EQ(s->counters[0].key->TagsKey(), "a:1,b:2,s:10.0.0.1");
  EXPECT_EQ(s->gauges.size(), 1u);
}

// A worker map attached to the aggregator's indexes (ADR 0002).
class AttachedMapTest : public AggregatorTest {
 protected:
  void SetUp() override { attached_ = true; }
};

TEST_F(AttachedMapTest, ASeriesGoesByIdOnceTheAggregatorHoldsIt) {
  Add(MetricType::kCounter, "c", {5});
  Add(MetricType::kGauge, "g", {2});
  EXPECT_EQ(map_.counters.size(), 1u);  // new: by key, in the map's table
  auto first = FlushAt(100 * kSecond);
  ASSERT_EQ(first->counters.size(), 1u);
  EXPECT_EQ(first->counters[0].value, 5);
  EXPECT_EQ(map_.size(), 0u);  // adopted by the aggregator: the map's table lets it go

  Add(MetricType::kCounter, "c", {3}, 1, {}, {}, 101 * kSecond);
  Add(MetricType::kCounter, "c", {4}, 1, {}, {}, 101 * kSecond);
  Add(MetricType::kGauge, "g", {8}, 1, {}, {}, 101 * kSecond);
  EXPECT_EQ(map_.counters.size(), 0u);  // by id, nothing allocated
  EXPECT_EQ(map_.gauges.size(), 0u);
  map_.TakeReceivedIds();
  ASSERT_EQ(map_.counter_deltas.size(), 1u);
  EXPECT_EQ(map_.counter_deltas[0].value.value, 7);
  EXPECT_EQ(map_.counter_deltas[0].value.last_ns, 101 * kSecond);
  auto second = FlushAt(101 * kSecond);
  EXPECT_EQ(second->counters[0].value, 7);
  EXPECT_EQ(second->gauges[0].value, 8);
  EXPECT_TRUE(map_.counter_deltas.empty());
  EXPECT_EQ(agg().series(), 2u);
}

TEST_F(AttachedMapTest, ASeriesReceivedByIdAfterItExpiredComesBack) {
  options_.expiry_counter = std::chrono::seconds(1);
  Add(MetricType::kCounter, "c", {1}, 1, {}, {}, 100 * kSecond);
  FlushAt(100 * kSecond);
  // The worker found the id before the flusher expired the series, and writes after.
  Add(MetricType::kCounter, "c", {6}, 1, {}, {}, 100 * kSecond);
  agg().Reset(102 * kSecond);  // idle since 100 s: expired
  EXPECT_EQ(agg().series(), 0u);
  auto s = FlushAt(102 * kSecond);  // the worker's hand-over names the old id
  ASSERT_EQ(s->counters.size(), 1u);
  EXPECT_EQ(s->counters[0].value, 6);
  EXPECT_EQ(s->counters[0].key->name(), "c");
  // Freed only once every worker handed over after it was retired.
  agg().ReleaseRetired(agg().round());
  Add(MetricType::kCounter, "d", {2}, 1, {}, {}, 103 * kSecond);
  Add(MetricType::kCounter, "c", {1}, 1, {}, {}, 103 * kSecond);
  auto t = FlushAt(103 * kSecond);
  ASSERT_EQ(t->counters.size(), 2u);
  int64_t c = 0, d = 0;
  for (const auto& p : t->counters) (p.key->name() == "c" ? c : d) = p.value;
  EXPECT_EQ(c, 1);
  EXPECT_EQ(d, 2);
}

TEST_F(AttachedMapTest, TwoWorkersByIdSumCountersAndKeepTheNewerGauge) {
  Add(MetricType::kCounter, "c", {1});
  Add(MetricType::kGauge, "g", {1});
  FlushAt(100 * kSecond);
  MetricMap other;
  IdValues other_ids;
  Attach(other, other_ids);
  AddTo(other, MetricType::kCounter, "c", {10}, 101 * kSecond);
  AddTo(other, MetricType::kGauge, "g", {9}, 102 * kSecond);  // newer than 5 below
  Add(MetricType::kCounter, "c", {3}, 1, {}, {}, 101 * kSecond);
  Add(MetricType::kGauge, "g", {5}, 1, {}, {}, 101 * kSecond);
  other.TakeReceivedIds();
  map_.TakeReceivedIds();
  agg().Merge(map_);
  agg().Merge(other);
  auto s = agg().Flush(103 * kSecond, 1);
  EXPECT_EQ(s->counters[0].value, 13);
  EXPECT_EQ(s->gauges[0].value, 9);
}

TEST_F(AttachedMapTest, ForwarderTakesWhatWasReceivedAndForgetsIdleSeries) {
  Add(MetricType::kCounter, "c", {2});
  Add(MetricType::kGauge, "g", {4});
  map_.TakeReceivedIds();
  agg().Merge(map_);
  MetricMap out = agg().TakeState();
  ASSERT_EQ(out.counters.size(), 1u);
  EXPECT_EQ(out.counters.entries()[0].value.value, 2);
  EXPECT_EQ(out.gauges.entries()[0].value.value, 4);

  Add(MetricType::kCounter, "c", {3}, 1, {}, {}, 101 * kSecond);  // by id now
  map_.TakeReceivedIds();
  agg().Merge(map_);
  out = agg().TakeState();
  ASSERT_EQ(out.counters.size(), 1u);
  EXPECT_EQ(out.counters.entries()[0].value.value, 3);  // not 5: each take starts from zero
  EXPECT_EQ(out.gauges.size(), 0u);                     // not received since the last take

  for (int i = 0; i < Aggregator::kForgetAfterDrains; ++i) {
    EXPECT_NE(agg().series(), 0u);
    out = agg().TakeState();
    EXPECT_EQ(out.size(), 0u);
  }
  EXPECT_EQ(agg().series(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Saturation (issue 14 item 7): counters saturate at the int64 limits on every add.

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST_P(AggregatorMapsTest, CountersSaturateOnReceive) {
  // Two valid 9e18|c lines: 1.8e19 does not fit; it used to wrap to a negative sum.
  Add(MetricType::kCounter, "c", {9e18});
  Add(MetricType::kCounter, "c", {9e18});
  Add(MetricType::kCounter, "n", {-9e18});
  Add(MetricType::kCounter, "n", {-9e18});
  auto s = FlushAt(100 * kSecond, 1);
  ASSERT_EQ(s->counters.size(), 2u);
  EXPECT_EQ(s->counters[0].value, kMax);
  EXPECT_EQ(s->counters[1].value, kMin);
  // Once the aggregator holds the series (by id when attached), the same.
  Add(MetricType::kCounter, "c", {9e18}, 1, {}, {}, 101 * kSecond);
  Add(MetricType::kCounter, "c", {9e18}, 1, {}, {}, 101 * kSecond);
  Add(MetricType::kCounter, "c", {-5}, 1, {}, {}, 101 * kSecond);  // saturated, not undone
  EXPECT_EQ(FlushAt(101 * kSecond, 1)->counters[0].value, kMax - 5);
}

TEST_P(AggregatorMapsTest, CountersSaturateWhenWorkerMapsMerge) {
  // Each worker map holds 9e18 (no overflow there); the merge into the aggregator adds them.
  Add(MetricType::kCounter, "c", {9e18});
  Add(MetricType::kCounter, "n", {-9e18});
  MetricMap other;
  IdValues other_ids;
  if (attached_) Attach(other, other_ids);
  AddTo(other, MetricType::kCounter, "c", {9e18}, 100 * kSecond);
  AddTo(other, MetricType::kCounter, "n", {-9e18}, 100 * kSecond);
  map_.TakeReceivedIds();
  other.TakeReceivedIds();
  agg().Merge(map_);
  agg().Merge(other);
  auto s = agg().Flush(100 * kSecond, 1);
  ASSERT_EQ(s->counters.size(), 2u);
  EXPECT_EQ(s->counters[0].value, kMax);
  EXPECT_EQ(s->counters[1].value, kMin);
  agg().Reset(100 * kSecond);

  // By id: both workers add into a series the aggregator holds.
  AddTo(other, MetricType::kCounter, "c", {9e18}, 101 * kSecond);
  Add(MetricType::kCounter, "c", {9e18}, 1, {}, {}, 101 * kSecond);
  map_.TakeReceivedIds();
  other.TakeReceivedIds();
  agg().Merge(map_);
  agg().Merge(other);
  EXPECT_EQ(agg().Flush(101 * kSecond, 1)->counters[0].value, kMax);
}

TEST_P(AggregatorMapsTest, CountersSaturateInTheForwardersMerge) {
  // Forwarder mode: merged twice before one TakeState.
  Add(MetricType::kCounter, "c", {9e18});
  map_.TakeReceivedIds();
  agg().Merge(map_);
  Add(MetricType::kCounter, "c", {9e18});
  map_.TakeReceivedIds();
  agg().Merge(map_);
  MetricMap out = agg().TakeState();
  ASSERT_EQ(out.counters.size(), 1u);
  EXPECT_EQ(out.counters.entries()[0].value.value, kMax);
}

TEST_P(AggregatorMapsTest, TimerCountSaturatesAtATinySampleRate) {
  // t:1|ms|@1e-300 counts for 1e300 lines: a line counts for 2^63 at most and the count
  // saturates (it was INT64_MIN); a rate so small that 1/rate is +Inf counts for 2^63 too, so
  // count_ps stays finite.
  Add(MetricType::kTimer, "t", {1}, 1e-300);
  Add(MetricType::kTimer, "u", {1}, 1e-320);
  Add(MetricType::kTimer, "v", {1}, 0.25);  // an ordinary rate is untouched
  auto s = FlushAt(100 * kSecond, 10);
  ASSERT_EQ(s->timers.size(), 3u);
  EXPECT_EQ(s->timers[0].count, kMax);
  EXPECT_DOUBLE_EQ(s->timers[0].count_per_second, 9223372036854775808.0 / 10);
  EXPECT_EQ(s->timers[1].count, kMax);
  EXPECT_DOUBLE_EQ(s->timers[1].count_per_second, 9223372036854775808.0 / 10);
  EXPECT_EQ(s->timers[2].count, 4);
  EXPECT_DOUBLE_EQ(s->timers[2].count_per_second, 0.4);
}

TEST(SaturatingAddTest, EveryDirection) {
  EXPECT_EQ(SaturatingAdd(1, 2), 3);
  EXPECT_EQ(SaturatingAdd(kMax, 1), kMax);
  EXPECT_EQ(SaturatingAdd(kMax, kMax), kMax);
  EXPECT_EQ(SaturatingAdd(kMin, -1), kMin);
  EXPECT_EQ(SaturatingAdd(kMin, kMin), kMin);
  EXPECT_EQ(SaturatingAdd(kMax, kMin), -1);
  EXPECT_EQ(SaturatingAdd(kMin, kMax), -1);
  EXPECT_EQ(SaturateToInt64(9.3e18), kMax);
  EXPECT_EQ(SaturateToInt64(-9.3e18), kMin);
  EXPECT_EQ(SaturateToInt64(std::nan("")), 0);
  EXPECT_EQ(TimerLineWeight(0.5), 2);
  EXPECT_EQ(TimerLineWeight(1), 1);
  EXPECT_EQ(TimerLineWeight(1e-320), 9223372036854775808.0);
}

// ---------------------------------------------------------------------------------------------
// gsd_histogram (issue 14 items 6 and 11).

// The bucket rule as gostatsd states it, one scan of the values per bound.
std::vector<std::pair<double, uint64_t>> BruteForceBuckets(const std::vector<double>& bounds,
                                                           const std::vector<double>& values) {
  std::vector<std::pair<double, uint64_t>> out;
  for (double le : bounds) {
    uint64_t c = 0;
    for (double x : values) c += x <= le ? 1 : 0;
    out.emplace_back(le, c);
  }
  out.emplace_back(std::numeric_limits<double>::infinity(), values.size());
  return out;
}

TEST(HistogramBucketsTest, BinarySearchGivesTheBucketsOfOneScanPerBound) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::vector<double>> bound_sets = {
      {}, {0}, {-10, 0, 2.5, 20, 50, 5000}, {-inf, -1, 1}, {1e-300, 1e300}, {-5, -4, -3, -2, -1},
  };
  const std::vector<double> values = {10,   20,   29.9, 2000, -38,  -5,  0,     -0.0,   2.5, 50,
                                      5000, 5001, -10,  -11,  -inf, inf, 1e300, 1e-300, 1,   -1,
                                      -2,   -3,   -4,   -5,   -6,   20,  20,    0.5};
  for (const auto& bounds : bound_sets) {
    std::vector<BucketPoint> got;
    HistogramBuckets(bounds, values, got);
    std::vector<std::pair<double, uint64_t>> pairs;
    for (const auto& b : got) pairs.emplace_back(b.le, b.count);
    EXPECT_EQ(pairs, BruteForceBuckets(bounds, values)) << bounds.size() << " bounds";
  }
  std::vector<BucketPoint> none;
  HistogramBuckets({1, 2}, {}, none);
  ASSERT_EQ(none.size(), 3u);
  EXPECT_EQ(none[0].count + none[1].count + none[2].count, 0u);
}

TEST(HistogramBucketsTest, RandomTablesMatchTheScan) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<double> bounds, values;
    const int nb = static_cast<int>(rng() % 20);
    for (int i = 0; i < nb; ++i) bounds.push_back(static_cast<double>(rng() % 41) - 20);
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    for (int i = 0; i < 50; ++i) values.push_back(static_cast<double>(rng() % 49) / 2 - 12);
    std::vector<BucketPoint> got;
    HistogramBuckets(bounds, values, got);
    std::vector<std::pair<double, uint64_t>> pairs;
    for (const auto& b : got) pairs.emplace_back(b.le, b.count);
    ASSERT_EQ(pairs, BruteForceBuckets(bounds, values)) << round;
  }
}

TEST(HistogramBoundsTest, BoundsAreReadAsValuesAre) {
  // Go's ParseFloat, the parser's float syntax: hex floats, underflow to 0, underscores.
  EXPECT_EQ(HistogramBounds("0x1p3", 100), (std::vector<double>{8}));
  EXPECT_EQ(HistogramBounds("1e-400", 100), (std::vector<double>{0}));
  EXPECT_EQ(HistogramBounds("0X1.8P1_.5_5.", 100), (std::vector<double>{0.5, 3, 5}));
  EXPECT_EQ(HistogramBounds("-Inf_1", 100),
            (std::vector<double>{-std::numeric_limits<double>::infinity(), 1}));
  // Skipped as gostatsd skips what ParseFloat refuses: out of range, syntax; NaN as values are.
  EXPECT_EQ(HistogramBounds("1e400_2_nan_NaN_0x1_1__0", 100), (std::vector<double>{0, 1, 2}));
  // A +Inf bound is the +Inf bucket every histogram has (one bucket, not two).
  EXPECT_EQ(HistogramBounds("10_inf_+Infinity", 100), (std::vector<double>{10}));
  // Repeated bounds are one bucket (gostatsd 38's map of buckets), counted once each.
  EXPECT_EQ(HistogramBounds("10_10_20_10", 100), (std::vector<double>{10, 20}));
  // timer-histogram-limit truncates the pieces that parsed, in the order given.
  EXPECT_EQ(HistogramBounds("30_x_10_20", 2), (std::vector<double>{10, 30}));
}

TEST_P(AggregatorMapsTest, HistogramRepeatedAndInfiniteBoundsAreOneBucketEach) {
  Add(MetricType::kTimer, "h", {5, 10, 15, 100}, 1, {"gsd_histogram:10_10_20_inf"});
  auto s = FlushAt(100 * kSecond, 1);
  ASSERT_EQ(s->timers.size(), 1u);
  std::vector<std::pair<double, uint64_t>> got;
  for (const auto& b : s->BucketsOf(s->timers[0])) got.emplace_back(b.le, b.count);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(got, (std::vector<std::pair<double, uint64_t>>{{10, 2}, {20, 3}, {inf, 4}}));
}

// ---------------------------------------------------------------------------------------------
// Timer kinds (docs/aggregation.md#timer-kinds): `ms` if any line of the interval was `ms`,
// whatever the worker and merge order; a timer kept without lines keeps its last kind.

// One timer line of `kind` through `pipeline` into `map`.
void AddKind(pipeline::Pipeline& pipeline, MetricMap& map, std::string_view name, TimerKind kind,
             double value, std::vector<std::string_view> tags = {}) {
  ParsedMetric m;
  m.type = MetricType::kTimer;
  m.timer_kind = kind;
  m.name = name;
  m.values = {value};
  m.tags = std::move(tags);
  pipeline.Receive(m, "", 100 * kSecond, map);
}

const TimerPoint* FindTimer(const FlushSnapshot& s, std::string_view name) {
  for (const TimerPoint& t : s.timers) {
    if (t.key->name() == name) return &t;
  }
  return nullptr;
}

constexpr TimerKind kMs = TimerKind::kMs;
constexpr TimerKind kH = TimerKind::kHistogram;

TEST(TimerPointTest, KindDefaultsToMilliseconds) {
  // Every producer that does not set it (backend tests, older code) means `ms`.
  EXPECT_EQ(TimerPoint{}.kind, kMs);
  EXPECT_EQ(ParsedMetric{}.timer_kind, kMs);
  EXPECT_EQ(TimerAgg{}.kinds, 0);
}

TEST_P(AggregatorMapsTest, TimerKeepsItsKind) {
  ParsedMetric m;
  m.type = MetricType::kTimer;
  m.values = {1};
  m.name = "plain";  // ParsedMetric's default: ms
  pipeline_.Receive(m, "", 100 * kSecond, map_);
  AddKind(pipeline_, map_, "h", kH, 1);
  AddKind(pipeline_, map_, "h", kH, 2);
  AddKind(pipeline_, map_, "ms", kMs, 1);
  AddKind(pipeline_, map_, "hist", kH, 5, {"gsd_histogram:10"});  // the tag is another thing
  auto s = FlushAt(100 * kSecond, 1);
  ASSERT_EQ(s->timers.size(), 4u);
  EXPECT_EQ(FindTimer(*s, "plain")->kind, kMs);
  EXPECT_EQ(FindTimer(*s, "h")->kind, kH);
  EXPECT_EQ(FindTimer(*s, "h")->count, 2);  // one series, aggregated as any timer
  EXPECT_EQ(FindTimer(*s, "ms")->kind, kMs);
  EXPECT_EQ(FindTimer(*s, "hist")->kind, kH);
  EXPECT_TRUE(FindTimer(*s, "hist")->histogram);
}

TEST_P(AggregatorMapsTest, BothKindsInOneMapAreMilliseconds) {
  AddKind(pipeline_, map_, "a", kH, 1);
  AddKind(pipeline_, map_, "a", kMs, 2);
  AddKind(pipeline_, map_, "b", kMs, 1);
  AddKind(pipeline_, map_, "b", kH, 2);
  auto s = FlushAt(100 * kSecond, 1);
  ASSERT_EQ(s->timers.size(), 2u);
  for (const TimerPoint& t : s->timers) {
    EXPECT_EQ(t.kind, kMs) << t.key->name();
    EXPECT_EQ(t.count, 2);  // the kind is not part of the identity
  }
}

// Nothing a gostatsd backend reads depends on the kind: `h` and `ms` lines give the same numbers.
TEST_P(AggregatorMapsTest, BothKindsAggregateToTheSameNumbers) {
  options_.percent_thresholds = {90, -10, 99.9};
  for (TimerKind kind : {kMs, kH}) {
    const std::string_view name = kind == kMs ? "a" : "b";
    for (double v : {3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0})
      AddKind(pipeline_, map_, name, kind, v);
  }
  auto s = FlushAt(100 * kSecond, 10);
  ASSERT_EQ(s->timers.size(), 2u);
  const TimerPoint& a = *FindTimer(*s, "a");
  const TimerPoint& b = *FindTimer(*s, "b");
  EXPECT_EQ(a.kind, kMs);
  EXPECT_EQ(b.kind, kH);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.count_per_second, b.count_per_second);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.median, b.median);
  EXPECT_EQ(a.stddev, b.stddev);
  EXPECT_EQ(a.sum, b.sum);
  EXPECT_EQ(a.sum_squares, b.sum_squares);
  EXPECT_EQ(a.histogram, b.histogram);
  EXPECT_EQ(Percentiles(*s, a), Percentiles(*s, b));
  EXPECT_EQ(Percentiles(*s, a).size(), 15u);
}

TEST_F(AggregatorTest, BothKindsFromSeveralWorkersAreMillisecondsInAnyMergeOrder) {
  // Three workers: `h`, `ms`, `h` for "mixed"; `h` everywhere for "h". Every order of merge.
  const std::vector<TimerKind> mixed = {kH, kMs, kH};
  std::vector<int> order = {0, 1, 2};
  int orders = 0;
  do {
    agg_.reset();
    std::vector<MetricMap> maps(3);
    std::vector<IdValues> ids(3);
    for (int w = 0; w < 3; ++w) {
      Attach(maps[w], ids[w]);
      AddKind(other_pipeline_, maps[w], "mixed", mixed[w], w);
      AddKind(other_pipeline_, maps[w], "h", kH, w);
    }
    for (int w : order) {
      maps[w].TakeReceivedIds();
      agg().Merge(maps[w]);
    }
    auto s = agg().Flush(100 * kSecond, 1);
    ASSERT_EQ(s->timers.size(), 2u);
    EXPECT_EQ(FindTimer(*s, "mixed")->kind, kMs) << orders;
    EXPECT_EQ(FindTimer(*s, "mixed")->count, 3);
    EXPECT_EQ(FindTimer(*s, "h")->kind, kH) << orders;
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orders, 6);
}

TEST_F(AggregatorTest, KindIsPerIntervalAndKeptByATimerWithoutLines) {
  AddKind(pipeline_, map_, "t", kH, 1);
  EXPECT_EQ(FlushAt(100 * kSecond)->timers.at(0).kind, kH);
  // No line: kept until it expires, with the kind of its last interval with lines.
  EXPECT_EQ(FlushAt(110 * kSecond)->timers.at(0).kind, kH);
  // Both: ms. The reused worker map and the state forget it at the next interval.
  AddKind(pipeline_, map_, "t", kH, 1);
  AddKind(pipeline_, map_, "t", kMs, 1);
  EXPECT_EQ(FlushAt(120 * kSecond)->timers.at(0).kind, kMs);
  EXPECT_EQ(FlushAt(130 * kSecond)->timers.at(0).kind, kMs);
  AddKind(pipeline_, map_, "t", kH, 1);
  EXPECT_EQ(FlushAt(140 * kSecond)->timers.at(0).kind, kH);
}

TEST_F(AggregatorTest, ForwarderStateKeepsTheKinds) {
  // Forwarder mode: merged, then taken out whole for the RawMessageV2.
  MetricMap other;
  AddKind(pipeline_, map_, "mixed", kH, 1);
  AddKind(other_pipeline_, other, "mixed", kMs, 2);
  AddKind(other_pipeline_, other, "h", kH, 3);
  agg().Merge(other);
  agg().Merge(map_);
  MetricMap out = agg().TakeState();
  ASSERT_EQ(out.timers.size(), 2u);
  for (const auto& e : out.timers.entries()) {
    const bool mixed = e.key->name() == "mixed";
    EXPECT_EQ(e.value.kinds, mixed ? (TimerKindBit(kMs) | TimerKindBit(kH)) : TimerKindBit(kH));
    EXPECT_EQ(ResolveTimerKind(e.value.kinds), mixed ? kMs : kH);
  }
}

TEST(CounterDeltaTest, SaturatesInsteadOfUndefinedBehaviour) {
  EXPECT_EQ(CounterDelta(1, 0.3), 3);
  EXPECT_EQ(CounterDelta(-7, 2), -3);
  EXPECT_EQ(CounterDelta(1e300, 1), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(CounterDelta(-std::numeric_limits<double>::infinity(), 1),
            std::numeric_limits<int64_t>::min());
}

}  // namespace
}  // namespace cstatsd::aggregate
