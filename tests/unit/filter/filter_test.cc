// Filters (docs/filtering.md): every pattern form with the examples of docs/filtering.md, filter
// applicability, drop-tags / drop-host / drop-metric, order, and loading [filter.<name>] sections.
#include "filter/filter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cstatsd::filter {
namespace {

bool M(std::string_view pattern, std::string_view s) {
  auto p = Pattern::Parse(pattern);
  EXPECT_TRUE(p.ok()) << p.error();
  return p->Matches(s);
}

TEST(PatternTest, SpecExamples) {
  EXPECT_TRUE(M("abc", "abc"));
  EXPECT_FALSE(M("abc", "abcd"));
  EXPECT_TRUE(M("abc*", "abc"));
  EXPECT_TRUE(M("abc*", "abcd"));
  EXPECT_FALSE(M("abc*", "xabc"));
  EXPECT_TRUE(M("!abc", "xyz"));
  EXPECT_TRUE(M("!abc", "abcd"));
  EXPECT_FALSE(M("!abc", "abc"));
  EXPECT_TRUE(M("!abc*", "xyz"));
  EXPECT_FALSE(M("!abc*", "abcd"));
  EXPECT_TRUE(M("regex:.*abc.*", "xyz.abc.123"));
  EXPECT_TRUE(M("!regex:^abc.*", "xyz.abc.123"));
  EXPECT_FALSE(M("!regex:^abc.*", "abc.123"));
}

TEST(PatternTest, RegexIsAnUnanchoredSearchAndCaseSensitive) {
  EXPECT_TRUE(M("regex:b.d", "abcde"));
  EXPECT_FALSE(M("regex:^b", "abc"));
  EXPECT_FALSE(M("ABC", "abc"));
  EXPECT_FALSE(M("a*b", "axb"));  // only a trailing * is special
  EXPECT_TRUE(M("a*b", "a*b"));
  auto bad = Pattern::Parse("regex:(unclosed");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("invalid regex"), std::string::npos);
}

Filter Make(std::initializer_list<const char*> match, std::initializer_list<const char*> exclude,
            std::initializer_list<const char*> match_tags,
            std::initializer_list<const char*> drop_tags, bool drop_metric, bool drop_host) {
  Filter f;
  for (const char* p : match) f.match_metrics.push_back(std::move(*Pattern::Parse(p)));
  for (const char* p : exclude) f.exclude_metrics.push_back(std::move(*Pattern::Parse(p)));
  for (const char* p : match_tags) f.match_tags.push_back(std::move(*Pattern::Parse(p)));
  for (const char* p : drop_tags) f.drop_tags.push_back(std::move(*Pattern::Parse(p)));
  f.drop_metric = drop_metric;
  f.drop_host = drop_host;
  return f;
}

// docs/filtering.md#example: make-global, noisy-tag, drop-subset.
FilterSet SpecFilters() {
  FilterSet set;
  set.Add(Make({"global.*"}, {}, {}, {"host:*"}, false, true));
  set.Add(Make({}, {}, {}, {"request_path:*"}, false, false));
  set.Add(Make({"noisy.*"}, {"noisy.butok.*"}, {}, {}, true, false));
  return set;
}

TEST(FilterSetTest, SpecExample) {
  const FilterSet set = SpecFilters();
  std::vector<std::string_view> tags = {"host:web1", "request_path:/a", "env:prod"};
  std::vector<std::string_view> dropped;
  Outcome o = set.Apply("global.requests", tags, dropped);
  EXPECT_FALSE(o.drop);
  EXPECT_TRUE(o.clear_source);
  EXPECT_EQ(tags, (std::vector<std::string_view>{"env:prod"}));
  EXPECT_EQ(dropped, (std::vector<std::string_view>{"host:web1", "request_path:/a"}));

  tags = {"host:web1", "request_path:/a"};
  dropped.clear();
  o = set.Apply("local.requests", tags, dropped);
  EXPECT_FALSE(o.clear_source);
  EXPECT_EQ(tags, (std::vector<std::string_view>{"host:web1"}));

  EXPECT_TRUE(set.Apply("noisy.thing", tags, dropped).drop);
  EXPECT_FALSE(set.Apply("noisy.butok.thing", tags, dropped).drop);
  EXPECT_FALSE(set.Apply("quiet.thing", tags, dropped).drop);
}

TEST(FilterSetTest, MatchTagsNeedsOneMatchingTag) {
  FilterSet set;
  set.Add(Make({}, {}, {"env:test", "regex:^team:"}, {}, true, false));
  std::vector<std::string_view> dropped;
  std::vector<std::string_view> prod = {"env:prod"};
  std::vector<std::string_view> test = {"a", "env:test"};
  std::vector<std::string_view> team = {"team:x"};
  std::vector<std::string_view> none;
  EXPECT_FALSE(set.Apply("m", prod, dropped).drop);
  EXPECT_TRUE(set.Apply("m", test, dropped).drop);
  EXPECT_TRUE(set.Apply("m", team, dropped).drop);
  EXPECT_FALSE(set.Apply("m", none, dropped).drop);
}

// gostatsd's TagHandler collects every filter's drop-tags and removes them after the last
// filter: a later filter still sees (and matches on) a tag an earlier one drops (issue 14).
TEST(FilterSetTest, LaterFiltersStillSeeTagsAnEarlierOneDrops) {
  FilterSet set;
  set.Add(Make({}, {}, {}, {"tmp*"}, false, false));
  set.Add(Make({}, {}, {"tmp:1"}, {}, true, false));
  std::vector<std::string_view> tags = {"tmp:1", "env:prod"};
  std::vector<std::string_view> dropped;
  EXPECT_TRUE(set.Apply("m", tags, dropped).drop);

  // Without the dropping filter's match, the tags are removed once all filters ran.
  tags = {"tmp:2", "env:prod", "tmp:2"};
  dropped.clear();
  EXPECT_FALSE(set.Apply("m", tags, dropped).drop);
  EXPECT_EQ(tags, (std::vector<std::string_view>{"env:prod"}));
  EXPECT_EQ(dropped, (std::vector<std::string_view>{"tmp:2"}));
}

TEST(FilterSetTest, DropTagsOfSeveralFiltersAreCollectedOnce) {
  FilterSet set;
  set.Add(Make({}, {}, {}, {"a:*"}, false, false));
  set.Add(Make({}, {}, {"a:1"}, {"a:1", "b:*"}, false, true));  // sees a:1, drops it again
  std::vector<std::string_view> tags = {"a:1", "b:2", "c:3"};
  std::vector<std::string_view> dropped = {"earlier"};
  const Outcome o = set.Apply("m", tags, dropped);
  EXPECT_FALSE(o.drop);
  EXPECT_TRUE(o.clear_source);
  EXPECT_EQ(tags, (std::vector<std::string_view>{"c:3"}));
  EXPECT_EQ(dropped, (std::vector<std::string_view>{"earlier", "a:1", "b:2"}));
}

TEST(FilterSetTest, LoadReadsSectionsInOrderAndNamesBadKeys) {
  config::Config c;
  c.options.filters = {"a", "missing", "b"};
  c.file = nlohmann::json::parse(R"({"filter": {
      "a": {"match-metrics": "x.* y", "drop-host": true},
      "b": {"drop-tags": ["t:*"], "drop-metric": false}}})");
  std::vector<std::string> warnings;
  auto set = FilterSet::Load(c, &warnings);
  ASSERT_TRUE(set.ok()) << set.error();
  ASSERT_EQ(set->filters().size(), 2u);
  EXPECT_EQ(set->filters()[0].name, "a");
  EXPECT_EQ(set->filters()[0].match_metrics.size(), 2u);
  EXPECT_TRUE(set->filters()[0].drop_host);
  EXPECT_EQ(set->filters()[1].drop_tags[0].text(), "t:*");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("[filter.missing]"), std::string::npos);

  c.options.filters = {"bad"};
  c.file =
      nlohmann::json::parse(R"({"filter": {"bad": {"match-tags": "regex:[", "drop-host": "x"}}})");
  auto bad = FilterSet::Load(c, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("filter.bad.match-tags: invalid regex"), std::string::npos);
  EXPECT_NE(bad.error().find("filter.bad.drop-host"), std::string::npos);
}

}  // namespace
}  // namespace cstatsd::filter
