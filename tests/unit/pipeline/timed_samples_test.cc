// Samples with their own timestamp (`|T`, docs/aggregation.md#timestamped-samples) on the way
// into a worker map: kept apart from the interval's series, after the same source, filter and
// tag rules as any line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "pipeline/pipeline.h"

namespace cstatsd::pipeline {
namespace {

constexpr int64_t kNowS = 1700000000;
constexpr int64_t kNow = kNowS * 1000000000LL;

ParsedMetric Line(MetricType type, std::string_view name, double v, int64_t ts,
                  std::vector<std::string_view> tags = {}) {
  ParsedMetric m;
  m.type = type;
  m.name = name;
  m.values = {v};
  m.timestamp = ts;
  m.tags = std::move(tags);
  return m;
}

TEST(TimedSamplesTest, ATimestampedCounterOrGaugeGoesToTheTimedPointsNotTheSeries) {
  PipelineOptions o;
  o.default_tags = {"env:prod"};
  Pipeline p(&o);
  MetricMap map;
  p.Receive(Line(MetricType::kCounter, "c", 2, kNowS - 10, {"b", "a"}), "10.0.0.1", kNow, map);
  p.Receive(Line(MetricType::kCounter, "c", 3, kNowS - 10, {"a", "b"}), "10.0.0.1", kNow, map);
  p.Receive(Line(MetricType::kGauge, "g", 7, kNowS - 10), "10.0.0.1", kNow, map);
  p.Receive(Line(MetricType::kCounter, "c", 1, 0, {"a", "b"}), "10.0.0.1", kNow, map);  // no |T
  EXPECT_EQ(map.counters.size(), 1u);
  EXPECT_EQ(map.gauges.size(), 0u);
  ASSERT_EQ(map.timed.size(), 2u);
  const auto& c = map.timed.points()[0];
  const KeyParts parts = map.timed.PartsOf(c);
  EXPECT_EQ(parts.name(), "c");
  EXPECT_EQ(parts.tags(), "a,b,env:prod");  // sorted, default tags added: one series
  EXPECT_EQ(parts.source(), "10.0.0.1");
  EXPECT_EQ(c.count, 5);
  EXPECT_EQ(c.timestamp, kNowS - 10);
  // Its key hashes as the untimed series of the same identity does.
  EXPECT_EQ(c.series_hash, map.counters.entries()[0].key->hash());
  EXPECT_EQ(map.timed.points()[1].value, 7);
}

TEST(TimedSamplesTest, TheSampleRateAppliesToATimestampedCounter) {
  PipelineOptions o;
  Pipeline p(&o);
  MetricMap map;
  ParsedMetric m = Line(MetricType::kCounter, "c", 1, kNowS);
  m.rate = 0.1;
  p.Receive(m, "", kNow, map);
  ASSERT_EQ(map.timed.size(), 1u);
  EXPECT_EQ(map.timed.points()[0].count, 10);
}

TEST(TimedSamplesTest, TimersAndSetsIgnoreTheTimestamp) {
  PipelineOptions o;
  Pipeline p(&o);
  MetricMap map;
  p.Receive(Line(MetricType::kTimer, "t", 1, kNowS - 10), "", kNow, map);
  ParsedMetric s = Line(MetricType::kSet, "s", 0, kNowS - 10);
  s.set_value = "m";
  p.Receive(s, "", kNow, map);
  EXPECT_EQ(map.timers.size(), 1u);
  EXPECT_EQ(map.sets.size(), 1u);
  EXPECT_TRUE(map.timed.empty());
}

TEST(TimedSamplesTest, OutsideTheWindowTheSampleIsDroppedAndCounted) {
  PipelineOptions o;
  Pipeline p(&o);
  MetricMap map;
  p.Receive(Line(MetricType::kCounter, "c", 1, kNowS - 7200), "", kNow, map);
  p.Receive(Line(MetricType::kGauge, "g", 1, kNowS + 3600), "", kNow, map);
  EXPECT_TRUE(map.timed.empty());
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.timed.dropped_window(), 2u);
}

TEST(TimedSamplesTest, FiltersApplyAsToAnyLine) {
  PipelineOptions o;
  config::Config c;
  c.options.filters = {"noisy"};
  c.file = nlohmann::json::parse(
      R"({"filter": {"noisy": {"match-metrics": "drop.*", "drop-metric": true}}})");
  auto set = filter::FilterSet::Load(c, nullptr);
  ASSERT_TRUE(set.ok()) << set.error();
  o.filters = std::make_shared<const filter::FilterSet>(std::move(*set));
  Pipeline p(&o);
  MetricMap map;
  p.Receive(Line(MetricType::kCounter, "drop.me", 1, kNowS), "", kNow, map);
  p.Receive(Line(MetricType::kCounter, "keep", 1, kNowS), "", kNow, map);
  ASSERT_EQ(map.timed.size(), 1u);
  EXPECT_EQ(map.timed.PartsOf(map.timed.points()[0]).name(), "keep");
  EXPECT_EQ(p.filtered(), 1u);
}

TEST(TimedSamplesTest, ClearingTheMapEmptiesItsTimedPoints) {
  PipelineOptions o;
  Pipeline p(&o);
  MetricMap map;
  p.Receive(Line(MetricType::kCounter, "c", 1, kNowS), "", kNow, map);
  EXPECT_FALSE(map.empty());
  map.Clear();
  EXPECT_TRUE(map.empty());
}

}  // namespace
}  // namespace cstatsd::pipeline
