// Source and tag handling (docs/protocol.md#source, docs/aggregation.md#identity,
// docs/aggregation.md#pipeline TagHandler) on the way into a worker map.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "protocol/parser.h"

namespace cstatsd::pipeline {
namespace {

class PipelineTest : public ::testing::Test {
 protected:
  const SeriesKey& Only(MetricMap& map) {
    EXPECT_EQ(map.counters.size(), 1u);
    return *map.counters.entries().at(0).key;
  }
  void Counter(Pipeline& p, std::vector<std::string_view> tags, std::string_view sender) {
    ParsedMetric m;
    m.type = MetricType::kCounter;
    m.name = "f";
    m.values = {2};
    m.tags = std::move(tags);
    p.Receive(m, sender, 1, map_);
  }
  PipelineOptions options_;
  MetricMap map_;
};

TEST_F(PipelineTest, SourceIsTheSenderAndHostTagsStayTags) {
  Pipeline p(&options_);
  Counter(p, {"host:h"}, "127.0.0.1");
  EXPECT_EQ(Only(map_).source(), "127.0.0.1");
  EXPECT_EQ(Only(map_).tags(), "host:h");
}

TEST_F(PipelineTest, IgnoreHostTakesTheFirstHostTag) {
  options_.ignore_host = true;
  Pipeline p(&options_);
  Counter(p, {"host:h1", "host:h2"}, "127.0.0.1");
  EXPECT_EQ(Only(map_).source(), "h1");
  EXPECT_EQ(Only(map_).tags(), "host:h2");
}

TEST_F(PipelineTest, IgnoreHostWithoutHostTagHasNoSource) {
  options_.ignore_host = true;
  Pipeline p(&options_);
  Counter(p, {"a"}, "127.0.0.1");
  EXPECT_EQ(Only(map_).source(), "");
  EXPECT_EQ(Only(map_).TagsKey(), "a");
}

TEST_F(PipelineTest, DefaultTagsAreMergedSortedAndDeduplicated) {
  config::Options o;
  o.default_tags = {"env:prod", "z", "env:prod"};
  options_ = PipelineOptions::From(o);
  EXPECT_EQ(options_.default_tags, (std::vector<std::string>{"env:prod", "z"}));
  Pipeline p(&options_);
  Counter(p, {"z", "b:1", "env:prod", "b:1"}, "");
  EXPECT_EQ(Only(map_).tags(), "b:1,env:prod,z");
}

// Tags that are still one sorted ','-run of the line are copied in one piece; anything that
// breaks the run (order, a duplicate, an empty element, a host tag taken out, a default tag)
// takes the tag-by-tag path. Both must give the same key.
TEST_F(PipelineTest, TagsOfTheLineAreJoinedTheSameWhateverPathTheyTake) {
  options_.ignore_host = true;
  options_.default_tags = {"m:0"};
  struct Case {
    std::string line;
    std::string_view tags;
  };
  const Case cases[] = {
      {"f:1|c|#a:1,b:2,c:3", "a:1,b:2,c:3,m:0"},
      {"f:1|c|#a:1,b:2,z:3", "a:1,b:2,m:0,z:3"},
      {"f:1|c|#c:3,a:1", "a:1,c:3,m:0"},
      {"f:1|c|#a:1,a:1,b:2", "a:1,b:2,m:0"},
      {"f:1|c|#a:1,,b:2", "a:1,b:2,m:0"},
      {"f:1|c|#a:1,host:h,b:2", "a:1,b:2,m:0"},
      {"f:1|c|#m:0", "m:0"},
  };
  for (const Case& c : cases) {
    std::string line = c.line;  // the parsed tags are views of it
    protocol::Parser parser;
    ParsedMetric m;
    Event e;
    protocol::ParseError err;
    ASSERT_EQ(parser.Parse(line, m, e, err), protocol::LineKind::kMetric) << c.line;
    MetricMap map;
    Pipeline p(&options_);
    p.Receive(m, "127.0.0.1", 1, map);
    ASSERT_EQ(map.counters.size(), 1u) << c.line;
    EXPECT_EQ(map.counters.entries()[0].key->tags(), c.tags) << c.line;
  }
  // Without default tags, a sorted run of the line is the key's tags byte for byte.
  options_.default_tags.clear();
  std::string line = "f:1|c|#a:1,b:2,c:3";
  protocol::Parser parser;
  ParsedMetric m;
  Event e;
  protocol::ParseError err;
  ASSERT_EQ(parser.Parse(line, m, e, err), protocol::LineKind::kMetric);
  MetricMap map;
  Pipeline p(&options_);
  p.Receive(m, "127.0.0.1", 1, map);
  EXPECT_EQ(map.counters.entries()[0].key->tags(), "a:1,b:2,c:3");
  EXPECT_EQ(map.counters.entries()[0].key->source(), "");
}

TEST_F(PipelineTest, SameTagsInAnotherOrderAreOneSeries) {
  Pipeline p(&options_);
  Counter(p, {"b", "a"}, "");
  Counter(p, {"a", "b"}, "");
  EXPECT_EQ(map_.counters.size(), 1u);
  EXPECT_EQ(map_.counters.entries()[0].value.value, 4);
}

TEST_F(PipelineTest, StagedBatchFollowsTheReceiveRules) {
  options_.ignore_host = true;
  options_.default_tags = {"env:prod"};
  Pipeline direct(&options_), staged(&options_);
  MetricMap a, b;
  auto line = [](MetricType t, std::string_view name, std::vector<double> values,
                 std::vector<std::string_view> tags, std::string_view member = {}) {
    ParsedMetric m;
    m.type = t;
    m.name = name;
    m.values = std::move(values);
    m.tags = std::move(tags);
    m.set_value = member;
    m.rate = t == MetricType::kCounter ? 0.5 : 1;
    return m;
  };
  const std::vector<ParsedMetric> lines = {
      line(MetricType::kCounter, "c", {1, 2}, {"b", "host:h1", "a"}),
      line(MetricType::kGauge, "g", {3, 4}, {}),
      line(MetricType::kGauge, "g", {5}, {}),
      line(MetricType::kGauge, "empty", {}, {}),
      line(MetricType::kTimer, "t", {1.5, 2.5}, {"host:h2"}),
      line(MetricType::kTimer, "t", {3.5}, {"host:h2"}),
      line(MetricType::kSet, "s", {}, {"z"}, "joe"),
      line(MetricType::kCounter, "c", {4}, {"a", "b", "host:h1"}),
  };
  for (const auto& m : lines) {
    direct.Receive(m, "10.0.0.1", 7, a);
    staged.Stage(m, "10.0.0.1", b);
  }
  staged.Commit(7, b);
  ASSERT_EQ(a.counters.size(), 1u);
  ASSERT_EQ(b.counters.size(), 1u);
  EXPECT_EQ(b.counters.entries()[0].key->TagsKey(), "a,b,env:prod,s:h1");
  EXPECT_EQ(a.counters.entries()[0].value.value, 14);
  EXPECT_EQ(b.counters.entries()[0].value.value, 14);
  ASSERT_EQ(b.gauges.size(), 1u);
  EXPECT_EQ(b.gauges.entries()[0].value.value, 5);
  ASSERT_EQ(b.timers.size(), 1u);
  EXPECT_EQ(b.timers.entries()[0].value.values, (std::vector<double>{1.5, 2.5, 3.5}));
  EXPECT_EQ(b.timers.entries()[0].value.sampled_count, 2);
  EXPECT_EQ(b.timers.entries()[0].key->source(), "h2");
  ASSERT_EQ(b.sets.size(), 1u);
  EXPECT_EQ(b.sets.entries()[0].value.members.count("joe"), 1u);
  EXPECT_EQ(a.size(), b.size());
}

// docs/aggregation.md#timer-kinds: every path into a map keeps the timer's kind, and a series
// that receives both is ms.
TEST_F(PipelineTest, TimerKindOnEveryPath) {
  Pipeline direct(&options_), staged(&options_);
  MetricMap a, b;
  protocol::Parser parser;
  ParsedMetric m;
  Event e;
  protocol::ParseError error;
  for (const char* line : {"h:1|h", "h:2|h", "ms:1|ms", "both:1|h", "both:2|ms", "both:3|h"}) {
    ASSERT_EQ(parser.Parse(line, m, e, error), protocol::LineKind::kMetric) << line;
    direct.Receive(m, "", 7, a);
    staged.Stage(m, "", b);
    staged.Commit(7, b);  // each line's views die with the next Parse
  }
  AggregatedSeries s;
  s.type = MetricType::kTimer;
  const double v = 4;
  s.timer_values = &v;
  s.timer_count = 1;
  s.sample_count = 1;
  s.name = "agg.h";
  s.timer_kind = TimerKind::kHistogram;
  ASSERT_TRUE(direct.ReceiveAggregated(s, "", 7, a));
  s.name = "agg.default";  // AggregatedSeries' default: ms
  s.timer_kind = AggregatedSeries{}.timer_kind;
  ASSERT_TRUE(direct.ReceiveAggregated(s, "", 7, a));
  const std::map<std::string, TimerKindSet> want = {
      {"h", TimerKindBit(TimerKind::kHistogram)},
      {"ms", TimerKindBit(TimerKind::kMs)},
      {"both", TimerKindBit(TimerKind::kHistogram) | TimerKindBit(TimerKind::kMs)},
      {"agg.h", TimerKindBit(TimerKind::kHistogram)},
      {"agg.default", TimerKindBit(TimerKind::kMs)}};
  std::map<std::string, TimerKindSet> got_a, got_b;
  for (const auto& entry : a.timers.entries())
    got_a[std::string(entry.key->name())] = entry.value.kinds;
  for (const auto& entry : b.timers.entries())
    got_b[std::string(entry.key->name())] = entry.value.kinds;
  EXPECT_EQ(got_a, want);
  got_b["agg.h"] = want.at("agg.h");  // only `direct` received the aggregated series
  got_b["agg.default"] = want.at("agg.default");
  EXPECT_EQ(got_b, want);
}

TEST_F(PipelineTest, AggregatedSeriesFollowTheSameKeyRulesWithoutARate) {
  options_.ignore_host = true;  // the source is given: host: tags stay tags
  options_.default_tags = {"env:prod"};
  Pipeline p(&options_);
  AggregatedSeries s;
  s.type = MetricType::kCounter;
  s.name = "c";
  s.tags = {"b", "host:x", "a", "b"};
  s.counter = 7;
  p.ReceiveAggregated(s, "h", 5, map_);
  // The same series as a parsed line from h: one entry, values added as they are.
  ParsedMetric m;
  m.name = "c";
  m.values = {1};
  m.rate = 0.5;
  m.tags = {"a", "host:x", "b"};
  p.ReceiveWithSource(m, "h", 6, map_);
  ASSERT_EQ(map_.counters.size(), 1u);
  EXPECT_EQ(map_.counters.entries()[0].key->TagsKey(), "a,b,env:prod,host:x,s:h");
  EXPECT_EQ(map_.counters.entries()[0].value.value, 9);  // 7 + int(1 / 0.5)

  const double values[] = {1, 2, 3};
  s.type = MetricType::kTimer;
  s.timer_values = values;
  s.timer_count = 3;
  s.sample_count = 30;
  p.ReceiveAggregated(s, "", 5, map_);
  ASSERT_EQ(map_.timers.size(), 1u);
  EXPECT_EQ(map_.timers.entries()[0].value.values, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(map_.timers.entries()[0].value.sampled_count, 30);

  s.type = MetricType::kSet;
  s.set_members = {"x", "y", "x"};
  p.ReceiveAggregated(s, "", 5, map_);
  ASSERT_EQ(map_.sets.size(), 1u);
  EXPECT_EQ(map_.sets.entries()[0].value.members, (SetMembers{"x", "y"}));
}

std::shared_ptr<const filter::FilterSet> Filters(const char* json, std::vector<std::string> names) {
  config::Config c;
  c.options.filters = std::move(names);
  c.file = nlohmann::json::parse(json);
  auto set = filter::FilterSet::Load(c, nullptr);
  EXPECT_TRUE(set.ok()) << set.error();
  return std::make_shared<const filter::FilterSet>(std::move(*set));
}

TEST_F(PipelineTest, FiltersDropTagsAndHostThenCollidingSeriesMerge) {
  options_.default_tags = {"env:prod"};
  options_.filters = Filters(R"({"filter": {
      "global": {"match-metrics": "f", "drop-host": true, "drop-tags": "request_path:*"}}})",
                             {"global"});
  Pipeline p(&options_);
  Counter(p, {"request_path:/a"}, "10.0.0.1");
  Counter(p, {"request_path:/b"}, "10.0.0.2");
  // One series: the paths and the sources are gone.
  ASSERT_EQ(map_.counters.size(), 1u);
  EXPECT_EQ(Only(map_).TagsKey(), "env:prod");
  EXPECT_EQ(map_.counters.entries()[0].value.value, 4);
}

TEST_F(PipelineTest, ADefaultTagEqualToADroppedTagIsLeftOut) {
  options_.default_tags = {"request_path:/a"};
  options_.filters =
      Filters(R"({"filter": {"paths": {"drop-tags": "request_path:*"}}})", {"paths"});
  Pipeline p(&options_);
  Counter(p, {"request_path:/a"}, "");
  Counter(p, {"request_path:/b"}, "");
  ASSERT_EQ(map_.counters.size(), 2u);
  std::set<std::string> keys;
  for (const auto& e : map_.counters.entries()) keys.insert(e.key->TagsKey());
  EXPECT_EQ(keys, (std::set<std::string>{"", "request_path:/a"}));
}

TEST_F(PipelineTest, DropMetricFiltersEveryPathButEvents) {
  options_.filters =
      Filters(R"({"filter": {"noisy": {"match-metrics": "f", "drop-metric": true}}})", {"noisy"});
  Pipeline p(&options_);
  Counter(p, {}, "10.0.0.1");  // parsed (Stage + Commit)
  ParsedMetric m;
  m.name = "f";
  m.values = {1};
  p.ReceiveWithSource(m, "host", 1, map_);  // internal metrics take this path
  AggregatedSeries a;
  a.name = "f";
  a.counter = 1;
  p.ReceiveAggregated(a, "h", 1, map_);  // forwarded series
  EXPECT_EQ(map_.counters.size(), 0u);
  EXPECT_EQ(p.filtered(), 3u);
  m.name = "g";
  p.ReceiveWithSource(m, "host", 1, map_);
  EXPECT_EQ(map_.counters.size(), 1u);
  Event e;
  e.title = "f";
  p.ReceiveEvent(e, "10.0.0.1");  // events are never filtered (nothing to assert but no drop)
  EXPECT_EQ(p.filtered(), 3u);
}

TEST_F(PipelineTest, EventsTakeTheSenderAndDefaultTags) {
  options_.ignore_host = true;
  options_.default_tags = {"env:prod"};
  Pipeline p(&options_);
  Event e;
  e.source = "from-h-attribute";
  e.tags = {"env:prod", "t"};
  p.ReceiveEvent(e, "10.1.2.3");
  EXPECT_EQ(e.source, "10.1.2.3");
  EXPECT_EQ(e.tags, (std::vector<std::string>{"env:prod", "t"}));
}

// ---------------------------------------------------------------------------------------------
// The value rules of every ingestion path (issue 14 item 7): a series that arrives aggregated
// (HTTP /v2/raw) is refused where the same value on a line is a bad line.

TEST_F(PipelineTest, AggregatedSeriesObeyTheParsersValueRules) {
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  Pipeline p(&options_);
  protocol::Parser parser;
  for (double v : {nan, -nan, inf, -inf, 0.0, -1.5, 1e308}) {
    // The parser's verdict on the same value (Go's %v text: NaN, +Inf, -Inf, numbers).
    const std::string text = std::isnan(v)   ? "NaN"
                             : std::isinf(v) ? (v > 0 ? "+Inf" : "-Inf")
                                             : std::to_string(v);
    ParsedMetric m;
    Event e;
    protocol::ParseError err;
    const bool line_ok = parser.Parse("g:" + text + "|g", m, e, err) == protocol::LineKind::kMetric;
    const bool timer_line_ok =
        parser.Parse("t:1:" + text + "|ms", m, e, err) == protocol::LineKind::kMetric;

    AggregatedSeries g;
    g.type = MetricType::kGauge;
    g.name = "g";
    g.gauge = v;
    EXPECT_EQ(p.ReceiveAggregated(g, "", 1, map_), line_ok) << text;
    const double values[] = {1, v};
    AggregatedSeries t;
    t.type = MetricType::kTimer;
    t.name = "t";
    t.timer_values = values;
    t.timer_count = 2;
    t.sample_count = 1;
    EXPECT_EQ(p.ReceiveAggregated(t, "", 1, map_), timer_line_ok) << text;
  }
  EXPECT_EQ(p.refused(), 4u);  // NaN and -NaN, gauge and timer
  // Nothing of a refused series reached the map: the NaN gauge did not overwrite the last one.
  ASSERT_EQ(map_.gauges.size(), 1u);
  EXPECT_EQ(map_.gauges.entries()[0].value.value, 1e308);
  ASSERT_EQ(map_.timers.size(), 1u);
  EXPECT_EQ(map_.timers.entries()[0].value.values.size(), 10u);  // 5 accepted series x 2
}

TEST_F(PipelineTest, InternalMetricsObeyTheValueRulesToo) {
  Pipeline p(&options_);
  ParsedMetric m;
  m.type = MetricType::kGauge;
  m.name = "internal";
  m.values = {1};
  p.ReceiveWithSource(m, "host", 1, map_);
  m.values = {std::nan("")};
  p.ReceiveWithSource(m, "host", 2, map_);  // would overwrite 1 with NaN
  m.values = {3};
  m.rate = 0;
  p.ReceiveWithSource(m, "host", 3, map_);
  ASSERT_EQ(map_.gauges.size(), 1u);
  EXPECT_EQ(map_.gauges.entries()[0].value.value, 1);
  EXPECT_EQ(p.refused(), 2u);
}

TEST_F(PipelineTest, AggregatedTimerSampleCountMustBeFiniteAndNotNegative) {
  Pipeline p(&options_);
  const double values[] = {1};
  AggregatedSeries t;
  t.type = MetricType::kTimer;
  t.name = "t";
  t.timer_values = values;
  t.timer_count = 1;
  for (double c : {std::nan(""), std::numeric_limits<double>::infinity(), -1.0}) {
    t.sample_count = c;
    EXPECT_FALSE(p.ReceiveAggregated(t, "", 1, map_)) << c;
  }
  EXPECT_EQ(map_.timers.size(), 0u);
  for (double c : {0.0, 1.0, 1e300}) {
    t.sample_count = c;
    EXPECT_TRUE(p.ReceiveAggregated(t, "", 1, map_)) << c;
  }
  EXPECT_EQ(map_.timers.entries()[0].value.sampled_count, 1e300 + 1);
  EXPECT_EQ(p.refused(), 3u);
}

TEST_F(PipelineTest, AggregatedCountersSaturate) {
  Pipeline p(&options_);
  AggregatedSeries c;
  c.name = "c";
  c.counter = std::numeric_limits<int64_t>::max() - 1;
  EXPECT_TRUE(p.ReceiveAggregated(c, "", 1, map_));
  EXPECT_TRUE(p.ReceiveAggregated(c, "", 1, map_));
  EXPECT_EQ(map_.counters.entries()[0].value.value, std::numeric_limits<int64_t>::max());
  c.name = "d";
  c.counter = std::numeric_limits<int64_t>::min();
  EXPECT_TRUE(p.ReceiveAggregated(c, "", 1, map_));
  EXPECT_TRUE(p.ReceiveAggregated(c, "", 1, map_));
  EXPECT_EQ(map_.counters.entries()[1].value.value, std::numeric_limits<int64_t>::min());
}

TEST_F(PipelineTest, AggregatedHistogramTimersObeyMaxHistogramBounds) {
  options_.max_histogram_bounds = 3;
  Pipeline p(&options_);
  const double values[] = {1};
  AggregatedSeries t;
  t.type = MetricType::kTimer;
  t.name = "t";
  t.timer_values = values;
  t.timer_count = 1;
  t.sample_count = 1;
  t.tags = {"a", "gsd_histogram:1_2_3"};
  EXPECT_TRUE(p.ReceiveAggregated(t, "", 1, map_));
  t.tags = {"gsd_histogram:1_2_3_4", "a"};
  EXPECT_FALSE(p.ReceiveAggregated(t, "", 1, map_));
  t.tags = {"gsd_histogram:1__3_"};  // empty pieces count: 4
  EXPECT_FALSE(p.ReceiveAggregated(t, "", 1, map_));
  t.tags = {"gsd_histogramx:1_2_3_4", "x_gsd_histogram:1_2_3_4"};  // not the tag
  EXPECT_TRUE(p.ReceiveAggregated(t, "", 1, map_));
  AggregatedSeries c;  // other types do not read the tag
  c.name = "c";
  c.tags = {"gsd_histogram:1_2_3_4"};
  EXPECT_TRUE(p.ReceiveAggregated(c, "", 1, map_));
  EXPECT_EQ(p.refused(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Event tags (issue 14 item 11): de-duplicated as gostatsd's tag handler does.

TEST_F(PipelineTest, EventTagsAreDeduplicatedAsGostatsd) {
  Pipeline p(&options_);
  Event e;
  e.tags = {"t1", "t1"};  // _e{1,1}:a|b|#t1,t1
  p.ReceiveEvent(e, "");
  EXPECT_EQ(e.tags, (std::vector<std::string>{"t1"}));
  // A repeat is replaced by the last tag (gostatsd's order, not sorted).
  e.tags = {"a", "a", "b", "c"};
  p.ReceiveEvent(e, "");
  EXPECT_EQ(e.tags, (std::vector<std::string>{"a", "c", "b"}));
  e.tags = {"x", "y", "x", "x", "z", "y"};
  p.ReceiveEvent(e, "");
  EXPECT_EQ(e.tags, (std::vector<std::string>{"x", "y", "z"}));
}

TEST_F(PipelineTest, EventTagsDeduplicatedTheSameWithManyTagsAndDefaults) {
  // Beyond a handful of tags a hash set decides: the result is the same as the linear scan's.
  std::vector<std::string> tags, want_order;
  for (int i = 0; i < 40; ++i) tags.push_back("t" + std::to_string(i % 7));
  std::vector<std::string> small(tags.begin(), tags.begin() + 10);
  std::vector<std::string> defaults = {"t3", "env:prod"};
  std::vector<std::string> a = small;
  UniqueEventTags(a, defaults);  // 12 in all: linear
  EXPECT_EQ(a, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "env:prod"}));
  std::vector<std::string> b = tags;
  UniqueEventTags(b, defaults);  // 42: hash set
  std::vector<std::string> sorted = b;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted,
            (std::vector<std::string>{"env:prod", "t0", "t1", "t2", "t3", "t4", "t5", "t6"}));
  EXPECT_EQ(b.back(), "env:prod");
  // Default tags already on the event are not added twice; the event's own repeats go too.
  options_.default_tags = {"env:prod", "t"};
  Pipeline p(&options_);
  Event e;
  e.tags = {"t", "env:prod", "t"};
  p.ReceiveEvent(e, "");
  EXPECT_EQ(e.tags, (std::vector<std::string>{"t", "env:prod"}));
}

// An index provider (as k8s): web-1 by IP and by container, web-2 by IP, agent (host network) by
// container only.
class PodsProvider : public cloud::Provider {
 public:
  std::string_view name() const override { return "pods"; }
  bool answers_lookups() const override { return false; }
  Status Start() override {
    auto web1 = std::make_shared<const cloud::Instance>(cloud::Instance{"ns/web-1", {"app:web"}});
    auto web2 = std::make_shared<const cloud::Instance>(cloud::Instance{"ns/web-2", {"app:web"}});
    auto agent = std::make_shared<const cloud::Instance>(cloud::Instance{"ns/agent", {"app:ag"}});
    auto by_ip = std::make_shared<cloud::Index>();
    (*by_ip)["10.1.0.1"] = web1;
    (*by_ip)["10.1.0.2"] = web2;
    auto by_container = std::make_shared<cloud::ContainerIndex>();
    (*by_container)["c-web1"] = web1;
    (*by_container)["c-agent"] = agent;
    publish_(by_ip, by_container);
    return {};
  }
};

// docs/cloud-providers.md#origin-detection: a known container id decides the pod whatever the
// sender; an unknown one (or a cgroup inode) falls back to the sender's IP.
TEST_F(PipelineTest, AKnownContainerIdDecidesThePodElseTheSenderDoes) {
  cloud::CloudHandler handler(std::make_unique<PodsProvider>(), cloud::HandlerOptions{});
  ASSERT_TRUE(handler.Start().ok());
  cloud::Enricher enricher(&handler);
  Pipeline p(&options_);
  p.set_cloud(&enricher);
  struct Case {
    std::string_view container_id;
    std::string_view sender;
    std::string_view source;
    std::string_view tags;
  };
  const Case cases[] = {
      {"ci-c-agent", "10.0.0.1", "ns/agent", "app:ag,x:1"},   // a node IP: the container decides
      {"ci-c-agent", "10.1.0.2", "ns/agent", "app:ag,x:1"},   // over another pod's IP too
      {"c-web1", "10.0.0.1", "ns/web-1", "app:web,x:1"},      // the bare (1.2) form
      {"in-42,ci-c-web1", "", "ns/web-1", "app:web,x:1"},     // no sender at all
      {"ci-unknown", "10.1.0.2", "ns/web-2", "app:web,x:1"},  // not known: the sender's IP
      {"in-42", "10.1.0.1", "ns/web-1", "app:web,x:1"},       // an inode is not resolved
      {"ci-unknown", "10.0.0.1", "10.0.0.1", "x:1"},          // neither known: unchanged
      {"", "10.1.0.2", "ns/web-2", "app:web,x:1"},            // no container id: the IP
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.container_id) + " from " + std::string(c.sender));
    MetricMap map;
    ParsedMetric m;
    m.type = MetricType::kCounter;
    m.name = "f";
    m.values = {1};
    m.tags = {"x:1"};
    m.container_id = c.container_id;
    ASSERT_TRUE(p.Stage(m, c.sender, map, 1, true));
    p.Commit(1, map);
    ASSERT_EQ(map.counters.size(), 1u);
    EXPECT_EQ(map.counters.entries().at(0).key->source(), c.source);
    EXPECT_EQ(map.counters.entries().at(0).key->tags(), c.tags);
  }
}

}  // namespace
}  // namespace cstatsd::pipeline
