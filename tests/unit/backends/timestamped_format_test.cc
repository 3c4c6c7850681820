// Timestamped samples (DogStatsD `|T`, docs/backends.md#timestamps) in the backends that carry a
// timestamp: each point is written at its own time, beside the interval's values at the flush
// time; and FoldTimed, the snapshot every other backend receives.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/datadog/datadog_format.h"
#include "backends/graphite/graphite_backend.h"
#include "backends/influxdb/influxdb_format.h"
#include "backends/otlp/otlp_format.h"
#include "snapshot/timed_fold.h"
#include "unit/support/series.h"

namespace cstatsd::backends {
namespace {

using test::Key;

constexpr int64_t kFlush = 1700000000;
constexpr int64_t kTs = kFlush - 120;

// An interval's counter c = 4 and gauge g = 1 at the flush; timestamped c = 3 and g = 9 two
// minutes earlier.
snapshot::FlushSnapshot Snapshot() {
  snapshot::FlushSnapshot s;
  s.flush_time_ns = kFlush * 1000000000LL;
  s.flush_seconds = 10;
  s.counters.push_back({Key(MetricType::kCounter, "c", "a:b"), 4, 0.4});
  s.gauges.push_back({Key(MetricType::kGauge, "g"), 1, s.flush_time_ns});
  s.timed_counters.push_back({Key(MetricType::kCounter, "c", "a:b"), 3, 0.3, kTs});
  s.timed_gauges.push_back({Key(MetricType::kGauge, "g"), 9, kTs});
  return s;
}

bool Has(const std::string& out, const std::string& part) {
  return out.find(part) != std::string::npos;
}

TEST(TimestampedFormatTest, GraphiteWritesTheLineTimestamp) {
  graphite::GraphiteOptions o;
  o.mode = "basic";
  std::string out;
  graphite::GraphiteBackend::Format(Snapshot(), o, out);
  EXPECT_TRUE(Has(out, "stats.counters.c.count 4 1700000000\n")) << out;
  EXPECT_TRUE(Has(out, "stats.counters.c.count 3 1699999880\n")) << out;
  EXPECT_TRUE(Has(out, "stats.counters.c.rate 0.300000 1699999880\n")) << out;
  EXPECT_TRUE(Has(out, "stats.gauges.g 1.000000 1700000000\n")) << out;
  EXPECT_TRUE(Has(out, "stats.gauges.g 9.000000 1699999880\n")) << out;
  o.mode = "legacy";
  out.clear();
  graphite::GraphiteBackend::Format(Snapshot(), o, out);
  EXPECT_TRUE(Has(out, "stats_counts.c 3 1699999880\n")) << out;
}

TEST(TimestampedFormatTest, InfluxdbWritesThePointTimestamp) {
  std::string all;
  const size_t lines = influxdb::FormatMetrics(Snapshot(), {}, kFlush, 100,
                                               [&](std::string&& b, size_t) { all += b; });
  EXPECT_EQ(lines, 4u);
  EXPECT_TRUE(Has(all, "c,a=b count=4,rate=0.4 1700000000\n")) << all;
  EXPECT_TRUE(Has(all, "c,a=b count=3,rate=0.3 1699999880\n")) << all;
  EXPECT_TRUE(Has(all, "g value=9 1699999880\n")) << all;
}

TEST(TimestampedFormatTest, DatadogWritesThePointsTimestamp) {
  std::string all;
  datadog::FormatSeries(Snapshot(), {}, kFlush, 10, 1000,
                        [&](std::string&& b, size_t) { all += b; });
  EXPECT_TRUE(Has(all, R"("metric":"c.count","points":[[1699999880,3]])")) << all;
  EXPECT_TRUE(Has(all, R"("metric":"c","points":[[1699999880,0.3]])")) << all;
  EXPECT_TRUE(Has(all, R"("metric":"g","points":[[1699999880,9]])")) << all;
  EXPECT_TRUE(Has(all, R"("metric":"c.count","points":[[1700000000,4]])")) << all;
}

TEST(TimestampedFormatTest, OtlpWritesTimeUnixNano) {
  otlp::FormatOptions o;
  const auto reqs = otlp::FormatMetrics(Snapshot(), o, 1000);
  ASSERT_EQ(reqs.size(), 1u);
  std::vector<std::pair<std::string, uint64_t>> seen;
  for (const auto& rm : reqs[0].resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) {
      for (const auto& m : sm.metrics()) {
        const auto& p = m.has_sum() ? m.sum().data_points(0) : m.gauge().data_points(0);
        seen.emplace_back(m.name(), p.time_unix_nano());
      }
    }
  }
  const uint64_t flush = kFlush * 1000000000ULL, ts = kTs * 1000000000ULL;
  const std::vector<std::pair<std::string, uint64_t>> want = {
      {"c", flush}, {"c.count", flush}, {"g", flush}, {"c", ts}, {"c.count", ts}, {"g", ts}};
  EXPECT_EQ(seen, want);
}

TEST(TimestampedFormatTest, FoldTimedAddsCountersAndKeepsTheNewerGauge) {
  const snapshot::FlushSnapshot s = Snapshot();
  const auto f = snapshot::FoldTimed(s);
  EXPECT_FALSE(f->has_timed());
  ASSERT_EQ(f->counters.size(), 1u);
  EXPECT_EQ(f->counters[0].value, 7);
  EXPECT_DOUBLE_EQ(f->counters[0].per_second, 0.7);
  ASSERT_EQ(f->gauges.size(), 1u);
  EXPECT_EQ(f->gauges[0].value, 1);  // received at the flush: newer than the timestamp
  EXPECT_TRUE(s.has_timed());        // the original is left as it was
  EXPECT_EQ(s.counters[0].value, 4);
}

TEST(TimestampedFormatTest, FoldTimedCreatesWhatTheIntervalLacks) {
  snapshot::FlushSnapshot s;
  s.flush_time_ns = kFlush * 1000000000LL;
  s.flush_seconds = 10;
  s.gauges.push_back({Key(MetricType::kGauge, "old"), 5, (kTs - 600) * 1000000000LL});
  s.timed_counters.push_back({Key(MetricType::kCounter, "only", "x:y"), 2, 0.2, kTs});
  s.timed_counters.push_back({Key(MetricType::kCounter, "only", "x:y"), 3, 0.3, kTs + 1});
  s.timed_gauges.push_back({Key(MetricType::kGauge, "old"), 6, kTs});
  s.timed_gauges.push_back({Key(MetricType::kGauge, "new"), 8, kTs});
  s.timed_gauges.push_back({Key(MetricType::kGauge, "new"), 7, kTs + 1});  // the newest
  const auto f = snapshot::FoldTimed(s);
  ASSERT_EQ(f->counters.size(), 1u);
  EXPECT_EQ(f->counters[0].key->name(), "only");
  EXPECT_EQ(f->counters[0].key->tags(), "x:y");
  EXPECT_EQ(f->counters[0].value, 5);
  EXPECT_DOUBLE_EQ(f->counters[0].per_second, 0.5);
  ASSERT_EQ(f->gauges.size(), 2u);
  EXPECT_EQ(f->gauges[0].key->name(), "old");
  EXPECT_EQ(f->gauges[0].value, 6);  // the timestamp is newer than its last receive
  EXPECT_EQ(f->gauges[0].last_ns, kTs * 1000000000LL);
  EXPECT_EQ(f->gauges[1].key->name(), "new");
  EXPECT_EQ(f->gauges[1].value, 7);
}

TEST(TimestampedFormatTest, FoldTimedAddsToTheFloatCountWithFloatCounters) {
  snapshot::FlushSnapshot s = Snapshot();
  s.float_counters = true;
  s.counters[0].float_value = 4.5;
  s.timed_counters.push_back({Key(MetricType::kCounter, "new"), 2, 0.2, kTs});
  const auto f = snapshot::FoldTimed(s);
  ASSERT_EQ(f->counters.size(), 2u);
  EXPECT_DOUBLE_EQ(f->Count(f->counters[0]), 7.5);
  EXPECT_DOUBLE_EQ(f->counters[0].per_second, 0.75);
  EXPECT_DOUBLE_EQ(f->Count(f->counters[1]), 2);
}

}  // namespace
}  // namespace cstatsd::backends
