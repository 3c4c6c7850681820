// Golden output of the influxdb line protocol (docs/backends.md#influxdb): the documented examples,
// tag folding and escaping, disabled sub-metrics, histogram timers, batching and events.
#include "backends/influxdb/influxdb_format.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "unit/support/series.h"

namespace cstatsd::backends::influxdb {
namespace {

using test::Key;

std::vector<std::string> Batches(const snapshot::FlushSnapshot& s, size_t per_batch = 5000,
                                 const config::DisabledSubMetrics& d = {}) {
  std::vector<std::string> out;
  FormatMetrics(s, d, 1, per_batch, [&](std::string&& lines, size_t) { out.push_back(lines); });
  return out;
}

snapshot::FlushSnapshot SpecSnapshot() {
  snapshot::FlushSnapshot s;
  s.counters.push_back({Key(MetricType::kCounter, "c1", "tag1", "h1"), 5, 1.1});
  s.gauges.push_back({Key(MetricType::kGauge, "g1", "tag3"), 3});
  auto names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"count_90"});
  s.percentile_names = names;
  s.percentiles.push_back({(*names)[0], 0.1});
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "t1", "tag2");
  t.min = 0;
  t.max = 1;
  t.count = 1;
  t.count_per_second = 1.1;
  t.mean = 0.5;
  t.median = 0.5;
  t.stddev = 0.1;
  t.sum = 1;
  t.sum_squares = 1;
  t.percentiles_end = 1;
  s.timers.push_back(t);
  return s;
}

TEST(InfluxdbFormatTest, SpecExamples) {
  EXPECT_EQ(Batches(SpecSnapshot()),
            std::vector<std::string>{
                "c1,unnamed=tag1 count=5,rate=1.1 1\n"
                "t1,unnamed=tag2 lower=0,upper=1,count=1,rate=1.1,mean=0.5,median=0.5,"
                "stddev=0.1,sum=1,sum_squares=1,count_90=0.1 1\n"
                "g1,unnamed=tag3 value=3 1\n"});
}

TEST(InfluxdbFormatTest, TagsFoldedSortedAndEscaped) {
  std::string out;
  // Pipeline order (sorted tags); bare tags join `unnamed:` ones, values of a key joined by __.
  AppendNameTags(out, "my metric,x", "foo,key:bar,key:thing,other:a=b c,unnamed:baz");
  EXPECT_EQ(out, "my\\ metric\\,x,key=bar__thing,other=a\\=b\\ c,unnamed=baz__foo ");
  out.clear();
  AppendNameTags(out, "a\tb\nc=d\\", "");
  EXPECT_EQ(out, "a\\tb\\nc=d\\\\ ");
}

TEST(InfluxdbFormatTest, GaugesSetsAndGFormatting) {
  snapshot::FlushSnapshot s;
  s.gauges.push_back({Key(MetricType::kGauge, "big"), 1234567});
  s.gauges.push_back({Key(MetricType::kGauge, "small"), 0.00001});
  s.sets.push_back({Key(MetricType::kSet, "users", "env:prod"), 42});
  EXPECT_EQ(Batches(s), std::vector<std::string>{"big value=1.234567e+06 1\n"
                                                 "small value=1e-05 1\n"
                                                 "users,env=prod count=42 1\n"});
}

TEST(InfluxdbFormatTest, DisabledSubMetricsAreOmittedAndAllDisabledMeansNoLine) {
  auto s = SpecSnapshot();
  s.counters.clear();
  s.gauges.clear();
  s.percentiles.clear();
  s.timers[0].percentiles_end = 0;
  config::DisabledSubMetrics d;
  d.lower = d.count_per_second = d.stddev = d.sum_squares = true;
  EXPECT_EQ(
      Batches(s, 10, d),
      std::vector<std::string>{"t1,unnamed=tag2 upper=1,count=1,mean=0.5,median=0.5,sum=1 1\n"});
  d.upper = d.count = d.mean = d.median = d.sum = true;
  EXPECT_TRUE(Batches(s, 10, d).empty());
}

TEST(InfluxdbFormatTest, HistogramTimerIsOneLineOfBuckets) {
  snapshot::FlushSnapshot s;
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, "lat", "gsd_histogram:2.5_10");
  h.histogram = true;
  s.buckets = {{2.5, 1}, {10, 3}, {std::numeric_limits<double>::infinity(), 4}};
  h.buckets_end = 3;
  s.timers.push_back(h);
  EXPECT_EQ(Batches(s),
            std::vector<std::string>{"lat,gsd_histogram=2.5_10 le.2.5=1,le.10=3,le.+Inf=4 1\n"});
}

TEST(InfluxdbFormatTest, BatchesHoldAtMostMetricsPerBatchLines) {
  snapshot::FlushSnapshot s;
  for (int i = 0; i < 7; ++i) {
    s.counters.push_back({Key(MetricType::kCounter, "c" + std::to_string(i)), i, 0});
  }
  std::vector<size_t> sizes;
  size_t total = FormatMetrics(s, {}, 9, 3, [&](std::string&& lines, size_t n) {
    EXPECT_EQ(static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n')), n);
    sizes.push_back(n);
  });
  EXPECT_EQ(total, 7u);
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 1}));
}

TEST(InfluxdbFormatTest, SpecEventExample) {
  Event e;
  e.title = "test-title";
  e.text = "test-text";
  e.date_happened = 100;
  e.source = "test-source";
  e.source_type_name = "test-sourcename";
  EXPECT_EQ(FormatEvent(e),
            "events,alerttype=info,host=test-source,priority=normal,sourcetypename=test-sourcename "
            "title=\"test-title\",text=\"test-text\" 100\n");
}

TEST(InfluxdbFormatTest, EventTagsHostAndQuoting) {
  Event e;
  e.title = "say \"hi\"";
  e.text = "back\\slash";
  e.date_happened = 7;
  e.source = "10.0.0.1";
  e.tags = {"host:web1", "eventtags:a", "eventtags2:b", "env:prod"};
  e.priority = EventPriority::kLow;
  e.alert_type = EventAlertType::kError;
  EXPECT_EQ(FormatEvent(e),
            "events,alerttype=error,env=prod,host=web1,priority=low "
            "title=\"say \\\"hi\\\"\",text=\"back\\\\slash\",tags=\"a,b\" 7\n");
}

}  // namespace
}  // namespace cstatsd::backends::influxdb
