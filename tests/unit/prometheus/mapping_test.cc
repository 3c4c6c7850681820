// MappingConfig's rules one by one (docs/prometheus.md#mapping): what a glob's '*' matches, glob
// before regex, first match, match_metric_type, templates ($n, ${n}, $0, named groups, Go's
// longest-name rule), escaping of mapped names, defaults and the older keys, and the glob set
// against the one-by-one matcher it replaces.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>

#include "mapping_test_util.h"
#include "prometheus/mapping_rules.h"

namespace cstatsd::prometheus {
namespace {

using testing::MustParse;
using testing::Resolve;

TEST(MappingTest, EmptyConfigEscapesEveryName) {
  const MappingConfig none;
  EXPECT_EQ(none.size(), 0u);
  const Mapping m = none.Resolve("api.request-time", StatsdKind::kObserver);
  EXPECT_FALSE(m.matched);
  EXPECT_FALSE(m.drop);
  EXPECT_EQ(m.name, "api_request_time");
  EXPECT_TRUE(m.labels.empty());
  EXPECT_EQ(m.observer, ObserverType::kDefault);
  EXPECT_TRUE(m.buckets.empty());
  EXPECT_EQ(MustParse("").size(), 0u);
  EXPECT_EQ(MustParse("mappings:\n").size(), 0u);
  EXPECT_EQ(Resolve(MustParse("# nothing\n"), "5xx.count"), "_5xx_count{}");
}

TEST(MappingTest, GlobStarIsOneWholeField) {
  const auto c = MustParse(R"(
mappings:
- {match: "a.*.c", name: "x", labels: {vv: "$1"}}
)");
  EXPECT_EQ(Resolve(c, "a.b.c"), R"(x{vv="b"})");
  EXPECT_EQ(Resolve(c, "a..c"), R"(x{vv=""})");  // an empty field is a field
  EXPECT_EQ(Resolve(c, "a.b-c d!.c"), R"(x{vv="b-c d!"})");
  EXPECT_FALSE(c.Resolve("a.b.b.c", StatsdKind::kCounter).matched);  // never across a '.'
  EXPECT_FALSE(c.Resolve("a.c", StatsdKind::kCounter).matched);
  EXPECT_FALSE(c.Resolve("a.b.c.d", StatsdKind::kCounter).matched);
  EXPECT_FALSE(c.Resolve("xa.b.c", StatsdKind::kCounter).matched);
  EXPECT_FALSE(c.Resolve("A.b.c", StatsdKind::kCounter).matched);  // case-sensitive
}

TEST(MappingTest, GlobsBeforeRegexesWhateverTheOrder) {
  const auto c = MustParse(R"(
mappings:
- {match: "^a\\.", match_type: regex, name: "by_regex"}
- {match: "a.*", name: "by_glob"}
- {match: "b", match_type: regex, name: "first_regex"}
- {match: "b.*", match_type: regex, name: "second_regex"}
)");
  EXPECT_EQ(Resolve(c, "a.x"), "by_glob{}");
  EXPECT_EQ(Resolve(c, "a.x.y"), "by_regex{}");
  EXPECT_EQ(Resolve(c, "xbx"), "first_regex{}");  // unanchored, and the first regex wins
}

TEST(MappingTest, DefaultMatchTypeRegex) {
  const auto c = MustParse(R"(
defaults:
  match_type: regex
mappings:
- {match: "^svc_(\\w+)$", name: "svc", labels: {name: "$1"}}
- {match: "x.*", match_type: glob, name: "glob"}
)");
  EXPECT_EQ(Resolve(c, "svc_api"), R"(svc{name="api"})");
  EXPECT_EQ(Resolve(c, "x.y"), "glob{}");
}

TEST(MappingTest, MatchMetricTypeFiltersGlobsAndRegexes) {
  const auto c = MustParse(R"(
mappings:
- {match: "m.*", match_metric_type: gauge, name: "g"}
- {match: "m.*", match_metric_type: timer, name: "t"}
- {match: "m.*", name: "any"}
- {match: "^r", match_type: regex, match_metric_type: observer, name: "ro"}
- {match: "^r", match_type: regex, name: "rany"}
)");
  EXPECT_EQ(Resolve(c, "m.x", StatsdKind::kGauge), "g{}");
  EXPECT_EQ(Resolve(c, "m.x", StatsdKind::kObserver), "t{}");
  EXPECT_EQ(Resolve(c, "m.x", StatsdKind::kCounter), "any{}");
  EXPECT_EQ(Resolve(c, "r1", StatsdKind::kObserver), "ro{}");
  EXPECT_EQ(Resolve(c, "r1", StatsdKind::kCounter), "rany{}");
}

TEST(MappingTest, UnorderedGlobsTakeTheMostSpecificFromTheLeft) {
  const auto c = MustParse(R"(
defaults: {glob_disable_ordering: true}
mappings:
- {match: "*.b.c", name: "xbc"}
- {match: "a.*.*", name: "axx"}
- {match: "a.*.c", name: "axc"}
- {match: "a.*.c", match_metric_type: gauge, name: "axc_gauge"}
)");
  EXPECT_EQ(Resolve(c, "a.b.c"), "axc{}");
  EXPECT_EQ(Resolve(c, "a.b.c", StatsdKind::kGauge), "axc{}");  // equally specific: first wins
  EXPECT_EQ(Resolve(c, "z.b.c"), "xbc{}");
  EXPECT_EQ(Resolve(c, "a.b.d"), "axx{}");
}

TEST(MappingTest, Templates) {
  const auto c = MustParse(R"(
mappings:
- match: "t.*.*"
  name: "n_${1}_$2"
  labels:
    braces: "${1}x"
    greedy: "$1x"
    dollar: "$$1"
    whole: "$0"
    missing: "[$7]"
    lone: "a$"
    unclosed: "${1"
    leading_zero: "$01"
- match: "^r\\.(?P<svc>\\w+)\\.(\\w+)$"
  match_type: regex
  name: "x_$2"
  labels:
    named: "$svc"
    unknown: "[$nope]"
    unmatched: "[$3]"
)");
  EXPECT_EQ(Resolve(c, "t.a.b"),
            R"(n_a_b{braces="ax",dollar="$1",greedy="",leading_zero="",lone="a$",missing="[]",)"
            R"(unclosed="${1",whole="t.a.b"})");
  EXPECT_EQ(Resolve(c, "r.api.get"), R"(x_get{named="api",unknown="[]",unmatched="[]"})");
}

TEST(MappingTest, MappedNamesAreEscaped) {
  const auto c = MustParse(R"(
mappings:
- {match: "n.*", name: "$1"}
- {match: "p.*", name: "prefix_$1"}
- {match: "^(.*)$", match_type: regex, name: "$1"}
)");
  EXPECT_EQ(Resolve(c, "n.web-server"), "web_server{}");
  EXPECT_EQ(Resolve(c, "n.5xx"), "_5xx{}");
  EXPECT_EQ(Resolve(c, "p.a-b"), "prefix_a_b{}");
  EXPECT_EQ(Resolve(c, "r.x"), "r_x{}");
  // A name that expands to nothing drops the series (statsd_exporter: empty_metric_name).
  const Mapping empty = c.Resolve("n.", StatsdKind::kCounter);
  EXPECT_TRUE(empty.matched);
  EXPECT_TRUE(empty.drop);
}

TEST(MappingTest, ObserverKeysAndTheirOlderSpellings) {
  const auto c = MustParse(R"(
defaults:
  timer_type: summary
  buckets: [1, 2]
  quantiles: [{quantile: 0.5, error: 0.05}]
mappings:
- {match: "old.*", timer_type: histogram, buckets: [3, 4], name: "old"}
- {match: "new.*", observer_type: histogram, timer_type: summary, name: "new"}
- {match: "dflt.*", observer_type: default, name: "dflt"}
- match: "q.*"
  name: "q"
  quantiles: [{quantile: 0.75, error: 0.01}]
- match: "inf.*"
  observer_type: histogram
  histogram_options: {buckets: [0.5, 1, +.inf]}
  name: "inf"
)");
  Mapping m = c.Resolve("old.x", StatsdKind::kObserver);
  EXPECT_EQ(m.observer, ObserverType::kHistogram);
  EXPECT_EQ(m.buckets, (std::vector<double>{3, 4}));
  m = c.Resolve("new.x", StatsdKind::kObserver);
  EXPECT_EQ(m.observer, ObserverType::kHistogram);  // observer_type wins over timer_type
  EXPECT_EQ(m.buckets, (std::vector<double>{1, 2}));
  m = c.Resolve("dflt.x", StatsdKind::kObserver);
  EXPECT_EQ(m.observer, ObserverType::kSummary);
  ASSERT_EQ(m.quantiles.size(), 1u);
  EXPECT_DOUBLE_EQ(m.quantiles[0].quantile, 0.5);
  m = c.Resolve("q.x", StatsdKind::kObserver);
  ASSERT_EQ(m.quantiles.size(), 1u);
  EXPECT_DOUBLE_EQ(m.quantiles[0].quantile, 0.75);
  EXPECT_EQ(c.Resolve("inf.x", StatsdKind::kObserver).buckets, (std::vector<double>{0.5, 1}));
  EXPECT_EQ(c.Resolve("unmatched", StatsdKind::kObserver).observer, ObserverType::kSummary);
}

TEST(MappingTest, OtherKeys) {
  const auto c = MustParse(R"(
mappings:
- match: "h.*"
  name: "h"
  honor_labels: true
  action: map
  help: "some help"
  scale: 2
  labels: {code: 200}
- {match: "d.*", name: "d", action: drop, ttl: 30s}
)");
  const Mapping h = c.Resolve("h.x", StatsdKind::kCounter);
  EXPECT_TRUE(h.honor_labels);
  EXPECT_FALSE(h.drop);
  EXPECT_EQ(testing::Series(h), R"(h{code="200"})");
  const Mapping d = c.Resolve("d.x", StatsdKind::kCounter);
  EXPECT_TRUE(d.matched);
  EXPECT_TRUE(d.drop);
  EXPECT_EQ(c.size(), 2u);
}

TEST(MappingTest, TtlDurations) {
  using std::chrono::nanoseconds;
  const std::pair<std::string_view, nanoseconds> cases[] = {
      {"0", nanoseconds(0)},
      {"90", nanoseconds(90)},  // a bare number is nanoseconds, as Go's YAML reader takes it
      {"300ms", std::chrono::milliseconds(300)},
      {"1.5h", std::chrono::minutes(90)},
      {"1h2m3s", std::chrono::seconds(3723)},
      {"+2s", std::chrono::seconds(2)},
      {"10us", std::chrono::microseconds(10)},
      {"\"10\xC2\xB5s\"", std::chrono::microseconds(10)},
  };
  for (const auto& [text, want] : cases) {
    const auto c = MustParse("defaults: {ttl: " + std::string(text) + "}\n");
    EXPECT_EQ(c.Resolve("x", StatsdKind::kGauge).ttl, want) << text;
  }
  for (std::string_view bad : {"5", "1d", "1.2.3s", "s", "1h-5m", "3000000h"}) {
    const std::string yaml = "defaults: {ttl: " + std::string(bad == "5" ? "5x" : bad) + "}\n";
    EXPECT_NE(testing::ParseError(yaml), "") << bad;
  }
}

TEST(MappingTest, LabelsKeepTheFileOrder) {
  const auto c = MustParse("mappings:\n- {match: a, name: a, labels: {zz: '1', aa: '2'}}\n");
  const Mapping m = c.Resolve("a", StatsdKind::kCounter);
  ASSERT_EQ(m.labels.size(), 2u);
  EXPECT_EQ(m.labels[0].first, "zz");
  EXPECT_EQ(m.labels[1].first, "aa");
}

// The one RE2::Set over every glob and the one-by-one matcher agree, on names built from the
// globs' own parts so that most of them match something.
TEST(MappingTest, GlobRegexAgreesWithComponentMatch) {
  const std::vector<std::vector<std::string>> globs = {
      {"a", "*", "c"}, {"*"}, {"*", "*"}, {"a-b", "c_d", "*"}, {"x", "*", "*", "y"}, {"a"}};
  const char* fields[] = {"a", "c", "", "a-b", "c_d", "x", "y", "zz", "a.b", "*"};
  std::mt19937 rng(7);
  for (int n = 0; n < 5000; ++n) {
    std::string name;
    const int count = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < count; ++i) {
      if (i) name += '.';
      name += fields[rng() % std::size(fields)];
    }
    for (const auto& g : globs) {
      std::vector<std::string_view> caps;
      const bool by_parts = internal::GlobMatches(g, name, &caps);
      const RE2 re(internal::GlobToRegex(g));
      EXPECT_EQ(by_parts, RE2::FullMatch(name, re)) << name << " vs " << internal::GlobToRegex(g);
    }
  }
}

TEST(MappingTest, ManyMappingsResolveAsTheFirstMatch) {
  std::string yaml = "mappings:\n";
  for (int i = 0; i < 100; ++i) {
    yaml += "- {match: \"svc" + std::to_string(i) + ".*.*\", name: \"m" + std::to_string(i) +
            "\", labels: {aa: \"$1\", bb: \"$2\"}}\n";
  }
  yaml += "- {match: \"^svc(\\\\d+)\\\\.\", match_type: regex, name: \"r$1\"}\n";
  const auto c = MustParse(yaml);
  EXPECT_EQ(c.size(), 101u);
  EXPECT_EQ(Resolve(c, "svc42.get.ok"), R"(m42{aa="get",bb="ok"})");
  EXPECT_EQ(Resolve(c, "svc99.x.y"), R"(m99{aa="x",bb="y"})");
  EXPECT_EQ(Resolve(c, "svc42.get"), "r42{}");
  EXPECT_EQ(Resolve(c, "svc100.a.b"), "r100{}");
  EXPECT_EQ(Resolve(c, "other.a.b"), "other_a_b{}");
}

}  // namespace
}  // namespace cstatsd::prometheus
