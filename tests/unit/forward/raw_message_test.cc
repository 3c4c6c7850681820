// The forwarder's encoding: two workers' maps merged without aggregation (spec §2.3), encoded
// as RawMessageV2, serialised and decoded back with every field checked; dynamic-headers
// partitions (§5.4); events as EventV2.
#include "forward/raw_message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aggregate/aggregator.h"
#include "pipeline/pipeline.h"

namespace cstatsd::forward {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int64_t kSecond = 1000000000;

class RawMessageTest : public ::testing::Test {
 protected:
  void Add(MetricMap& map, MetricType type, std::string_view name, std::vector<double> values,
           double rate, std::vector<std::string_view> tags, std::string_view sender,
           int64_t now = 100 * kSecond, std::string_view member = {}) {
    ParsedMetric m;
    m.type = type;
    m.name = name;
    m.values = std::move(values);
    m.rate = rate;
    m.tags = std::move(tags);
    m.set_value = member;
    pipeline_.Receive(m, sender, now, map);
  }

  // What the forwarder's flush does: merge every worker map, take the merged state.
  MetricMap Merged(std::vector<MetricMap*> maps) {
    aggregate::Aggregator agg{aggregate::AggregatorOptions{}};
    for (MetricMap* m : maps) agg.Merge(*m);
    return agg.TakeState();
  }

  static pb::RawMessageV2 RoundTrip(const pb::RawMessageV2& in) {
    std::string bytes;
    EXPECT_TRUE(in.SerializeToString(&bytes));
    pb::RawMessageV2 out;
    EXPECT_TRUE(out.ParseFromString(bytes));
    return out;
  }

  pipeline::PipelineOptions options_;
  pipeline::Pipeline pipeline_{&options_};
};

TEST_F(RawMessageTest, MergedMapEncodesEveryField) {
  MetricMap w1, w2;
  // Counters: int64 after the sample-rate division, summed across workers.
  Add(w1, MetricType::kCounter, "req", {3}, 0.5, {"b:2", "a:1"}, "10.0.0.1");  // 6
  Add(w2, MetricType::kCounter, "req", {5}, 1, {"a:1", "b:2"}, "10.0.0.1");    // 5
  Add(w2, MetricType::kCounter, "req", {1}, 1, {}, "");                        // other series
  // Gauges: the newest wins.
  Add(w1, MetricType::kGauge, "temp", {20}, 1, {}, "h1", 100 * kSecond);
  Add(w2, MetricType::kGauge, "temp", {21.5}, 1, {}, "h1", 101 * kSecond);
  // Timers: values concatenated, sample counts summed.
  Add(w1, MetricType::kTimer, "lat", {10, 20}, 0.1, {"r:x"}, "");
  Add(w2, MetricType::kTimer, "lat", {30}, 1, {"r:x"}, "");
  // Sets: united.
  Add(w1, MetricType::kSet, "users", {}, 1, {}, "h2", 100 * kSecond, "alice");
  Add(w2, MetricType::kSet, "users", {}, 1, {}, "h2", 100 * kSecond, "bob");
  Add(w2, MetricType::kSet, "users", {}, 1, {}, "h2", 100 * kSecond, "alice");

  MetricMap merged = Merged({&w1, &w2});
  const pb::RawMessageV2 msg = RoundTrip(ToRawMessage(merged));

  ASSERT_EQ(msg.counters().size(), 1u);
  const auto& req = msg.counters().at("req").tagmap();
  ASSERT_EQ(req.size(), 2u);
  // tagsKey: sorted tags joined by ',', then ",s:<source>" (spec §2.1).
  const auto& c1 = req.at("a:1,b:2,s:10.0.0.1");
  EXPECT_THAT(c1.tags(), ElementsAre("a:1", "b:2"));
  EXPECT_EQ(c1.hostname(), "10.0.0.1");
  EXPECT_EQ(c1.value(), 11);
  const auto& c2 = req.at("");
  EXPECT_TRUE(c2.tags().empty());
  EXPECT_EQ(c2.hostname(), "");
  EXPECT_EQ(c2.value(), 1);

  const auto& g = msg.gauges().at("temp").tagmap().at(",s:h1");  // no tags: a leading comma
  EXPECT_TRUE(g.tags().empty());
  EXPECT_EQ(g.hostname(), "h1");
  EXPECT_EQ(g.value(), 21.5);

  const auto& t = msg.timers().at("lat").tagmap().at("r:x");
  EXPECT_THAT(t.tags(), ElementsAre("r:x"));
  EXPECT_EQ(t.hostname(), "");
  EXPECT_THAT(t.values(), UnorderedElementsAre(10, 20, 30));
  EXPECT_DOUBLE_EQ(t.samplecount(), 10 + 1);  // 1/0.1 per line, + 1

  const auto& s = msg.sets().at("users").tagmap().at(",s:h2");
  EXPECT_EQ(s.hostname(), "h2");
  EXPECT_THAT(s.values(), UnorderedElementsAre("alice", "bob"));
}

TEST_F(RawMessageTest, EmptyMapGivesNoPartition) {
  MetricMap empty;
  EXPECT_TRUE(PartitionByDynamicHeaders(empty, {}).empty());
  EXPECT_TRUE(PartitionByDynamicHeaders(empty, {"region"}).empty());
}

TEST_F(RawMessageTest, WithoutDynamicHeadersOnePartition) {
  MetricMap m;
  Add(m, MetricType::kCounter, "a", {1}, 1, {"region:eu"}, "");
  Add(m, MetricType::kCounter, "b", {1}, 1, {"region:us"}, "");
  auto parts = PartitionByDynamicHeaders(m, {});
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_TRUE(parts[0].headers.empty());
  EXPECT_EQ(parts[0].series, 2u);
  EXPECT_EQ(parts[0].message.counters().size(), 2u);
}

TEST_F(RawMessageTest, DynamicHeadersPartitionByMatchedTags) {
  MetricMap m;
  Add(m, MetricType::kCounter, "a", {1}, 1, {"region:eu", "service_name:web", "x:1"}, "");
  Add(m, MetricType::kGauge, "g", {2}, 1, {"service_name:web", "region:eu"}, "h");
  Add(m, MetricType::kCounter, "b", {1}, 1, {"region:us"}, "");
  Add(m, MetricType::kTimer, "t", {1}, 1, {"other:1"}, "");
  Add(m, MetricType::kSet, "s", {}, 1, {"regional:no"}, "", 100 * kSecond, "m");
  auto parts = PartitionByDynamicHeaders(m, {"region", "service_name"});
  ASSERT_EQ(parts.size(), 3u);
  std::map<std::vector<std::pair<std::string, std::string>>, const Partition*> by_headers;
  for (const auto& p : parts) by_headers[p.headers] = &p;

  const Partition* eu_web = by_headers.at({{"Region", "eu"}, {"Service-Name", "web"}});
  EXPECT_EQ(eu_web->series, 2u);
  EXPECT_EQ(eu_web->message.counters().at("a").tagmap().size(), 1u);
  EXPECT_EQ(eu_web->message.gauges().at("g").tagmap().size(), 1u);
  // The tags stay in the message; only the headers are added.
  EXPECT_THAT(eu_web->message.counters().at("a").tagmap().begin()->second.tags(),
              ElementsAre("region:eu", "service_name:web", "x:1"));

  const Partition* us = by_headers.at({{"Region", "us"}});
  EXPECT_EQ(us->series, 1u);
  EXPECT_TRUE(us->message.counters().contains("b"));

  const Partition* none = by_headers.at({});  // no matching tag ("regional:" is not "region:")
  EXPECT_EQ(none->series, 2u);
  EXPECT_TRUE(none->message.timers().contains("t"));
  EXPECT_TRUE(none->message.sets().contains("s"));
}

// Statsd lines are bytes, but proto3 `string` fields must be UTF-8: an aggregator (cstatsd's
// C++ protobuf, gostatsd's Go protobuf) rejects a whole message with one invalid string, which
// lost every series of the flush. Invalid bytes are replaced with U+FFFD, as Go's
// strings.ToValidUTF8 does (one replacement per run of invalid bytes).

TEST_F(RawMessageTest, InvalidUtf8IsReplacedSoTheMessageParses) {
  MetricMap m;
  Add(m, MetricType::kCounter, "good", {1}, 1, {}, "10.0.0.1");
  Add(m, MetricType::kCounter, "c", {2}, 1, {"k:\xc3"}, "10.0.0.1");
  Add(m, MetricType::kCounter, "c", {3}, 1, {"k:\xc4"}, "10.0.0.1");  // same key once replaced
  Add(m, MetricType::kTimer, "t", {1, 2}, 0.5, {"k:\xc3"}, "h\xff");
  Add(m, MetricType::kTimer, "t", {3}, 1, {"k:\xc4"}, "h\xfe");
  Add(m, MetricType::kGauge, "g", {4}, 1, {}, "h\xff");
  Add(m, MetricType::kSet, "s", {}, 1, {}, "", 100 * kSecond, "\xfe\xff");
  const pb::RawMessageV2 msg = RoundTrip(ToRawMessage(m));  // parses: every string is UTF-8
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(msg.counters().at("good").tagmap().at(",s:10.0.0.1").value(), 1);
  const auto& c = msg.counters().at("c").tagmap().at("k:" + r + ",s:10.0.0.1");
  EXPECT_THAT(c.tags(), ElementsAre("k:" + r));
  EXPECT_EQ(c.value(), 5);  // both series, summed
  const auto& t = msg.timers().at("t").tagmap().at("k:" + r + ",s:h" + r);
  EXPECT_EQ(t.hostname(), "h" + r);
  EXPECT_EQ(t.samplecount(), 3);  // 1 / 0.5 (per line) + 1: added, not overwritten
  EXPECT_THAT(t.values(), UnorderedElementsAre(1, 2, 3));
  EXPECT_EQ(msg.gauges().at("g").tagmap().at(",s:h" + r).value(), 4);
  EXPECT_THAT(msg.sets().at("s").tagmap().begin()->second.values(), ElementsAre(r));

  // Dynamic headers partition on the tags as received; the message is valid all the same.
  auto parts = PartitionByDynamicHeaders(m, {"k"});
  size_t series = 0;
  for (const auto& p : parts) {
    series += p.series;
    RoundTrip(p.message);
  }
  EXPECT_EQ(series, 7u);
}

TEST(EventV2Test, InvalidUtf8IsReplaced) {
  Event e;
  e.title = "t\xff";
  e.text = "x\xc3";
  e.source = "h\xfe";
  e.aggregation_key = "\xff";
  e.source_type_name = "\xfe";
  e.tags = {"env:\xc3"};
  std::string bytes;
  ASSERT_TRUE(ToEventV2(e).SerializeToString(&bytes));
  pb::EventV2 m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(m.title(), "t" + r);
  EXPECT_EQ(m.text(), "x" + r);
  EXPECT_EQ(m.hostname(), "h" + r);
  EXPECT_EQ(m.sourceip(), "h" + r);
  EXPECT_EQ(m.aggregationkey(), r);
  EXPECT_EQ(m.sourcetypename(), r);
  EXPECT_THAT(m.tags(), ElementsAre("env:" + r));
}

TEST(EventV2Test, EveryField) {
  Event e;
  e.title = "deploy";
  e.text = "v2 is out";
  e.date_happened = 1700000000;
  e.source = "10.1.2.3";
  e.aggregation_key = "agg";
  e.source_type_name = "ci";
  e.tags = {"env:prod", "team:x"};
  e.priority = EventPriority::kLow;
  e.alert_type = EventAlertType::kWarning;
  std::string bytes;
  ASSERT_TRUE(ToEventV2(e).SerializeToString(&bytes));
  pb::EventV2 m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  EXPECT_EQ(m.title(), "deploy");
  EXPECT_EQ(m.text(), "v2 is out");
  EXPECT_EQ(m.datehappened(), 1700000000);
  EXPECT_EQ(m.hostname(), "10.1.2.3");
  EXPECT_EQ(m.sourceip(), "10.1.2.3");
  EXPECT_EQ(m.aggregationkey(), "agg");
  EXPECT_EQ(m.sourcetypename(), "ci");
  EXPECT_THAT(m.tags(), ElementsAre("env:prod", "team:x"));
  EXPECT_EQ(m.priority(), pb::EventV2::Low);
  EXPECT_EQ(m.type(), pb::EventV2::Warning);
  for (auto [alert, type] : {std::pair{EventAlertType::kInfo, pb::EventV2::Info},
                             std::pair{EventAlertType::kError, pb::EventV2::Error},
                             std::pair{EventAlertType::kSuccess, pb::EventV2::Success}}) {
    e.alert_type = alert;
    EXPECT_EQ(ToEventV2(e).type(), type);
  }
  e.priority = EventPriority::kNormal;
  EXPECT_EQ(ToEventV2(e).priority(), pb::EventV2::Normal);
}

}  // namespace
}  // namespace cstatsd::forward
