// OTLP payloads of the otlp backend (docs/backends.md#otlp): the counter pair, gauges, sets, timers
// as gauges and as DELTA histograms, attributes (host from the source, repeated keys as arrays),
// resource grouping, batching, and events as log records.
#include "backends/otlp/otlp_format.h"

#include <gtest/gtest.h>

#include <limits>

#include "aggregate/aggregator.h"
#include "pipeline/pipeline.h"
#include "unit/support/series.h"

namespace cstatsd::backends::otlp {
namespace {

using test::Key;

constexpr int64_t kNow = 1700000000LL * 1000000000;

snapshot::FlushSnapshot Snapshot() {
  snapshot::FlushSnapshot s;
  s.flush_time_ns = kNow;
  return s;
}

std::string Str(const ::otlp::KeyValue& kv) { return kv.value().string_value(); }

TEST(OtlpFormatTest, CounterIsARateGaugeAndADeltaSum) {
  auto s = Snapshot();
  s.counters.push_back({Key(MetricType::kCounter, "req", "env:prod", "10.0.0.1"), 5, 0.5});
  FormatOptions o;
  o.scope_version = "1.2.3";
  auto reqs = FormatMetrics(s, o, 1000);
  ASSERT_EQ(reqs.size(), 1u);
  ASSERT_EQ(reqs[0].resource_metrics_size(), 1);
  const auto& scope = reqs[0].resource_metrics(0).scope_metrics(0);
  EXPECT_EQ(scope.scope().name(), "gostatsd/aggregation");
  EXPECT_EQ(scope.scope().version(), "1.2.3");
  ASSERT_EQ(scope.metrics_size(), 2);
  const auto& rate = scope.metrics(0);
  EXPECT_EQ(rate.name(), "req");
  ASSERT_TRUE(rate.has_gauge());
  EXPECT_EQ(rate.gauge().data_points(0).as_double(), 0.5);
  EXPECT_EQ(rate.gauge().data_points(0).time_unix_nano(), static_cast<uint64_t>(kNow));
  const auto& attrs = rate.gauge().data_points(0).attributes();
  ASSERT_EQ(attrs.size(), 2);
  EXPECT_EQ(attrs[0].key(), "env");
  EXPECT_EQ(Str(attrs[0]), "prod");
  EXPECT_EQ(attrs[1].key(), "host");  // from the source
  EXPECT_EQ(Str(attrs[1]), "10.0.0.1");
  const auto& count = scope.metrics(1);
  EXPECT_EQ(count.name(), "req.count");
  ASSERT_TRUE(count.has_sum());
  EXPECT_EQ(count.sum().aggregation_temporality(), ::otlp::AGGREGATION_TEMPORALITY_DELTA);
  EXPECT_FALSE(count.sum().is_monotonic());
  EXPECT_EQ(count.sum().data_points(0).as_int(), 5);
}

TEST(OtlpFormatTest, RepeatedKeysBecomeArraysAndBareTagsEmptyStrings) {
  auto s = Snapshot();
  s.gauges.push_back({Key(MetricType::kGauge, "g", "canary,host:a,team:x,team:b"), 1});
  auto reqs = FormatMetrics(s, {}, 1000);
  const auto& attrs =
      reqs[0].resource_metrics(0).scope_metrics(0).metrics(0).gauge().data_points(0).attributes();
  ASSERT_EQ(attrs.size(), 3);
  EXPECT_EQ(attrs[0].key(), "canary");
  EXPECT_EQ(Str(attrs[0]), "");
  EXPECT_EQ(attrs[1].key(), "host");  // a host tag wins over the source
  EXPECT_EQ(attrs[2].key(), "team");
  ASSERT_TRUE(attrs[2].value().has_array_value());
  EXPECT_EQ(attrs[2].value().array_value().values(0).string_value(), "b");
  EXPECT_EQ(attrs[2].value().array_value().values(1).string_value(), "x");
}

TEST(OtlpFormatTest, ResourceKeysGroupSeriesPerResource) {
  auto s = Snapshot();
  s.gauges.push_back({Key(MetricType::kGauge, "a", "env:prod,service:api"), 1});
  s.gauges.push_back({Key(MetricType::kGauge, "b", "env:dev,service:api"), 2});
  s.gauges.push_back({Key(MetricType::kGauge, "c", "env:prod,service:web"), 3});
  s.sets.push_back({Key(MetricType::kSet, "u", "service:api"), 4});
  FormatOptions o;
  o.resource_keys = {"service"};
  auto reqs = FormatMetrics(s, o, 1000);
  ASSERT_EQ(reqs.size(), 1u);
  ASSERT_EQ(reqs[0].resource_metrics_size(), 2);
  const auto& api = reqs[0].resource_metrics(0);
  EXPECT_EQ(Str(api.resource().attributes(0)), "api");
  ASSERT_EQ(api.scope_metrics(0).metrics_size(), 3);  // a, b and the set
  EXPECT_EQ(api.scope_metrics(0).metrics(2).gauge().data_points(0).as_int(), 4);
  EXPECT_EQ(Str(reqs[0].resource_metrics(1).resource().attributes(0)), "web");
  // The resource key is not repeated as a data point attribute.
  EXPECT_EQ(api.scope_metrics(0).metrics(0).gauge().data_points(0).attributes_size(), 1);
}

TEST(OtlpFormatTest, TimersAsGaugesWithTheirOwnDisabledAggregations) {
  auto s = Snapshot();
  auto names =
      std::make_shared<std::vector<std::string>>(std::vector<std::string>{"upper_90", "count_90"});
  s.percentile_names = names;
  s.percentiles = {{(*names)[0], 9}, {(*names)[1], 3}};
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "lat");
  t.count = 4;
  t.min = 1;
  t.max = 10;
  t.percentiles_end = 2;
  s.timers.push_back(t);
  FormatOptions o;
  o.disabled.mean = o.disabled.median = o.disabled.stddev = o.disabled.sum = true;
  o.disabled.sum_squares = o.disabled.count_per_second = o.disabled.count_pct = true;
  auto reqs = FormatMetrics(s, o, 1000);
  const auto& ms = reqs[0].resource_metrics(0).scope_metrics(0).metrics();
  std::vector<std::string> got;
  for (const auto& m : ms) got.push_back(m.name());
  EXPECT_EQ(got, (std::vector<std::string>{"lat.lower", "lat.upper", "lat.count", "lat.upper_90"}));
  EXPECT_EQ(ms[2].gauge().data_points(0).as_int(), 4);
  EXPECT_EQ(ms[3].gauge().data_points(0).as_double(), 9);
}

TEST(OtlpFormatTest, TimersAsDeltaHistograms) {
  auto s = Snapshot();
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, "lat", "gsd_histogram:10_20");
  h.histogram = true;
  h.count = 5;
  h.sum = 70;
  h.min = 2;
  h.max = 30;
  s.buckets = {{10, 2}, {20, 4}, {std::numeric_limits<double>::infinity(), 5}};
  h.buckets_end = 3;
  s.timers.push_back(h);
  snapshot::TimerPoint idle;
  idle.key = Key(MetricType::kTimer, "idle");
  s.timers.push_back(idle);
  FormatOptions o;
  o.as_histogram = true;
  auto reqs = FormatMetrics(s, o, 1000);
  const auto& ms = reqs[0].resource_metrics(0).scope_metrics(0).metrics();
  ASSERT_EQ(ms.size(), 2);
  ASSERT_TRUE(ms[0].has_histogram());
  EXPECT_EQ(ms[0].histogram().aggregation_temporality(), ::otlp::AGGREGATION_TEMPORALITY_DELTA);
  const auto& p = ms[0].histogram().data_points(0);
  EXPECT_EQ(p.count(), 5u);
  EXPECT_EQ(p.sum(), 70);
  EXPECT_EQ(p.min(), 2);
  EXPECT_EQ(p.max(), 30);
  EXPECT_EQ(std::vector<double>(p.explicit_bounds().begin(), p.explicit_bounds().end()),
            (std::vector<double>{10, 20}));
  EXPECT_EQ(std::vector<uint64_t>(p.bucket_counts().begin(), p.bucket_counts().end()),
            (std::vector<uint64_t>{2, 2, 1}));
  const auto& q = ms[1].histogram().data_points(0);  // idle: no crash, no min/max
  EXPECT_EQ(q.count(), 0u);
  EXPECT_FALSE(q.has_min());
}

// gostatsd's AsHistogram takes count, sum, min and max from the values received
// (len(t.Values)), not the sample-rate-scaled count: three values at @0.5 count 3, not 6.
TEST(OtlpFormatTest, AsHistogramCountsTheValuesOfASampledTimer) {
  pipeline::PipelineOptions pipeline_options;
  pipeline::Pipeline pipeline(&pipeline_options);
  MetricMap map;
  for (double v : {30.0, 10.0, 20.0}) {  // lat:<v>|ms|@0.5, three lines
    ParsedMetric m;
    m.type = MetricType::kTimer;
    m.name = "lat";
    m.values = {v};
    m.rate = 0.5;
    pipeline.Receive(m, "", kNow, map);
  }
  aggregate::AggregatorOptions ao;
  ao.keep_raw_values = true;  // what otlp::OtlpBackend::WantsRawValues asks for with AsHistogram
  aggregate::Aggregator agg(ao);
  agg.Merge(map);
  auto snap = agg.Flush(kNow, 10);
  ASSERT_EQ(snap->timers.size(), 1u);
  ASSERT_EQ(snap->timers[0].count, 6);  // round(SampledCount): what the AsGauge `.count` sends
  FormatOptions o;
  o.as_histogram = true;
  auto reqs = FormatMetrics(*snap, o, 1000);
  const auto& ms = reqs[0].resource_metrics(0).scope_metrics(0).metrics();
  ASSERT_EQ(ms.size(), 1);
  EXPECT_EQ(ms[0].name(), "lat");
  ASSERT_TRUE(ms[0].has_histogram());
  const auto& p = ms[0].histogram().data_points(0);
  EXPECT_EQ(p.count(), 3u);
  EXPECT_EQ(p.sum(), 60);
  EXPECT_EQ(p.min(), 10);
  EXPECT_EQ(p.max(), 30);
  EXPECT_EQ(p.time_unix_nano(), static_cast<uint64_t>(kNow));
  EXPECT_EQ(p.bucket_counts_size(), 0);  // no gsd_histogram tag: no buckets
}

TEST(OtlpFormatTest, AsHistogramIdleTimerWithRawValuesHasNoMinMax) {
  auto s = Snapshot();
  s.has_raw_values = true;
  snapshot::TimerPoint idle;
  idle.key = Key(MetricType::kTimer, "idle");
  s.timers.push_back(idle);
  FormatOptions o;
  o.as_histogram = true;
  auto reqs = FormatMetrics(s, o, 1000);
  const auto& p =
      reqs[0].resource_metrics(0).scope_metrics(0).metrics(0).histogram().data_points(0);
  EXPECT_EQ(p.count(), 0u);
  EXPECT_EQ(p.sum(), 0);
  EXPECT_FALSE(p.has_min());
  EXPECT_FALSE(p.has_max());
}

TEST(OtlpFormatTest, HistogramTimerAsGaugesCarriesLe) {
  auto s = Snapshot();
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, "lat", "gsd_histogram:10");
  h.histogram = true;
  s.buckets = {{10, 2}, {std::numeric_limits<double>::infinity(), 5}};
  h.buckets_end = 2;
  s.timers.push_back(h);
  auto reqs = FormatMetrics(s, {}, 1000);
  const auto& ms = reqs[0].resource_metrics(0).scope_metrics(0).metrics();
  ASSERT_EQ(ms.size(), 2);
  EXPECT_EQ(ms[1].name(), "lat.histogram");
  const auto& attrs = ms[1].gauge().data_points(0).attributes();
  EXPECT_EQ(attrs[1].key(), "le");
  EXPECT_EQ(Str(attrs[1]), "+Inf");
  EXPECT_EQ(ms[1].gauge().data_points(0).as_int(), 5);
}

TEST(OtlpFormatTest, InvalidUtf8BecomesReplacementCharacters) {
  auto s = Snapshot();
  s.gauges.push_back({Key(MetricType::kGauge, "g\xff", "k\xc3:v\xe2\x82"), 1});
  auto reqs = FormatMetrics(s, {}, 1000);
  const auto& m = reqs[0].resource_metrics(0).scope_metrics(0).metrics(0);
  EXPECT_EQ(m.name(), "g\xef\xbf\xbd");
  const auto& kv = m.gauge().data_points(0).attributes(0);
  EXPECT_EQ(kv.key(), "k\xef\xbf\xbd");
  EXPECT_EQ(Str(kv), "v\xef\xbf\xbd");
  std::string wire;
  EXPECT_TRUE(reqs[0].SerializeToString(&wire));
  ::otlp::ExportMetricsServiceRequest back;
  EXPECT_TRUE(back.ParseFromString(wire));  // a receiver can parse it
}

TEST(OtlpFormatTest, BatchesOfMetricsPerBatch) {
  auto s = Snapshot();
  for (int i = 0; i < 5; ++i) {
    s.gauges.push_back({Key(MetricType::kGauge, "g" + std::to_string(i)), 1});
  }
  auto reqs = FormatMetrics(s, {}, 2);
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].resource_metrics(0).scope_metrics(0).metrics_size(), 2);
  EXPECT_EQ(reqs[2].resource_metrics(0).scope_metrics(0).metrics_size(), 1);
  EXPECT_EQ(reqs[2].resource_metrics(0).scope_metrics(0).metrics(0).name(), "g4");
}

TEST(OtlpFormatTest, EventIsALogRecord) {
  Event e;
  e.title = "deploy";
  e.text = "v2";
  e.source = "10.0.0.1";
  e.tags = {"env:prod", "service:api"};
  e.alert_type = EventAlertType::kWarning;
  FormatOptions o;
  o.resource_keys = {"service"};
  auto req = FormatEvent(e, o, kNow);
  const auto& rl = req.resource_logs(0);
  EXPECT_EQ(Str(rl.resource().attributes(0)), "api");
  const auto& r = rl.scope_logs(0).log_records(0);
  EXPECT_EQ(r.time_unix_nano(), static_cast<uint64_t>(kNow));  // no date: now
  std::map<std::string, std::string> a;
  for (const auto& kv : r.attributes()) a[kv.key()] = kv.value().string_value();
  EXPECT_EQ(a["title"], "deploy");
  EXPECT_EQ(a["source"], "10.0.0.1");
  EXPECT_EQ(a["alert_type"], "warning");
  EXPECT_EQ(a["priority"], "normal");
  const auto& tags = r.attributes(r.attributes_size() - 1);
  EXPECT_EQ(tags.key(), "tags");
  ASSERT_EQ(tags.value().kvlist_value().values_size(), 1);
  EXPECT_EQ(tags.value().kvlist_value().values(0).key(), "env");
  e.date_happened = 100;
  EXPECT_EQ(FormatEvent(e, o, kNow).resource_logs(0).scope_logs(0).log_records(0).time_unix_nano(),
            100000000000u);
}

}  // namespace
}  // namespace cstatsd::backends::otlp
