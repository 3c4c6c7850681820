// A bad mapping file is refused with the file, the line and what is wrong
// (docs/prometheus.md#mapping): YAML syntax, unknown and repeated keys (statsd_exporter reads
// the file strictly), every value check statsd_exporter makes at load; and the parser survives
// broken YAML of every kind without crashing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "mapping_test_util.h"

namespace cstatsd::prometheus {
namespace {

using testing::ParseError;

// The error for `yaml`, which must start with "test.yml:<line>: " and contain `what`.
void ExpectError(std::string_view yaml, int line, std::string_view what) {
  const std::string e = ParseError(yaml);
  EXPECT_TRUE(e.starts_with("test.yml:" + std::to_string(line) + ": ")) << e << "\n" << yaml;
  EXPECT_NE(e.find(what), std::string::npos) << e << "\n(wanted: " << what << ")";
}

TEST(MappingErrorsTest, YamlSyntax) {
  ExpectError("mappings:\n- match: a\n  name: [unclosed\n", 4, "");
  ExpectError("mappings:\n  - match: a\n - name: b\n", 3, "");
  ExpectError("mappings: [\"a\\q\"]\n", 1, "");
}

TEST(MappingErrorsTest, UnknownAndRepeatedKeys) {
  ExpectError("defaults: {}\nmapping: []\n", 2, "unknown key \"mapping\"");
  ExpectError("mappings:\n- match: a\n  nmae: b\n", 3, "mappings[0]: unknown key \"nmae\"");
  ExpectError("defaults:\n  observer: histogram\n", 2, "defaults: unknown key \"observer\"");
  ExpectError("mappings:\n- match: a\n  name: b\n  summary_options:\n    max_summary_age: 1m\n", 5,
              "unknown key \"max_summary_age\"");
  ExpectError("mappings:\n- match: a\n  name: b\n  name: c\n", 4, "\"name\" appears twice");
  ExpectError(
      "mappings:\n- match: a\n  name: b\n  summary_options:\n    quantiles:\n"
      "    - {quantile: 0.5, eror: 0.1}\n",
      6, "unknown key \"eror\"");
}

TEST(MappingErrorsTest, Shapes) {
  ExpectError("- a\n- b\n", 1, "must be a map");
  ExpectError("mappings: {a: b}\n", 1, "mappings must be a list");
  ExpectError("mappings:\n- just a string\n", 2, "mappings[0] must be a map");
  ExpectError("mappings:\n- match: [a]\n  name: b\n", 2, "mappings[0].match must be a string");
  ExpectError("mappings:\n- {match: a, name: b, labels: [x]}\n", 2, "labels must be a map");
  ExpectError("mappings:\n- {match: a, name: b, labels: {xy: [1]}}\n", 2,
              "labels.xy must be a string");
}

TEST(MappingErrorsTest, NamesAndLabels) {
  ExpectError("mappings:\n- match: a.b\n  labels: {xy: z}\n", 2, "no metric name");
  ExpectError("mappings:\n- match: a\n  name: bad-name\n", 3, "\"bad-name\" is not a metric name");
  ExpectError("mappings:\n- match: a\n  name: 9abc\n", 3, "is not a metric name");
  ExpectError("mappings:\n- match: a\n  name: ok\n  labels:\n    a: x\n", 5,
              "invalid label name \"a\"");
  ExpectError("mappings:\n- match: a\n  name: ok\n  labels:\n    bad-label: x\n", 5,
              "invalid label name");
  ExpectError("mappings:\n- match: a\n  name: ok\n  labels:\n    __reserved: x\n", 5, "reserves");
}

TEST(MappingErrorsTest, Matches) {
  ExpectError("mappings:\n- match: a\n  name: ok\n- match: \"foo*\"\n  name: ok\n", 4,
              "invalid glob \"foo*\"");
  ExpectError("mappings:\n- {match: \"a..b\", name: ok}\n", 2, "invalid glob");
  ExpectError("mappings:\n- {match: \"9a.b\", name: ok}\n", 2, "invalid glob");
  ExpectError("mappings:\n- {match: \"a.b.\", name: ok}\n", 2, "invalid glob");
  ExpectError("mappings:\n- {match: \"\", name: ok}\n", 2, "invalid glob");
  ExpectError("mappings:\n- match: \"(unclosed\"\n  match_type: regex\n  name: ok\n", 2,
              "invalid regex \"(unclosed\"");
  ExpectError("mappings:\n- {match: a, name: ok, match_type: fuzzy}\n", 2,
              "invalid match type \"fuzzy\"");
  ExpectError("defaults:\n  match_type: fuzzy\n", 2, "invalid match type");
  ExpectError("mappings:\n- {match: a, name: ok, match_metric_type: set}\n", 2,
              "invalid metric type \"set\"");
  ExpectError("mappings:\n- {match: a, name: ok, action: keep}\n", 2, "invalid action \"keep\"");
}

TEST(MappingErrorsTest, ObserverOptions) {
  ExpectError("mappings:\n- {match: a, name: ok, observer_type: histo}\n", 2,
              "invalid observer type \"histo\"");
  ExpectError("defaults:\n  timer_type: gauge\n", 2, "invalid observer type");
  ExpectError("mappings:\n- match: a\n  name: ok\n  histogram_options:\n    buckets: [1, 3, 2]\n",
              5, "increasing order");
  ExpectError("mappings:\n- {match: a, name: ok, buckets: [1, 1]}\n", 2, "increasing order");
  ExpectError("mappings:\n- {match: a, name: ok, buckets: [1, x]}\n", 2, "must be a number");
  ExpectError("mappings:\n- {match: a, name: ok, buckets: 5}\n", 2, "list of numbers");
  ExpectError("mappings:\n- {match: a, name: ok, quantiles: [{quantile: 1.5}]}\n", 2,
              "between 0 and 1");
  ExpectError(
      "mappings:\n- match: a\n  name: ok\n  observer_type: histogram\n  summary_options: {}\n", 2,
      "summary_options with a histogram observer");
  ExpectError(
      "defaults: {observer_type: summary}\nmappings:\n- match: a\n  name: ok\n"
      "  histogram_options: {buckets: [1]}\n",
      3, "histogram_options with a summary observer");
  ExpectError(
      "mappings:\n- match: a\n  name: ok\n  quantiles: [{quantile: 0.5}]\n"
      "  summary_options: {quantiles: [{quantile: 0.9}]}\n",
      2, "quantiles both");
}

TEST(MappingErrorsTest, Durations) {
  ExpectError("mappings:\n- {match: a, name: ok, ttl: 5 minutes}\n", 2, "mappings[0].ttl");
  ExpectError("defaults:\n  ttl: -1s\n", 2, "must not be negative");
  ExpectError("defaults:\n  glob_disable_ordering: maybe\n", 2, "true or false");
}

TEST(MappingErrorsTest, LoadNamesThePath) {
  auto missing = MappingConfig::Load("/nonexistent/dir/mapping.yml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("/nonexistent/dir/mapping.yml"), std::string::npos);

  char path[] = "/tmp/cstatsd_mapping_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream f(path);
    f << "mappings:\n- match: a.*\n  name: x\n- match: b.*\n  name: y\n  labels: {1x: z}\n";
  }
  auto bad = MappingConfig::Load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().starts_with(std::string(path) + ":6: ")) << bad.error();
  {
    std::ofstream f(path);
    f << "mappings:\n- match: a.*\n  name: x\n";
  }
  auto good = MappingConfig::Load(path);
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_EQ(good->size(), 1u);
  std::remove(path);
}

// Broken YAML of every kind: each prefix of a valid file, random byte changes, deep nesting and
// an alias bomb. The parser must answer (ok, or an error naming the file) without crashing.
TEST(MappingErrorsTest, BrokenYamlNeverCrashes) {
  const std::string valid = R"yaml(defaults:
  observer_type: histogram
  histogram_options: {buckets: [.005, .01, 1]}
  ttl: 1m
mappings:
- match: "test.dispatcher.*.*.*"
  name: "dispatcher_events_total"
  labels: {processor: "$1", action: "$2", job: "x_${3}"}
- match: "(.*)\\.(.*)--(.*)"
  match_type: regex
  match_metric_type: counter
  name: "request_total"
  summary_options: {quantiles: [{quantile: 0.5, error: 0.05}]}
  observer_type: summary
)yaml";
  auto check = [](const std::string& yaml) {
    auto c = MappingConfig::Parse(yaml, "test.yml");
    if (!c.ok()) {
      EXPECT_TRUE(c.error().starts_with("test.yml:")) << c.error();
    } else {
      (void)c->Resolve("test.dispatcher.a.b.c", StatsdKind::kCounter);
      (void)c->Resolve("a.b--c", StatsdKind::kObserver);
    }
  };
  ASSERT_TRUE(MappingConfig::Parse(valid, "test.yml").ok());
  for (size_t n = 0; n <= valid.size(); ++n) check(valid.substr(0, n));
  std::mt19937 rng(16);
  const std::string alphabet = "{}[]:-,*&!|>'\"\\#$. \n\tab01%@`";
  for (int i = 0; i < 3000; ++i) {
    std::string y = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % y.size();
      switch (rng() % 3) {
        case 0:
          y[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          y.erase(at, 1 + rng() % 8);
          break;
        default:
          y.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
      if (y.empty()) y = "x";
    }
    check(y);
  }
  check(std::string(5000, '[') + std::string(5000, ']'));
  check("mappings:\n" + std::string(3000, '-') + " a\n");
  // Aliases: each use counts, so a small file cannot describe millions of rules.
  std::string bomb = "a: &a {match: \"x.*\", name: n, labels: {ab: \"$1\"}}\nmappings: [";
  for (int i = 0; i < 2000; ++i) bomb += "*a,";
  bomb += "*a]\n";
  const std::string e = ParseError("# unknown top-level key first\n" + bomb);
  EXPECT_NE(e.find("unknown key \"a\""), std::string::npos) << e;
}

}  // namespace
}  // namespace cstatsd::prometheus
