#include "core/timed_points.h"

#include <gtest/gtest.h>

#include <string>

namespace cstatsd {
namespace {

constexpr int64_t kNow = 1700000000LL * 1000000000LL;  // unix ns
constexpr int64_t kTs = 1700000000 - 60;               // a minute ago

// Name and tags laid out as the pipeline lays them (source empty).
struct Parts {
  std::string bytes;
  KeyParts parts;
  uint64_t hash;
  Parts(MetricType type, std::string name, std::string tags = {}) : bytes(name + tags) {
    parts = KeyParts{type, bytes, static_cast<uint32_t>(name.size()),
                     static_cast<uint32_t>(tags.size())};
    hash = SeriesKey::Hash(parts);
  }
};

TEST(TimedPointsTest, CountersAddUpPerSeriesAndTimestamp) {
  TimedPoints t;
  const Parts x(MetricType::kCounter, "x", "a:b");
  const Parts y(MetricType::kCounter, "y");
  t.AddCounter(x.parts, x.hash, kTs, 1, kNow);
  t.AddCounter(x.parts, x.hash, kTs, 2, kNow);
  t.AddCounter(x.parts, x.hash, kTs + 10, 5, kNow);  // another point of the same series
  t.AddCounter(y.parts, y.hash, kTs, 7, kNow);
  ASSERT_EQ(t.size(), 3u);
  const auto& p = t.points();
  EXPECT_EQ(t.PartsOf(p[0]).name(), "x");
  EXPECT_EQ(t.PartsOf(p[0]).tags(), "a:b");
  EXPECT_EQ(p[0].timestamp, kTs);
  EXPECT_EQ(p[0].count, 3);
  EXPECT_EQ(p[1].timestamp, kTs + 10);
  EXPECT_EQ(p[1].count, 5);
  EXPECT_EQ(t.PartsOf(p[2]).name(), "y");
  EXPECT_EQ(p[2].count, 7);
}

TEST(TimedPointsTest, GaugesKeepTheValueReceivedLast) {
  TimedPoints t;
  const Parts g(MetricType::kGauge, "g");
  t.AddGauge(g.parts, g.hash, kTs, 1, kNow);
  t.AddGauge(g.parts, g.hash, kTs, 2, kNow + 1);
  t.AddGauge(g.parts, g.hash, kTs, 3, kNow);  // an older receive does not win
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t.points()[0].value, 2);
  EXPECT_EQ(t.points()[0].last_ns, kNow + 1);
}

TEST(TimedPointsTest, ACounterAndAGaugeOfOneNameAreTwoPoints) {
  TimedPoints t;
  const Parts c(MetricType::kCounter, "m");
  const Parts g(MetricType::kGauge, "m");
  t.AddCounter(c.parts, c.hash, kTs, 1, kNow);
  t.AddGauge(g.parts, g.hash, kTs, 4, kNow);
  EXPECT_EQ(t.size(), 2u);
}

TEST(TimedPointsTest, TheWindowIsAnHourBackAndTenMinutesAhead) {
  TimedPoints t;
  const Parts c(MetricType::kCounter, "c");
  const int64_t now_s = kNow / 1000000000;
  t.AddCounter(c.parts, c.hash, now_s - 3600, 1, kNow);  // kept
  t.AddCounter(c.parts, c.hash, now_s + 600, 1, kNow);   // kept
  t.AddCounter(c.parts, c.hash, now_s - 3601, 1, kNow);  // too old
  t.AddCounter(c.parts, c.hash, now_s + 601, 1, kNow);   // too far ahead
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.dropped_window(), 2u);
  EXPECT_EQ(t.dropped_full(), 0u);
}

TEST(TimedPointsTest, PastTheLimitANewPointIsDroppedAndCounted) {
  TimedPoints t(3);
  const Parts c(MetricType::kCounter, "c");
  for (int i = 0; i < 5; ++i) t.AddCounter(c.parts, c.hash, kTs + i, 1, kNow);
  t.AddCounter(c.parts, c.hash, kTs, 1, kNow);  // a point already held still receives
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.dropped_full(), 2u);
  EXPECT_EQ(t.points()[0].count, 2);
}

TEST(TimedPointsTest, MergeAppliesTheReceiveRulesAndEmptiesTheSource) {
  TimedPoints a, b;
  const Parts c(MetricType::kCounter, "c");
  const Parts g(MetricType::kGauge, "g");
  a.AddCounter(c.parts, c.hash, kTs, 1, kNow);
  a.AddGauge(g.parts, g.hash, kTs, 1, kNow + 5);
  b.AddCounter(c.parts, c.hash, kTs, 2, kNow);
  b.AddGauge(g.parts, g.hash, kTs, 2, kNow + 1);  // received before a's
  b.AddCounter(c.parts, c.hash, 1, 1, kNow);      // out of the window: counted
  a.MergeFrom(b);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.dropped_window(), 0u);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a.points()[0].count, 3);
  EXPECT_EQ(a.points()[1].value, 1);
  EXPECT_EQ(a.dropped_window(), 1u);
}

TEST(TimedPointsTest, ClearKeepsTheMemoryAndFindsNothing) {
  TimedPoints t;
  for (int i = 0; i < 1000; ++i) {
    const Parts c(MetricType::kCounter, "c" + std::to_string(i));
    t.AddCounter(c.parts, c.hash, kTs, i, kNow);
  }
  EXPECT_EQ(t.size(), 1000u);
  t.Clear();
  EXPECT_TRUE(t.empty());
  const Parts c(MetricType::kCounter, "c5");
  t.AddCounter(c.parts, c.hash, kTs, 1, kNow);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t.points()[0].count, 1);  // not 5 + 1: the old point is gone
}

}  // namespace
}  // namespace cstatsd
