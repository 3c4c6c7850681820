// Golden tests: the mapping examples of statsd_exporter's README, copied unchanged, with the
// statsd names and the Prometheus series the README gives for them (where it gives none, the
// series its rules produce: docs/prometheus.md#mapping).
#include <gtest/gtest.h>

#include "mapping_test_util.h"

namespace cstatsd::prometheus {
namespace {

using testing::MustParse;
using testing::ParseError;
using testing::Resolve;

TEST(MappingGoldenTest, GlobMatching) {
  const auto c = MustParse(R"(
mappings:
- match: "test.dispatcher.*.*.*"
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
    action: "$2"
    outcome: "$3"
    job: "test_dispatcher"
- match: "*.signup.*.*"
  name: "signup_events_total"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
)");
  EXPECT_EQ(
      Resolve(c, "test.dispatcher.FooProcessor.send.success"),
      R"(dispatcher_events_total{action="send",job="test_dispatcher",outcome="success",processor="FooProcessor"})");
  EXPECT_EQ(
      Resolve(c, "foo_product.signup.facebook.failure"),
      R"(signup_events_total{job="foo_product_server",outcome="failure",provider="facebook"})");
  EXPECT_EQ(Resolve(c, "test.web-server.foo.bar"), "test_web_server_foo_bar{}");
  EXPECT_FALSE(c.Resolve("test.web-server.foo.bar", StatsdKind::kCounter).matched);
}

TEST(MappingGoldenTest, NameFromCaptures) {
  const auto glob = MustParse(R"(
mappings:
- match: "test.*.*.counter"
  name: "${2}_total"
  labels:
    provider: "$1"
)");
  const auto regex = MustParse(R"(
mappings:
- match: "test\\.(\\w+)\\.(\\w+)\\.counter"
  match_type: regex
  name: "${2}_total"
  labels:
    provider: "$1"
)");
  for (const MappingConfig* c : {&glob, &regex}) {
    EXPECT_EQ(Resolve(*c, "test.aws.requests.counter"), R"(requests_total{provider="aws"})");
    EXPECT_EQ(Resolve(*c, "test.aws.requests.gauge"), "test_aws_requests_gauge{}");
  }
}

TEST(MappingGoldenTest, YamlEscapesInDoubleQuotesAreAnError) {
  // The README's "will not work" example: "\w" is no escape in a double-quoted YAML string.
  const std::string e = ParseError(R"(mappings:
- match: "test\\.(\w+)\\.(\w+)\\.counter"
  match_type: regex
  name: "${2}_total"
  labels:
    provider: "$1"
)");
  EXPECT_TRUE(e.starts_with("test.yml:2:")) << e;
}

TEST(MappingGoldenTest, RegexWithFourGroups) {
  const auto c = MustParse(R"(
mappings:
- match: "(.*)\\.(.*)--(.*)\\.status\\.(.*)\\.count"
  match_type: regex
  name: "request_total"
  labels:
    hostname: "$1"
    exec: "$2"
    protocol: "$3"
    code: "$4"
)");
  EXPECT_EQ(Resolve(c, "web01.nginx--http.status.200.count"),
            R"(request_total{code="200",exec="nginx",hostname="web01",protocol="http"})");
}

TEST(MappingGoldenTest, SpecialMatchGroupZero) {
  const auto c = MustParse(R"(
mappings:
- match: ".+"
  match_type: regex
  name: "$0"
  labels:
    statsd_metric_name: "$0"
)");
  // The README: still mapped to my_statsd_counter, with the label holding the unchanged name.
  EXPECT_EQ(Resolve(c, "my.statsd_counter"),
            R"(my_statsd_counter{statsd_metric_name="my.statsd_counter"})");
}

TEST(MappingGoldenTest, HelpText) {
  const auto c = MustParse(R"(
mappings:
- match: "http.request.*"
  help: "Total number of http requests"
  name: "http_requests_total"
  labels:
    code: "$1"
)");
  EXPECT_EQ(Resolve(c, "http.request.404"), R"(http_requests_total{code="404"})");
}

TEST(MappingGoldenTest, SummaryOptions) {
  const auto c = MustParse(R"(
mappings:
- match: "test.timing.*.*.*"
  observer_type: summary
  name: "my_timer"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
  summary_options:
    quantiles:
      - quantile: 0.99
        error: 0.001
      - quantile: 0.95
        error: 0.01
      - quantile: 0.9
        error: 0.05
      - quantile: 0.5
        error: 0.005
    max_age: 30s
    age_buckets: 3
    buf_cap: 1000
)");
  const Mapping m = c.Resolve("test.timing.web.aws.ok", StatsdKind::kObserver);
  EXPECT_EQ(testing::Series(m), R"(my_timer{job="web_server",outcome="ok",provider="aws"})");
  EXPECT_EQ(m.observer, ObserverType::kSummary);
  ASSERT_EQ(m.quantiles.size(), 4u);
  EXPECT_DOUBLE_EQ(m.quantiles[0].quantile, 0.99);
  EXPECT_DOUBLE_EQ(m.quantiles[0].error, 0.001);
  EXPECT_DOUBLE_EQ(m.quantiles[3].quantile, 0.5);
  EXPECT_DOUBLE_EQ(m.quantiles[3].error, 0.005);
}

TEST(MappingGoldenTest, HistogramOptions) {
  const auto c = MustParse(R"(
mappings:
- match: "test.timing.*.*.*"
  observer_type: histogram
  histogram_options:
    buckets: [ 0.01, 0.025, 0.05, 0.1 ]
  name: "my_timer"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
)");
  const Mapping m = c.Resolve("test.timing.web.aws.ok", StatsdKind::kObserver);
  EXPECT_EQ(m.observer, ObserverType::kHistogram);
  EXPECT_EQ(m.buckets, (std::vector<double>{0.01, 0.025, 0.05, 0.1}));
}

TEST(MappingGoldenTest, GlobalDefaults) {
  const auto c = MustParse(R"(
defaults:
  observer_type: histogram
  histogram_options:
    buckets: [.005, .01, .025, .05, .1, .25, .5, 1, 2.5 ]
  summary_options:
    quantiles:
      - quantile: 0.99
        error: 0.001
      - quantile: 0.95
        error: 0.01
      - quantile: 0.9
        error: 0.05
      - quantile: 0.5
        error: 0.005
    max_age: 5m
    age_buckets: 2
    buf_cap: 1000
  match_type: glob
  glob_disable_ordering: false
  ttl: 0 # metrics do not expire
mappings:
# This will be a histogram using the buckets set in `defaults`.
- match: "test.timing.*.*.*"
  name: "my_timer"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
# This will be a summary using the summary_options set in `defaults`
- match: "other.distribution.*.*.*"
  observer_type: summary
  name: "other_distribution"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server_other"
)");
  const Mapping h = c.Resolve("test.timing.web.aws.ok", StatsdKind::kObserver);
  EXPECT_EQ(h.observer, ObserverType::kHistogram);
  EXPECT_EQ(h.buckets, (std::vector<double>{.005, .01, .025, .05, .1, .25, .5, 1, 2.5}));
  EXPECT_EQ(h.ttl.count(), 0);
  const Mapping s = c.Resolve("other.distribution.web.aws.ok", StatsdKind::kObserver);
  EXPECT_EQ(testing::Series(s),
            R"(other_distribution{job="web_server_other",outcome="ok",provider="aws"})");
  EXPECT_EQ(s.observer, ObserverType::kSummary);
  ASSERT_EQ(s.quantiles.size(), 4u);
  EXPECT_DOUBLE_EQ(s.quantiles[1].quantile, 0.95);
  // Unmatched names take the defaults too.
  EXPECT_EQ(c.Resolve("unmapped.timer", StatsdKind::kObserver).observer, ObserverType::kHistogram);
}

TEST(MappingGoldenTest, DropAction) {
  const auto c = MustParse(R"(
mappings:
# This metric would match as normal.
- match: "test.timing.*.*.*"
  name: "my_timer"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
# Any metric not matched will be dropped because "." matches all metrics.
- match: "."
  match_type: regex
  action: drop
  name: "dropped"
)");
  EXPECT_EQ(Resolve(c, "test.timing.web.aws.ok"),
            R"(my_timer{job="web_server",outcome="ok",provider="aws"})");
  EXPECT_TRUE(c.Resolve("anything.else", StatsdKind::kGauge).drop);
  EXPECT_TRUE(c.Resolve("test.timing.too.few", StatsdKind::kGauge).drop);
}

TEST(MappingGoldenTest, ExplicitMetricType) {
  const auto c = MustParse(R"(
mappings:
- match: "test.foo.*"
  name: "test_foo"
  match_metric_type: counter
  labels:
    provider: "$1"
)");
  EXPECT_EQ(Resolve(c, "test.foo.aws", StatsdKind::kCounter), R"(test_foo{provider="aws"})");
  EXPECT_EQ(Resolve(c, "test.foo.aws", StatsdKind::kGauge), "test_foo_aws{}");
  EXPECT_EQ(Resolve(c, "test.foo.aws", StatsdKind::kObserver), "test_foo_aws{}");
}

TEST(MappingGoldenTest, OrderingGlobRules) {
  // The README's recommended order, and the same rules unordered: the same winners.
  const char* ordered = R"(
mappings:
- {match: "a.b.c", name: "abc"}
- {match: "a.b.*", name: "abx"}
- {match: "a.*.d", name: "axd"}
- {match: "a.*.*", name: "axx"}
)";
  const char* unordered = R"(
defaults:
  glob_disable_ordering: true
mappings:
- {match: "a.*.*", name: "axx"}
- {match: "a.*.d", name: "axd"}
- {match: "a.b.*", name: "abx"}
- {match: "a.b.c", name: "abc"}
)";
  for (const char* yaml : {ordered, unordered}) {
    const auto c = MustParse(yaml);
    EXPECT_EQ(Resolve(c, "a.b.c"), "abc{}") << yaml;
    EXPECT_EQ(Resolve(c, "a.b.d"), "abx{}") << yaml;
    EXPECT_EQ(Resolve(c, "a.x.d"), "axd{}") << yaml;
    EXPECT_EQ(Resolve(c, "a.x.y"), "axx{}") << yaml;
  }
  // With ordering, the first match in the file wins even when a later one is more specific.
  const auto first = MustParse(R"(
mappings:
- {match: "a.*.*", name: "axx"}
- {match: "a.b.c", name: "abc"}
)");
  EXPECT_EQ(Resolve(first, "a.b.c"), "axx{}");
}

TEST(MappingGoldenTest, Ttl) {
  const auto c = MustParse(R"(
defaults:
  ttl: 10m
mappings:
- match: "short.*"
  name: "short"
  ttl: 1m20s
- match: "long.*"
  name: "long"
)");
  using std::chrono::seconds;
  EXPECT_EQ(c.Resolve("short.x", StatsdKind::kGauge).ttl, seconds(80));
  EXPECT_EQ(c.Resolve("long.x", StatsdKind::kGauge).ttl, seconds(600));
  EXPECT_EQ(c.Resolve("other", StatsdKind::kGauge).ttl, seconds(600));
}

}  // namespace
}  // namespace cstatsd::prometheus
