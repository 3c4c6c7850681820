// Golden New Relic payloads (docs/backends.md#newrelic) for the infra, insights and metrics flush
// types: attribute names, tags as attributes, statsdSource, timers, histograms, batching, events.
#include "backends/newrelic/newrelic_format.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "unit/support/series.h"

namespace cstatsd::backends::newrelic {
namespace {

using test::Key;

std::vector<std::string> Bodies(const snapshot::FlushSnapshot& s, const FormatOptions& o,
                                size_t per_batch = 1000) {
  std::vector<std::string> out;
  FormatMetrics(s, o, 100, per_batch, [&](std::string&& b, size_t) { out.push_back(b); });
  return out;
}

TEST(NewrelicFormatTest, InfraCounterWithTagsAndSource) {
  snapshot::FlushSnapshot s;
  s.counters.push_back(
      {Key(MetricType::kCounter, "req", "code:200,env:prod,canary", "10.0.0.1"), 5, 0.5});
  FormatOptions o;
  o.tag_prefix = "t.";
  EXPECT_EQ(Bodies(s, o),
            std::vector<std::string>{
                R"({"name":"com.newrelic.gostatsd","protocol_version":"2",)"
                R"("integration_version":"2.4.0","data":[{"metrics":[{"event_type":"GoStatsD",)"
                R"("integration_version":"2.4.0","interval":10,"name":"req","per_second":0.5,)"
                R"("t.canary":"true","t.code":200,"t.env":"prod","t.statsdSource":"10.0.0.1",)"
                R"("timestamp":100,"type":"counter","value":5}]}]})"});
}

TEST(NewrelicFormatTest, InsightsTimerWithCustomNamesAndPercentiles) {
  snapshot::FlushSnapshot s;
  auto names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"count_90"});
  s.percentile_names = names;
  s.percentiles.push_back({(*names)[0], 3});
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "lat");
  t.count = 4;
  t.min = 1;
  t.max = 9;
  t.sum = 20;
  t.percentiles_end = 1;
  s.timers.push_back(t);
  FormatOptions o;
  o.flush_type = FlushType::kInsights;
  o.event_type = "Stats";
  o.timer_max = "samples_max";
  o.disabled.mean = o.disabled.median = o.disabled.stddev = o.disabled.sum_squares = true;
  o.disabled.count_per_second = true;
  EXPECT_EQ(Bodies(s, o),
            std::vector<std::string>{R"([{"count":4,"count_90":3,"eventType":"Stats",)"
                                     R"("integration_version":"2.4.0","interval":10,"min":1,)"
                                     R"("name":"lat","samples_max":9,"sum":20,"timestamp":100,)"
                                     R"("type":"timer","value":4}])"});
}

TEST(NewrelicFormatTest, MetricsApiShapes) {
  snapshot::FlushSnapshot s;
  s.gauges.push_back({Key(MetricType::kGauge, "g", "env:prod"), 2.5});
  s.counters.push_back({Key(MetricType::kCounter, "c"), 6, 0.6});
  s.sets.push_back({Key(MetricType::kSet, "u"), 3});
  auto names = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{"upper_99_9", "sum_squares_90"});
  s.percentile_names = names;
  s.percentiles.push_back({(*names)[0], 8});
  s.percentiles.push_back({(*names)[1], 50});
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "t");
  t.count = 2;
  t.min = 1;
  t.max = 8;
  t.sum = 9;
  t.mean = 4.5;
  t.percentiles_end = 2;
  s.timers.push_back(t);
  FormatOptions o;
  o.flush_type = FlushType::kMetrics;
  o.disabled.median = o.disabled.stddev = o.disabled.sum_squares = o.disabled.count_per_second =
      true;
  auto bodies = Bodies(s, o);
  ASSERT_EQ(bodies.size(), 1u);
  auto doc = nlohmann::json::parse(bodies[0]);
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["common"]["attributes"]["integration.name"], "GoStatsD");
  EXPECT_EQ(doc[0]["common"]["interval.ms"], 10000);
  const auto& m = doc[0]["metrics"];
  std::vector<std::string> names_seen;
  for (const auto& x : m) names_seen.push_back(x["name"]);
  EXPECT_EQ(names_seen, (std::vector<std::string>{"g", "c.per_second", "c", "u", "t.mean",
                                                  "t.upper.percentiles",
                                                  "t.sum_squares.percentiles", "t.summary"}));
  EXPECT_EQ(m[0]["type"], "gauge");
  EXPECT_EQ(m[0]["value"], 2.5);
  EXPECT_EQ(m[0]["attributes"]["env"], "prod");
  EXPECT_EQ(m[0]["attributes"]["statsdType"], "gauge");
  EXPECT_EQ(m[1]["type"], "gauge");
  EXPECT_EQ(m[1]["value"], 0.6);
  EXPECT_EQ(m[2]["type"], "count");
  EXPECT_EQ(m[2]["value"], 6);
  EXPECT_FALSE(m[3].contains("type"));  // sets: no type or value, as gostatsd
  EXPECT_FALSE(m[3].contains("value"));
  EXPECT_EQ(m[5]["attributes"]["percentile"], 99.9);
  EXPECT_EQ(m[5]["value"], 8);
  EXPECT_EQ(m[6]["attributes"]["percentile"], 90);
  EXPECT_EQ(m[7]["type"], "summary");
  EXPECT_EQ(m[7]["value"], (nlohmann::json{{"count", 2}, {"max", 8}, {"min", 1}, {"sum", 9}}));
  EXPECT_EQ(m[7]["attributes"]["statsdType"], "timer");
  EXPECT_EQ(m[7]["timestamp"], 100);
}

TEST(NewrelicFormatTest, HistogramBucketsAreCountersWithLe) {
  snapshot::FlushSnapshot s;
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, "lat", "gsd_histogram:5");
  h.histogram = true;
  s.buckets = {{5, 1}, {std::numeric_limits<double>::infinity(), 2}};
  h.buckets_end = 2;
  s.timers.push_back(h);
  auto bodies = Bodies(s, FormatOptions{});
  ASSERT_EQ(bodies.size(), 1u);
  auto m = nlohmann::json::parse(bodies[0])["data"][0]["metrics"];
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]["name"], "lat.histogram");
  EXPECT_EQ(m[0]["le"], 5);
  EXPECT_EQ(m[0]["type"], "counter");
  EXPECT_EQ(m[1]["le"], "infinity");
  EXPECT_EQ(m[1]["value"], 2);
}

TEST(NewrelicFormatTest, BatchesCutTwentyBeforeTheLimit) {
  snapshot::FlushSnapshot s;
  for (int i = 0; i < 12; ++i) {
    s.gauges.push_back({Key(MetricType::kGauge, "g" + std::to_string(i)), 1});
  }
  std::vector<size_t> sizes;
  FormatMetrics(s, FormatOptions{}, 1, 25, [&](std::string&& b, size_t n) {
    EXPECT_EQ(nlohmann::json::parse(b)["data"][0]["metrics"].size(), n);
    sizes.push_back(n);
  });
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 2}));
}

TEST(NewrelicFormatTest, Events) {
  Event e;
  e.title = "deploy";
  e.text = "v2";
  e.date_happened = 7;
  e.source = "h1";
  e.tags = {"env:prod", "n:3"};
  e.alert_type = EventAlertType::kError;
  FormatOptions o;
  EXPECT_EQ(FormatEvent(e, o),
            R"({"name":"com.newrelic.gostatsd","protocol_version":"2",)"
            R"("integration_version":"2.4.0","data":[{"metrics":[{"AggregationKey":"",)"
            R"("AlertType":"error","DateHappened":7,"Hostname":"h1","Priority":"",)"
            R"("SourceTypeName":"","Text":"v2","Title":"deploy","env":"prod",)"
            R"("event_type":"GoStatsD","n":3,"name":"event"}]}]})");
  o.flush_type = FlushType::kInsights;
  auto doc = nlohmann::json::parse(FormatEvent(e, o));
  ASSERT_TRUE(doc.is_array());
  EXPECT_EQ(doc[0]["eventType"], "GoStatsD");
  EXPECT_EQ(doc[0]["Title"], "deploy");
}

}  // namespace
}  // namespace cstatsd::backends::newrelic
