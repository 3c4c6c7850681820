// The stdout backend's lines (docs/backends.md#stdout and docs/compatibility.md#decision-9), from
// snapshots built by the aggregator.
#include "backends/stdout/stdout_backend.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "aggregate/aggregator.h"
#include "pipeline/pipeline.h"

namespace cstatsd::backends::stdout {
namespace {

constexpr int64_t kSecond = 1000000000;

class StdoutBackendTest : public ::testing::Test {
 protected:
  void Add(MetricType type, std::string_view name, std::vector<double> values,
           std::vector<std::string_view> tags = {}, std::string_view source = "",
           std::string_view set_value = {}) {
    ParsedMetric m;
    m.type = type;
    m.name = name;
    m.values = std::move(values);
    m.tags = std::move(tags);
    m.set_value = set_value;
    pipeline_.Receive(m, source, 1700000000 * kSecond, map_);
  }
  std::string Flush(double seconds = 2) {
    aggregate::Aggregator agg(options_);
    agg.Merge(map_);
    auto snap = agg.Flush(1700000000 * kSecond, seconds);
    std::string out;
    StdoutBackend::Format(*snap, disabled_, out);
    return out;
  }

  pipeline::PipelineOptions popts_;
  pipeline::Pipeline pipeline_{&popts_};
  MetricMap map_;
  aggregate::AggregatorOptions options_;
  config::DisabledSubMetrics disabled_;
};

TEST_F(StdoutBackendTest, CounterWithoutTagsOrSource) {
  Add(MetricType::kCounter, "foo", {5});
  EXPECT_EQ(Flush(),
            "stats.counter.foo.count 5 1700000000\n"
            "stats.counter.foo.per_second 2.500000 1700000000\n");
}

TEST_F(StdoutBackendTest, NamesCarryTagsAndSource) {
  Add(MetricType::kGauge, "g", {1.5}, {"z", "a:b"}, "10.0.0.1");
  EXPECT_EQ(Flush(), "stats.gauge.g.a.b.z.s.10.0.0.1 1.500000 1700000000\n");
}

TEST_F(StdoutBackendTest, SourceWithoutTagsHasNoEmptyElement) {
  Add(MetricType::kSet, "users", {}, {}, "127.0.0.1", "joe");
  Add(MetricType::kSet, "users", {}, {}, "127.0.0.1", "bob");
  EXPECT_EQ(Flush(), "stats.set.users.s.127.0.0.1 2 1700000000\n");
}

TEST_F(StdoutBackendTest, TimerSubMetricsInOrder) {
  Add(MetricType::kTimer, "t", {2});
  Add(MetricType::kTimer, "t", {4});
  Add(MetricType::kTimer, "t", {12});
  EXPECT_EQ(Flush(10),
            "stats.timers.t.lower 2.000000 1700000000\n"
            "stats.timers.t.upper 12.000000 1700000000\n"
            "stats.timers.t.count 3 1700000000\n"
            "stats.timers.t.count_ps 0.300000 1700000000\n"
            "stats.timers.t.mean 6.000000 1700000000\n"
            "stats.timers.t.median 4.000000 1700000000\n"
            "stats.timers.t.std 4.320494 1700000000\n"
            "stats.timers.t.sum 18.000000 1700000000\n"
            "stats.timers.t.sum_squares 164.000000 1700000000\n"
            "stats.timers.t.count_90 3.000000 1700000000\n"
            "stats.timers.t.mean_90 6.000000 1700000000\n"
            "stats.timers.t.sum_90 18.000000 1700000000\n"
            "stats.timers.t.sum_squares_90 164.000000 1700000000\n"
            "stats.timers.t.upper_90 12.000000 1700000000\n");
}

TEST_F(StdoutBackendTest, DisabledBaseSubMetrics) {
  disabled_.lower = disabled_.upper = disabled_.count_per_second = disabled_.mean = true;
  disabled_.median = disabled_.stddev = disabled_.sum = disabled_.sum_squares = true;
  options_.percent_thresholds.clear();
  Add(MetricType::kTimer, "t", {1});
  EXPECT_EQ(Flush(), "stats.timers.t.count 1 1700000000\n");
}

TEST_F(StdoutBackendTest, HistogramPrintsOnlyBuckets) {
  Add(MetricType::kTimer, "h", {1, 30}, {"gsd_histogram:2.5_20"});
  EXPECT_EQ(Flush(),
            "stats.timers.h.gsd_histogram.2.5_20.histogram.le:2.5 1 1700000000\n"
            "stats.timers.h.gsd_histogram.2.5_20.histogram.le:20 1 1700000000\n"
            "stats.timers.h.gsd_histogram.2.5_20.histogram.le:+Inf 2 1700000000\n");
}

TEST_F(StdoutBackendTest, EventLine) {
  Event e;
  e.title = "deploy";
  e.text = "done";
  e.date_happened = 123;
  e.tags = {"a", "b:c"};
  e.source = "127.0.0.1";
  e.priority = EventPriority::kLow;
  e.alert_type = EventAlertType::kWarning;
  std::string out;
  StdoutBackend::FormatEvent(e, out);
  EXPECT_EQ(out,
            "event: {Title:deploy Text:done DateHappened:123 AggregationKey: SourceTypeName: "
            "Tags:[a b:c] Source:127.0.0.1 Priority:low AlertType:warning}\n");
}

TEST_F(StdoutBackendTest, WritesAndFlushesToItsFile) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  StdoutBackend b(disabled_, f);
  Add(MetricType::kCounter, "foo", {1});
  aggregate::Aggregator agg(options_);
  agg.Merge(map_);
  ASSERT_TRUE(b.SendMetrics(*agg.Flush(1700000000 * kSecond, 1)).ok());
  std::rewind(f);
  char buf[256] = {0};
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  EXPECT_EQ(std::string(buf, n),
            "stats.counter.foo.count 1 1700000000\nstats.counter.foo.per_second 1.000000 "
            "1700000000\n");
}

}  // namespace
}  // namespace cstatsd::backends::stdout
