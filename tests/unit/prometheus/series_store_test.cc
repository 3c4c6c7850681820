// The cumulative series store (docs/prometheus.md#exposition): known snapshots in, exact
// expositions out. Counters add up across flushes, gauges and sets take the interval's value,
// ms timers become seconds, sample rates weigh the values, series expire, a name keeps its first
// type, tags become labels.
#include "prometheus/series_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/support/series.h"

namespace cstatsd::prometheus {
namespace {

using snapshot::FlushSnapshot;
using test::Key;

constexpr int64_t kSecond = 1000000000;

// A snapshot at `t` seconds, built by the helpers below.
struct Snap {
  FlushSnapshot s;
  explicit Snap(int64_t t) {
    s.flush_time_ns = t * kSecond;
    s.flush_seconds = 10;
    s.has_raw_values = true;
  }
  Snap& Counter(std::string_view name, int64_t v, std::string_view tags = "",
                std::string_view source = "") {
    s.counters.push_back({Key(MetricType::kCounter, name, tags, source), v, 0});
    return *this;
  }
  Snap& Gauge(std::string_view name, double v, std::string_view tags = "", int64_t last_s = 0) {
    snapshot::GaugePoint g;
    g.key = Key(MetricType::kGauge, name, tags);
    g.value = v;
    g.last_ns = last_s * kSecond;
    s.gauges.push_back(std::move(g));
    return *this;
  }
  Snap& Set(std::string_view name, uint64_t n) {
    s.sets.push_back({Key(MetricType::kSet, name), n, 0, 0});
    return *this;
  }
  // values sorted, in ms; count is the sample-rate-corrected count
  Snap& Timer(std::string_view name, std::vector<double> values, int64_t count,
              std::string_view tags = "", TimerKind kind = TimerKind::kMs) {
    snapshot::TimerPoint t;
    t.key = Key(MetricType::kTimer, name, tags);
    t.kind = kind;
    t.count = count;
    for (double v : values) t.sum += v;
    t.values_begin = static_cast<uint32_t>(s.timer_values.size());
    s.timer_values.insert(s.timer_values.end(), values.begin(), values.end());
    t.values_end = static_cast<uint32_t>(s.timer_values.size());
    s.timers.push_back(std::move(t));
    return *this;
  }
};

std::string Text(const SeriesStore& store, Format f = Format::kText) {
  std::string out;
  store.Render(f, out);
  return out;
}

StoreOptions Options() {
  StoreOptions o;
  o.help = "h";
  return o;
}

TEST(SeriesStoreTest, CountersAreCumulativeGaugesAndSetsTakeTheInterval) {
  SeriesStore store(Options(), nullptr);
  store.Update(Snap(10).Counter("app.req", 3, "env:prod").Gauge("temp", 20.5).Set("users", 4).s);
  store.Update(Snap(20).Counter("app.req", 4, "env:prod").Gauge("temp", 21).Set("users", 0).s);
  EXPECT_EQ(Text(store),
            "# HELP app_req h\n# TYPE app_req counter\napp_req{env=\"prod\"} 7\n"
            "# HELP temp h\n# TYPE temp gauge\ntemp 21\n"
            "# HELP users h\n# TYPE users gauge\nusers 0\n");
  EXPECT_EQ(store.series(), 3u);
}

TEST(SeriesStoreTest, OpenMetricsCountersGetTotal) {
  SeriesStore store(Options(), nullptr);
  store.Update(Snap(10).Counter("req", 2).Counter("done_total", 1).Gauge("g", 1).s);
  EXPECT_EQ(Text(store, Format::kOpenMetrics),
            "# HELP done h\n# TYPE done counter\ndone_total 1.0\n"
            "# HELP g h\n# TYPE g gauge\ng 1.0\n"
            "# HELP req h\n# TYPE req counter\nreq_total 2.0\n");
}

TEST(SeriesStoreTest, NegativeCountsAreIgnored) {
  SeriesStore store(Options(), nullptr);
  store.Update(Snap(10).Counter("c", 5).s);
  store.Update(Snap(20).Counter("c", -3).s);
  EXPECT_EQ(Text(store), "# HELP c h\n# TYPE c counter\nc 5\n");
  EXPECT_EQ(store.stats().negative_counts, 1u);
}

TEST(SeriesStoreTest, HistogramInSecondsWeightedBySampleRate) {
  StoreOptions o = Options();
  o.observer = ObserverType::kHistogram;
  o.buckets = {0.05, 0.1, 0.5};
  SeriesStore store(o, nullptr);
  // 100 ms and 300 ms received at @0.5: count 4, each value stands for two observations.
  store.Update(Snap(10).Timer("lat", {100, 300}, 4).s);
  EXPECT_EQ(Text(store),
            "# HELP lat h\n# TYPE lat histogram\n"
            "lat_bucket{le=\"0.05\"} 0\nlat_bucket{le=\"0.1\"} 2\nlat_bucket{le=\"0.5\"} 4\n"
            "lat_bucket{le=\"+Inf\"} 4\nlat_sum 0.8\nlat_count 4\n");
  // Cumulative across flushes; a flush without values adds nothing.
  store.Update(Snap(20).Timer("lat", {40}, 1).s);
  store.Update(Snap(30).Timer("lat", {}, 0).s);
  EXPECT_EQ(Text(store),
            "# HELP lat h\n# TYPE lat histogram\n"
            "lat_bucket{le=\"0.05\"} 1\nlat_bucket{le=\"0.1\"} 3\nlat_bucket{le=\"0.5\"} 5\n"
            "lat_bucket{le=\"+Inf\"} 5\nlat_sum 0.8400000000000001\nlat_count 5\n");
}

TEST(SeriesStoreTest, SummaryQuantilesOverTheLastInterval) {
  SeriesStore store(Options(), nullptr);  // summary by default, 0.5 0.9 0.99
  store.Update(Snap(10).Timer("t", {10, 20, 30, 40}, 4).s);
  EXPECT_EQ(Text(store),
            "# HELP t h\n# TYPE t summary\n"
            "t{quantile=\"0.5\"} 0.02\nt{quantile=\"0.9\"} 0.04\nt{quantile=\"0.99\"} 0.04\n"
            "t_sum 0.1\nt_count 4\n");
  store.Update(Snap(20).Timer("t", {}, 0).s);
  EXPECT_EQ(Text(store, Format::kOpenMetrics),
            "# HELP t h\n# TYPE t summary\n"
            "t{quantile=\"0.5\"} NaN\nt{quantile=\"0.9\"} NaN\nt{quantile=\"0.99\"} NaN\n"
            "t_sum 0.1\nt_count 4\n");
}

TEST(SeriesStoreTest, HistogramTimersKeepTheirUnit) {
  StoreOptions o = Options();
  o.observer = ObserverType::kHistogram;
  o.buckets = {1, 10};
  SeriesStore store(o, nullptr);
  store.Update(Snap(10).Timer("size", {3, 30}, 2, "", TimerKind::kHistogram).s);
  EXPECT_EQ(Text(store),
            "# HELP size h\n# TYPE size histogram\n"
            "size_bucket{le=\"1\"} 0\nsize_bucket{le=\"10\"} 1\nsize_bucket{le=\"+Inf\"} 2\n"
            "size_sum 33\nsize_count 2\n");
}

TEST(SeriesStoreTest, SeriesExpireAfterTheirInterval) {
  StoreOptions o = Options();
  o.expiry = std::chrono::seconds(15);
  SeriesStore store(o, nullptr);
  store.Update(Snap(10).Counter("c", 1).Gauge("g", 1).s);
  // Reported but not received (count 0): the counter's clock runs on; the gauge is received.
  store.Update(Snap(20).Counter("c", 0).Gauge("g", 2).s);
  store.Update(Snap(26).Counter("c", 0).s);
  EXPECT_EQ(Text(store), "# HELP g h\n# TYPE g gauge\ng 2\n");
  EXPECT_EQ(store.stats().expired, 1u);
  store.Update(Snap(30).Counter("c", 0).s);  // reported, not received: stays out
  EXPECT_EQ(Text(store), "# HELP g h\n# TYPE g gauge\ng 2\n");
  store.Update(Snap(40).s);
  EXPECT_EQ(Text(store), "");
  EXPECT_EQ(store.series(), 0u);
  EXPECT_EQ(store.statsd_series(), 0u);
  // Back again: counts from its new value.
  store.Update(Snap(50).Counter("c", 2).s);
  EXPECT_EQ(Text(store), "# HELP c h\n# TYPE c counter\nc 2\n");
}

TEST(SeriesStoreTest, AnIdleGaugeExpiresFromItsLastReceiveTime) {
  StoreOptions o = Options();
  o.expiry = std::chrono::seconds(15);
  SeriesStore store(o, nullptr);
  store.Update(Snap(10).Gauge("g", 1, "", 10).s);
  // Reported again by the aggregator, not received: last_ns stays 10.
  store.Update(Snap(20).Gauge("g", 1, "", 10).s);
  EXPECT_EQ(Text(store), "# HELP g h\n# TYPE g gauge\ng 1\n");
  store.Update(Snap(26).Gauge("g", 1, "", 10).s);
  EXPECT_EQ(Text(store), "");
  EXPECT_EQ(store.stats().expired, 1u);
  // Still reported, still idle: it stays out; received again: back.
  store.Update(Snap(36).Gauge("g", 1, "", 10).s);
  EXPECT_EQ(Text(store), "");
  store.Update(Snap(46).Gauge("g", 7, "", 45).s);
  EXPECT_EQ(Text(store), "# HELP g h\n# TYPE g gauge\ng 7\n");
}

TEST(SeriesStoreTest, ANegativeExpiryRemovesWhatAFlushDidNotReceive) {
  StoreOptions o = Options();
  o.expiry = std::chrono::seconds(-1);
  SeriesStore store(o, nullptr);
  store.Update(Snap(10).Counter("c", 1).s);
  EXPECT_EQ(Text(store), "# HELP c h\n# TYPE c counter\nc 1\n");
  store.Update(Snap(20).Counter("c", 0).s);
  EXPECT_EQ(Text(store), "");
}

TEST(SeriesStoreTest, NoExpiryByDefault) {
  SeriesStore store(Options(), nullptr);
  store.Update(Snap(10).Counter("c", 1).s);
  store.Update(Snap(100000).s);
  EXPECT_EQ(Text(store), "# HELP c h\n# TYPE c counter\nc 1\n");
}

TEST(SeriesStoreTest, ANameKeepsItsFirstType) {
  StoreOptions o = Options();
  o.reserved_names = {"process_open_fds"};
  SeriesStore store(o, nullptr);
  store.Update(Snap(10).Counter("x", 1).Gauge("x", 5).Gauge("process.open.fds", 1).s);
  store.Update(Snap(20).Counter("x", 1).Gauge("x", 6).s);
  EXPECT_EQ(Text(store), "# HELP x h\n# TYPE x counter\nx 2\n");
  EXPECT_EQ(store.stats().type_conflicts, 2u);  // once per statsd series, not per flush
  EXPECT_EQ(store.stats().last_conflict, "process_open_fds");
}

TEST(SeriesStoreTest, TagsBecomeValidLabels) {
  SeriesStore store(Options(), nullptr);
  // Sorted tags as the pipeline keeps them: a bare tag and an empty value are left out, keys are
  // escaped, two keys escaping alike keep the later tag, "__x" is reserved.
  store.Update(Snap(10).Counter("c", 1, "__x:1,a-b:2,a.b:3,bare,e:,v:q\"\\\n,z:\xff").s);
  EXPECT_EQ(Text(store),
            "# HELP c h\n# TYPE c counter\n"
            "c{a_b=\"3\",v=\"q\\\"\\\\\\n\",z=\"\xef\xbf\xbd\"} 1\n");
  EXPECT_EQ(store.stats().tag_errors, 2u);
  EXPECT_EQ(store.stats().invalid_labels, 1u);
}

TEST(SeriesStoreTest, SourcesMergeUnlessASourceLabelIsSet) {
  {
    SeriesStore store(Options(), nullptr);
    store.Update(Snap(10).Counter("c", 1, "", "10.0.0.1").Counter("c", 2, "", "10.0.0.2").s);
    EXPECT_EQ(Text(store), "# HELP c h\n# TYPE c counter\nc 3\n");
    EXPECT_EQ(store.series(), 1u);
    EXPECT_EQ(store.statsd_series(), 2u);
  }
  StoreOptions o = Options();
  o.source_label = "host";
  SeriesStore store(o, nullptr);
  store.Update(Snap(10).Counter("c", 1, "", "10.0.0.1").Counter("c", 2, "host:web", "10.0.0.2").s);
  EXPECT_EQ(Text(store),
            "# HELP c h\n# TYPE c counter\nc{host=\"10.0.0.1\"} 1\nc{host=\"web\"} 2\n");
}

TEST(SeriesStoreTest, ObserverLabelsLeAndQuantileAreReserved) {
  StoreOptions o = Options();
  o.observer = ObserverType::kHistogram;
  o.buckets = {1};
  SeriesStore store(o, nullptr);
  store.Update(Snap(10).Timer("t", {5}, 1, "le:x,q:y").s);
  EXPECT_EQ(Text(store),
            "# HELP t h\n# TYPE t histogram\nt_bucket{q=\"y\",le=\"1\"} 1\n"
            "t_bucket{q=\"y\",le=\"+Inf\"} 1\nt_sum{q=\"y\"} 0.005\nt_count{q=\"y\"} 1\n");
  EXPECT_EQ(store.stats().invalid_labels, 1u);
}

TEST(SeriesStoreTest, MappingNamesLabelsDropsAndOptions) {
  auto mapping = MappingConfig::Parse(R"(mappings:
- match: "test.dispatcher.*.*.*"
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
    action: "$2"
    outcome: "$3"
    job: "test_dispatcher"
- match: "drop.*"
  name: "dropped"
  action: drop
- match: "timing.*"
  name: "timing"
  observer_type: histogram
  histogram_options:
    buckets: [0.01, 0.1]
  ttl: 5s
- match: "honor.*"
  name: "honored"
  honor_labels: true
  labels:
    env: "mapped"
    team: "t"
)",
                                      "test.yml");
  ASSERT_TRUE(mapping.ok()) << mapping.error();
  SeriesStore store(Options(), std::make_shared<const MappingConfig>(std::move(*mapping)));
  store.Update(Snap(10)
                   .Counter("test.dispatcher.Foo.send.success", 1, "outcome:tagged")
                   .Counter("drop.me", 9)
                   .Counter("honor.x", 1, "env:tag")
                   .Timer("timing.a", {5, 50}, 2)
                   .s);
  EXPECT_EQ(Text(store),
            "# HELP dispatcher_events_total h\n# TYPE dispatcher_events_total counter\n"
            "dispatcher_events_total{action=\"send\",job=\"test_dispatcher\",outcome=\"success\","
            "processor=\"Foo\"} 1\n"
            "# HELP honored h\n# TYPE honored counter\nhonored{env=\"tag\",team=\"t\"} 1\n"
            "# HELP timing h\n# TYPE timing histogram\n"
            "timing_bucket{le=\"0.01\"} 1\ntiming_bucket{le=\"0.1\"} 2\n"
            "timing_bucket{le=\"+Inf\"} 2\ntiming_sum 0.055\ntiming_count 2\n");
  EXPECT_EQ(store.stats().dropped, 1u);
  // The mapping's ttl (5 s) expires the timer; the others never expire.
  store.Update(Snap(20).s);
  EXPECT_EQ(store.families().count("timing"), 0u);
  EXPECT_EQ(store.series(), 2u);
}

TEST(SeriesStoreTest, ForEachLabelUnescapes) {
  SeriesStore store(Options(), nullptr);
  store.Update(Snap(10).Counter("c", 1, "a:x\"y,b:2").s);
  const auto& family = store.families().at("c");
  std::vector<std::pair<std::string, std::string>> labels;
  SeriesStore::ForEachLabel(*family->series.at(0), [&](std::string_view n, std::string_view v) {
    labels.emplace_back(n, v);
  });
  EXPECT_EQ(labels, (std::vector<std::pair<std::string, std::string>>{{"a", "x\"y"}, {"b", "2"}}));
}

}  // namespace
}  // namespace cstatsd::prometheus

namespace cstatsd::prometheus {
namespace {

// A rendering handed over in slices (docs/prometheus.md#memory) is the rendering whole: each slice
// ends after a whole series, none but the last is below kRenderSlice, and the whole text is the
// same.
TEST(SeriesStoreRenderTest, SlicesAreTheWholeRenderingCutBetweenSeries) {
  SeriesStore store(Options(), nullptr);
  Snap snap(10);
  for (int i = 0; i < 40000; ++i) {
    snap.Counter("app.requests", i + 1, "route:/api/v1/items/" + std::to_string(i));
    if (i % 10 == 0) snap.Timer("app.latency", {1, 2, 3}, 3, "route:" + std::to_string(i));
  }
  store.Update(snap.s);
  const std::string whole = Text(store);
  ASSERT_GT(whole.size(), 2 * kRenderSlice);
  std::vector<std::string> slices;
  std::string out;
  store.Render(Format::kText, out, [&](std::string& slice) {
    slices.push_back(slice);
    slice.clear();
  });
  ASSERT_GE(slices.size(), 2u);
  std::string joined;
  for (const std::string& s : slices) {
    EXPECT_GE(s.size(), kRenderSlice);
    EXPECT_EQ(s.back(), '\n');
    joined += s;
  }
  EXPECT_LT(out.size(), kRenderSlice);  // the rest, for the caller
  EXPECT_EQ(joined + out, whole);
}

}  // namespace
}  // namespace cstatsd::prometheus
