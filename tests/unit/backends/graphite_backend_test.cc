// Golden output of the graphite backend (docs/backends.md#graphite): every mode, prefix and metric
// type, and the documented examples.
#include "backends/graphite/graphite_backend.h"

#include <gtest/gtest.h>

#include <limits>

#include "unit/support/series.h"

namespace cstatsd::backends::graphite {
namespace {

using test::Key;

snapshot::FlushSnapshot Snapshot() {
  snapshot::FlushSnapshot s;
  s.flush_time_ns = 1234LL * 1000000000;
  s.flush_seconds = 1;
  return s;
}

GraphiteOptions SpecOptions(std::string mode) {
  GraphiteOptions o;
  o.mode = std::move(mode);
  o.global_prefix = "gp";
  o.prefix_counter = "pc";
  o.prefix_timer = "pt";
  o.prefix_gauge = "pg";
  o.prefix_set = "ps";
  o.global_suffix = "gs";
  return o;
}

std::string Format(const snapshot::FlushSnapshot& s, const GraphiteOptions& o) {
  std::string out;
  GraphiteBackend::Format(s, o, out);
  return out;
}

TEST(GraphiteBackendTest, SpecExampleTagsMode) {
  auto s = Snapshot();
  s.counters.push_back({Key(MetricType::kCounter, "stat1", "k:v,t"), 20, 4.4});
  s.gauges.push_back({Key(MetricType::kGauge, "g1"), 3});
  s.sets.push_back({Key(MetricType::kSet, "users"), 3});
  auto names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"count_90"});
  s.percentile_names = names;
  s.percentiles.push_back({(*names)[0], 90});
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "t1");
  t.percentiles_begin = 0;
  t.percentiles_end = 1;
  s.timers.push_back(t);
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, "t1", "gsd_histogram:10");
  h.histogram = true;
  s.buckets.push_back({10, 4});
  s.buckets.push_back({std::numeric_limits<double>::infinity(), 19});
  h.buckets_begin = 0;
  h.buckets_end = 2;
  s.timers.push_back(h);

  GraphiteOptions o = SpecOptions("tags");
  o.disabled.lower = o.disabled.upper = o.disabled.count = o.disabled.count_per_second = true;
  o.disabled.mean = o.disabled.median = o.disabled.stddev = o.disabled.sum = true;
  o.disabled.sum_squares = true;
  EXPECT_EQ(Format(s, o),
            "gp.pc.stat1.count.gs;k=v;unnamed=t 20 1234\n"
            "gp.pc.stat1.rate.gs;k=v;unnamed=t 4.400000 1234\n"
            "gp.pt.t1.count_90.gs 90.000000 1234\n"
            "gp.pc.t1.histogram.gs;gsd_histogram=10;le=10 4 1234\n"
            "gp.pc.t1.histogram.gs;gsd_histogram=10;le=+Inf 19 1234\n"
            "gp.pg.g1.gs 3.000000 1234\n"
            "gp.ps.users.gs 3 1234\n");
}

// docs/backends.md#graphite's histogram line literally: a histogram timer whose key has no other
// tag, so only `le`.
TEST(GraphiteBackendTest, SpecExampleHistogramLine) {
  auto s = Snapshot();
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, "t1");
  h.histogram = true;
  s.buckets.push_back({std::numeric_limits<double>::infinity(), 19});
  h.buckets_begin = 0;
  h.buckets_end = 1;
  s.timers.push_back(h);
  EXPECT_EQ(Format(s, SpecOptions("tags")), "gp.pc.t1.histogram.gs;le=+Inf 19 1234\n");
}

TEST(GraphiteBackendTest, SpecExampleLegacyMode) {
  auto s = Snapshot();
  s.counters.push_back({Key(MetricType::kCounter, "stat1", "k:v"), 5, 1.1});
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "t1");
  s.timers.push_back(t);
  s.gauges.push_back({Key(MetricType::kGauge, "g1"), 2});
  s.sets.push_back({Key(MetricType::kSet, "s1"), 7});
  GraphiteOptions o = SpecOptions("legacy");
  o.disabled.upper = o.disabled.count = o.disabled.count_per_second = o.disabled.mean = true;
  o.disabled.median = o.disabled.stddev = o.disabled.sum = o.disabled.sum_squares = true;
  EXPECT_EQ(Format(s, o),
            "stats_counts.stat1.gs 5 1234\n"
            "stats.stat1.gs 1.100000 1234\n"
            "stats.timers.t1.lower.gs 0.000000 1234\n"
            "stats.gauges.g1.gs 2.000000 1234\n"
            "stats.sets.s1.gs 7 1234\n");
}

TEST(GraphiteBackendTest, BasicModeDropsTagsAndTimersHaveEverySubMetric) {
  auto s = Snapshot();
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "t", "a:b", "10.0.0.1");
  t.count = 3;
  t.min = 2;
  t.max = 12;
  t.count_per_second = 0.3;
  t.mean = 6;
  t.median = 4;
  t.stddev = 4.320493798938574;
  t.sum = 18;
  t.sum_squares = 164;
  s.timers.push_back(t);
  GraphiteOptions o;  // defaults: stats / counters / timers ...
  o.mode = "basic";
  EXPECT_EQ(Format(s, o),
            "stats.timers.t.lower 2.000000 1234\n"
            "stats.timers.t.upper 12.000000 1234\n"
            "stats.timers.t.count 3 1234\n"
            "stats.timers.t.count_ps 0.300000 1234\n"
            "stats.timers.t.mean 6.000000 1234\n"
            "stats.timers.t.median 4.000000 1234\n"
            "stats.timers.t.std 4.320494 1234\n"
            "stats.timers.t.sum 18.000000 1234\n"
            "stats.timers.t.sum_squares 164.000000 1234\n");
}

// A histogram timer with buckets 10 and +Inf, tagged env:prod, from 10.0.0.1.
void AddHistogram(snapshot::FlushSnapshot& s, std::string_view name) {
  snapshot::TimerPoint h;
  h.key = Key(MetricType::kTimer, name, "env:prod,gsd_histogram:10", "10.0.0.1");
  h.histogram = true;
  h.buckets_begin = static_cast<uint32_t>(s.buckets.size());
  s.buckets.push_back({10, 4});
  s.buckets.push_back({std::numeric_limits<double>::infinity(), 19});
  h.buckets_end = static_cast<uint32_t>(s.buckets.size());
  s.timers.push_back(h);
}

TEST(GraphiteBackendTest, BasicModeGaugeSetAndHistogram) {
  auto s = Snapshot();
  s.gauges.push_back({Key(MetricType::kGauge, "g", "env:prod", "10.0.0.1"), 2.5});
  s.sets.push_back({Key(MetricType::kSet, "s", "env:prod", "10.0.0.1"), 7});
  AddHistogram(s, "h");
  GraphiteOptions o;
  o.mode = "basic";
  // No tags at all, so the two buckets share one name (as gostatsd: tags are dropped).
  EXPECT_EQ(Format(s, o),
            "stats.counters.h.histogram 4 1234\n"
            "stats.counters.h.histogram 19 1234\n"
            "stats.gauges.g 2.500000 1234\n"
            "stats.sets.s 7 1234\n");
  o = SpecOptions("basic");
  EXPECT_EQ(Format(s, o),
            "gp.pc.h.histogram.gs 4 1234\n"
            "gp.pc.h.histogram.gs 19 1234\n"
            "gp.pg.g.gs 2.500000 1234\n"
            "gp.ps.s.gs 7 1234\n");
}

TEST(GraphiteBackendTest, LegacyModeHistogram) {
  auto s = Snapshot();
  AddHistogram(s, "h");
  // Legacy ignores the prefix keys but keeps the suffix: stats.<name>.histogram.
  EXPECT_EQ(Format(s, SpecOptions("legacy")),
            "stats.h.histogram.gs 4 1234\n"
            "stats.h.histogram.gs 19 1234\n");
}

TEST(GraphiteBackendTest, TagsModeTimerSubMetricsCarryTheTags) {
  auto s = Snapshot();
  auto names =
      std::make_shared<std::vector<std::string>>(std::vector<std::string>{"count_90", "upper_90"});
  s.percentile_names = names;
  s.percentiles.push_back({(*names)[0], 3});
  s.percentiles.push_back({(*names)[1], 12});
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "t1", "k:v,t", "10.0.0.1");
  t.count = 3;
  t.min = 2;
  t.max = 12;
  t.count_per_second = 0.3;
  t.mean = 6;
  t.median = 4;
  t.stddev = 4.320493798938574;
  t.sum = 18;
  t.sum_squares = 164;
  t.percentiles_begin = 0;
  t.percentiles_end = 2;
  s.timers.push_back(t);
  EXPECT_EQ(Format(s, SpecOptions("tags")),
            "gp.pt.t1.lower.gs;k=v;unnamed=t;host=10.0.0.1 2.000000 1234\n"
            "gp.pt.t1.upper.gs;k=v;unnamed=t;host=10.0.0.1 12.000000 1234\n"
            "gp.pt.t1.count.gs;k=v;unnamed=t;host=10.0.0.1 3 1234\n"
            "gp.pt.t1.count_ps.gs;k=v;unnamed=t;host=10.0.0.1 0.300000 1234\n"
            "gp.pt.t1.mean.gs;k=v;unnamed=t;host=10.0.0.1 6.000000 1234\n"
            "gp.pt.t1.median.gs;k=v;unnamed=t;host=10.0.0.1 4.000000 1234\n"
            "gp.pt.t1.std.gs;k=v;unnamed=t;host=10.0.0.1 4.320494 1234\n"
            "gp.pt.t1.sum.gs;k=v;unnamed=t;host=10.0.0.1 18.000000 1234\n"
            "gp.pt.t1.sum_squares.gs;k=v;unnamed=t;host=10.0.0.1 164.000000 1234\n"
            "gp.pt.t1.count_90.gs;k=v;unnamed=t;host=10.0.0.1 3.000000 1234\n"
            "gp.pt.t1.upper_90.gs;k=v;unnamed=t;host=10.0.0.1 12.000000 1234\n");
}

TEST(GraphiteBackendTest, TagsModeSplitsATagAtItsFirstColon) {
  auto s = Snapshot();
  s.gauges.push_back({Key(MetricType::kGauge, "g", "k:v:w,url:http://x"), 1});
  GraphiteOptions o;
  EXPECT_EQ(Format(s, o), "stats.gauges.g;k=v:w;url=http://x 1.000000 1234\n");
}

TEST(GraphiteBackendTest, TagsModeAddsTheSourceAsHostUnlessTagged) {
  auto s = Snapshot();
  s.gauges.push_back({Key(MetricType::kGauge, "g", "env:prod", "10.0.0.1"), 1});
  s.gauges.push_back({Key(MetricType::kGauge, "h", "host:web1", "10.0.0.1"), 1});
  GraphiteOptions o;
  EXPECT_EQ(Format(s, o),
            "stats.gauges.g;env=prod;host=10.0.0.1 1.000000 1234\n"
            "stats.gauges.h;host=web1 1.000000 1234\n");
}

TEST(GraphiteBackendTest, PrefixesAreTrimmedNormalisedAndMayBeEmpty) {
  auto s = Snapshot();
  s.counters.push_back({Key(MetricType::kCounter, "c"), 1, 1});
  GraphiteOptions o;
  o.mode = "basic";
  o.global_prefix = ".my prefix.";
  o.prefix_counter = "";
  o.global_suffix = ".a/b.";
  EXPECT_EQ(Format(s, o),
            "my_prefix.c.count.a-b 1 1234\n"
            "my_prefix.c.rate.a-b 1.000000 1234\n");
  o.global_prefix = "";
  o.global_suffix = "";
  EXPECT_EQ(Format(s, o), "c.count 1 1234\nc.rate 1.000000 1234\n");
}

TEST(GraphiteBackendTest, Normalise) {
  EXPECT_EQ(GraphiteNormalise("a b\t\tc/d$e.f-g_h"), "a_b_c-de.f-g_h");
  EXPECT_EQ(GraphiteNormalise("é"), "");
}

TEST(GraphiteBackendTest, ConfigurationErrorsNameTheKey) {
  config::Config c;
  c.file = nlohmann::json::parse(R"({"graphite": {"mode": "fancy", "dial_timeout": "0s",
                                     "address": ""}})");
  auto o = GraphiteOptions::From(c);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.error().find("graphite.mode"), std::string::npos) << o.error();
  EXPECT_NE(o.error().find("graphite.dial_timeout"), std::string::npos) << o.error();
  EXPECT_NE(o.error().find("graphite.address"), std::string::npos) << o.error();
}

// Issue 14 item 5: a port out of range was taken modulo 65536 when dialling.
TEST(GraphiteBackendTest, AddressPortIsChecked) {
  for (const char* address : {"carbon:99999", "carbon:0", "carbon:x", "carbon", ":2003"}) {
    config::Config c;
    c.file = nlohmann::json::parse(std::string(R"({"graphite": {"address": ")") + address + "\"}}");
    auto o = GraphiteOptions::From(c);
    ASSERT_FALSE(o.ok()) << address;
    EXPECT_EQ(o.error().rfind("graphite.address: ", 0), 0u) << o.error();
  }
  for (const char* address : {"carbon:2003", "127.0.0.1:65535", "[::1]:2003"}) {
    config::Config c;
    c.file = nlohmann::json::parse(std::string(R"({"graphite": {"address": ")") + address + "\"}}");
    EXPECT_TRUE(GraphiteOptions::From(c).ok()) << address;
  }
}

TEST(GraphiteBackendTest, PrefixSetsSpellingIsAccepted) {
  config::Config c;
  c.file = nlohmann::json::parse(R"({"graphite": {"prefix_sets": "uniques"}})");
  auto o = GraphiteOptions::From(c);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->prefix_set, "uniques");
}

}  // namespace
}  // namespace cstatsd::backends::graphite
