// float-counters in every backend's counter output (docs/aggregation.md#float-counters): the
// count keeps its fraction where a backend writes the count; the rate is a float either way.
// Off, each encoder writes the integer exactly as before.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/cloudwatch/cloudwatch_format.h"
#include "backends/datadog/datadog_format.h"
#include "backends/graphite/graphite_backend.h"
#include "backends/influxdb/influxdb_format.h"
#include "backends/newrelic/newrelic_format.h"
#include "backends/otlp/otlp_format.h"
#include "backends/statsdaemon/statsdaemon_backend.h"
#include "backends/stdout/stdout_backend.h"
#include "snapshot/timed_fold.h"
#include "unit/support/series.h"

namespace cstatsd::backends {
namespace {

using test::Key;

// One counter of 3.5 over 10 s; off, the aggregator's integer 3 (float_value unset).
snapshot::FlushSnapshot Snapshot(bool float_counters) {
  snapshot::FlushSnapshot s;
  s.flush_time_ns = 1234LL * 1000000000;
  s.flush_seconds = 10;
  s.float_counters = float_counters;
  snapshot::CounterPoint c{Key(MetricType::kCounter, "c"), 3, 0.35};
  if (float_counters) c.float_value = 3.5;
  s.counters.push_back(c);
  return s;
}

bool Has(const std::string& out, const std::string& part) {
  return out.find(part) != std::string::npos;
}

TEST(FloatCountersFormatTest, Stdout) {
  std::string on, off;
  stdout::StdoutBackend::Format(Snapshot(true), {}, on);
  stdout::StdoutBackend::Format(Snapshot(false), {}, off);
  EXPECT_TRUE(Has(on, "stats.counter.c.count 3.500000 1234\n")) << on;
  EXPECT_TRUE(Has(off, "stats.counter.c.count 3 1234\n")) << off;
  EXPECT_TRUE(Has(on, "stats.counter.c.per_second 0.350000 1234\n")) << on;
}

TEST(FloatCountersFormatTest, Graphite) {
  for (const char* mode : {"tags", "legacy"}) {
    graphite::GraphiteOptions o;
    o.mode = mode;
    std::string on, off;
    graphite::GraphiteBackend::Format(Snapshot(true), o, on);
    graphite::GraphiteBackend::Format(Snapshot(false), o, off);
    EXPECT_TRUE(Has(on, " 3.500000 1234\n")) << mode << "\n" << on;
    EXPECT_TRUE(Has(off, " 3 1234\n")) << mode << "\n" << off;
    EXPECT_FALSE(Has(off, " 3.500000 ")) << mode;
  }
}

TEST(FloatCountersFormatTest, Influxdb) {
  std::string on, off;
  influxdb::FormatMetrics(Snapshot(true), {}, 1, 100, [&](std::string&& b, size_t) { on += b; });
  influxdb::FormatMetrics(Snapshot(false), {}, 1, 100, [&](std::string&& b, size_t) { off += b; });
  EXPECT_TRUE(Has(on, "c count=3.5,rate=0.35 ")) << on;
  EXPECT_TRUE(Has(off, "c count=3,rate=0.35 ")) << off;
}

TEST(FloatCountersFormatTest, Datadog) {
  std::string on, off;
  datadog::FormatSeries(Snapshot(true), {}, 100, 10, 100,
                        [&](std::string&& b, size_t) { on += b; });
  datadog::FormatSeries(Snapshot(false), {}, 100, 10, 100,
                        [&](std::string&& b, size_t) { off += b; });
  EXPECT_TRUE(Has(on, R"("metric":"c.count","points":[[100,3.5]])")) << on;
  EXPECT_TRUE(Has(off, R"("metric":"c.count","points":[[100,3]])")) << off;
}

TEST(FloatCountersFormatTest, Cloudwatch) {
  const auto on = cloudwatch::FormatRequests(Snapshot(true), {}, "StatsD", 1440938160);
  const auto off = cloudwatch::FormatRequests(Snapshot(false), {}, "StatsD", 1440938160);
  ASSERT_EQ(on.requests.size(), 1u);
  ASSERT_EQ(off.requests.size(), 1u);
  EXPECT_TRUE(Has(on.requests[0], "MetricName=stats.counter.c.count")) << on.requests[0];
  EXPECT_TRUE(Has(on.requests[0], "Value=3.5")) << on.requests[0];
  EXPECT_TRUE(Has(off.requests[0], "Value=3&")) << off.requests[0];
}

TEST(FloatCountersFormatTest, Newrelic) {
  std::string on, off;
  newrelic::FormatMetrics(Snapshot(true), {}, 100, 100, [&](std::string&& b, size_t) { on += b; });
  newrelic::FormatMetrics(Snapshot(false), {}, 100, 100,
                          [&](std::string&& b, size_t) { off += b; });
  EXPECT_TRUE(Has(on, R"("type":"counter","value":3.5)")) << on;
  EXPECT_TRUE(Has(off, R"("type":"counter","value":3)")) << off;
  EXPECT_FALSE(Has(off, "3.5")) << off;
}

TEST(FloatCountersFormatTest, Otlp) {
  for (bool f : {true, false}) {
    auto reqs = otlp::FormatMetrics(Snapshot(f), {}, 1000);
    ASSERT_EQ(reqs.size(), 1u);
    const auto& scope = reqs[0].resource_metrics(0).scope_metrics(0);
    ASSERT_EQ(scope.metrics_size(), 2);
    const auto& point = scope.metrics(1).sum().data_points(0);
    EXPECT_EQ(scope.metrics(1).name(), "c.count");
    if (f) {
      EXPECT_TRUE(point.has_as_double());
      EXPECT_EQ(point.as_double(), 3.5);
    } else {
      EXPECT_TRUE(point.has_as_int());
      EXPECT_EQ(point.as_int(), 3);
    }
  }
}

TEST(FloatCountersFormatTest, Statsdaemon) {
  const auto on = statsdaemon::StatsdaemonBackend::FormatPackets(Snapshot(true), false, 1472);
  const auto off = statsdaemon::StatsdaemonBackend::FormatPackets(Snapshot(false), false, 1472);
  ASSERT_EQ(on.size(), 1u);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_TRUE(Has(on[0], "c:3.5|c")) << on[0];
  EXPECT_TRUE(Has(off[0], "c:3|c")) << off[0];
}

TEST(FloatCountersFormatTest, TimestampedCountersFoldIntoTheFloatCount) {
  // FoldTimed (docs/aggregation.md#timestamped-samples): a timestamped counter point, an integer,
  // adds to the count backends read, float_value with float-counters.
  snapshot::FlushSnapshot s = Snapshot(true);  // c = 3.5 over 10 s
  s.timed_counters.push_back({Key(MetricType::kCounter, "c"), 3, 0.3, 1000});
  s.timed_counters.push_back({Key(MetricType::kCounter, "only"), 2, 0.2, 1000});
  const auto f = snapshot::FoldTimed(s);
  ASSERT_EQ(f->counters.size(), 2u);
  EXPECT_EQ(f->counters[0].float_value, 6.5);
  EXPECT_EQ(f->counters[0].value, 6);
  EXPECT_DOUBLE_EQ(f->counters[0].per_second, 0.65);
  EXPECT_EQ(f->counters[1].key->name(), "only");
  EXPECT_EQ(f->Count(f->counters[1]), 2.0);
}

}  // namespace
}  // namespace cstatsd::backends
