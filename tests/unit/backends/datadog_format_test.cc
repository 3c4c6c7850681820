// Golden output of the datadog series JSON (docs/backends.md#datadog): the documented example, the
// type mapping, non-finite coercion, Go's JSON number and string forms, batching and events.
#include "backends/datadog/datadog_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "unit/support/series.h"

namespace cstatsd::backends::datadog {
namespace {

using test::Key;

std::vector<std::string> Bodies(const snapshot::FlushSnapshot& s, size_t per_batch = 1000,
                                const config::DisabledSubMetrics& d = {}) {
  std::vector<std::string> out;
  FormatSeries(s, d, 100, 1.1, per_batch, [&](std::string&& b, size_t) { out.push_back(b); });
  return out;
}

TEST(DatadogFormatTest, SpecExampleCounterIsARateAndACountGauge) {
  snapshot::FlushSnapshot s;
  s.counters.push_back({Key(MetricType::kCounter, "c1", "tag1", "h1"), 5, 1.1});
  EXPECT_EQ(Bodies(s),
            std::vector<std::string>{
                R"({"series":[{"host":"h1","interval":1.1,"metric":"c1","points":[[100,1.1]],)"
                R"("tags":["tag1"],"type":"rate"},)"
                R"({"host":"h1","interval":1.1,"metric":"c1.count","points":[[100,5]],)"
                R"("tags":["tag1"],"type":"gauge"}]})"});
}

TEST(DatadogFormatTest, TimersGaugesSetsAndHistograms) {
  snapshot::FlushSnapshot s;
  auto names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"upper_90"});
  s.percentile_names = names;
  s.percentiles.push_back({(*names)[0], 9});
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "t");
  t.min = 1;
  t.max = 10;
  t.count = 4;
  t.count_per_second = 2;
  t.percentiles_end = 1;
  s.timers.push_back(t);
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, "h", "gsd_histogram:5");
  h.histogram = true;
  s.buckets = {{5, 1}, {std::numeric_limits<double>::infinity(), 3}};
  h.buckets_begin = 0;
  h.buckets_end = 2;
  s.timers.push_back(h);
  s.gauges.push_back({Key(MetricType::kGauge, "g"), 0.5});
  s.sets.push_back({Key(MetricType::kSet, "u"), 7});
  config::DisabledSubMetrics d;
  d.mean = d.median = d.stddev = d.sum = d.sum_squares = true;
  const std::string p = R"("interval":1.1,"metric":)";
  EXPECT_EQ(Bodies(s, 1000, d),
            std::vector<std::string>{
                "{\"series\":[{" + p + R"("t.lower","points":[[100,1]],"type":"gauge"},)" + "{" +
                p + R"("t.upper","points":[[100,10]],"type":"gauge"},)" + "{" + p +
                R"("t.count","points":[[100,4]],"type":"gauge"},)" + "{" + p +
                R"("t.count_ps","points":[[100,2]],"type":"rate"},)" + "{" + p +
                R"("t.upper_90","points":[[100,9]],"type":"gauge"},)" + "{" + p +
                R"("h.histogram","points":[[100,1]],"tags":["gsd_histogram:5","le:5"],)"
                R"("type":"count"},)" +
                "{" + p +
                R"("h.histogram","points":[[100,3]],"tags":["gsd_histogram:5","le:+Inf"],)"
                R"("type":"count"},)" +
                "{" + p + R"("g","points":[[100,0.5]],"type":"gauge"},)" + "{" + p +
                R"("u","points":[[100,7]],"type":"gauge"}]})"});
}

TEST(DatadogFormatTest, NumbersAsGoJson) {
  auto f = [](double v) {
    std::string out;
    AppendValue(out, v);
    return out;
  };
  EXPECT_EQ(f(0), "0");
  EXPECT_EQ(f(1e20), "100000000000000000000");
  EXPECT_EQ(f(1e21), "1e+21");
  EXPECT_EQ(f(0.000001), "0.000001");
  EXPECT_EQ(f(0.0000001), "1e-7");
  EXPECT_EQ(f(-2.5e-10), "-2.5e-10");
  EXPECT_EQ(f(123456789.125), "123456789.125");
  EXPECT_EQ(f(std::nan("")), "-1");
  EXPECT_EQ(f(std::numeric_limits<double>::infinity()), "1.7976931348623157e+308");
  EXPECT_EQ(f(-std::numeric_limits<double>::infinity()), "-1.7976931348623157e+308");
}

TEST(DatadogFormatTest, BatchesAreCutTwentyBeforeTheLimit) {
  snapshot::FlushSnapshot s;
  for (int i = 0; i < 30; ++i) {
    s.gauges.push_back({Key(MetricType::kGauge, "g" + std::to_string(i)), 1});
  }
  std::vector<size_t> sizes;
  size_t total = FormatSeries(s, {}, 1, 10, 25, [&](std::string&& body, size_t n) {
    EXPECT_EQ(body.substr(0, 11), "{\"series\":[");
    EXPECT_EQ(body.substr(body.size() - 2), "]}");
    EXPECT_EQ(nlohmann::json::parse(body)["series"].size(), n);  // valid JSON
    sizes.push_back(n);
  });
  EXPECT_EQ(total, 30u);
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 5, 5, 5, 5}));
}

TEST(DatadogFormatTest, Events) {
  Event e;
  e.title = "deploy";
  e.text = "v2";
  EXPECT_EQ(FormatEvent(e), R"({"title":"deploy","text":"v2"})");
  e.date_happened = 1463746133;
  e.source = "10.0.0.1";
  e.aggregation_key = "k";
  e.source_type_name = "ci";
  e.tags = {"env:prod", "team"};
  e.priority = EventPriority::kLow;
  e.alert_type = EventAlertType::kWarning;
  EXPECT_EQ(FormatEvent(e),
            R"({"title":"deploy","text":"v2","date_happened":1463746133,"host":"10.0.0.1",)"
            R"("aggregation_key":"k","source_type_name":"ci","tags":["env:prod","team"],)"
            R"("priority":"low","alert_type":"warning"})");
}

}  // namespace
}  // namespace cstatsd::backends::datadog
