// Tags written in the metric name (docs/protocol.md#tag-dialects): each dialect, their mixing
// with `|#` tags, malformed sections, and the `tag-dialects` switches.
#include "protocol/tag_dialects.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "protocol/parser.h"

namespace cstatsd::protocol {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Got {
  LineKind kind = LineKind::kBad;
  ParseError error = ParseError::kNone;
  std::string name;
  std::vector<std::string> tags;
};

Got ParseWith(Parser& parser, std::string_view line) {
  ParsedMetric m;
  Event e;
  Got got;
  got.kind = parser.Parse(line, m, e, got.error);
  if (got.kind == LineKind::kMetric) {
    got.name = std::string(m.name);
    for (std::string_view t : m.tags) got.tags.emplace_back(t);
  }
  return got;
}

Got Parse(std::string_view line, TagDialects dialects = kAllTagDialects, std::string_view ns = {}) {
  ParserOptions options;
  options.namespace_prefix = std::string(ns);
  options.tag_dialects = dialects;
  Parser parser(options);
  return ParseWith(parser, line);
}

struct Case {
  const char* line;
  const char* name;
  std::vector<std::string> tags;
};

void ExpectCases(const std::vector<Case>& cases, TagDialects dialects = kAllTagDialects) {
  for (const Case& c : cases) {
    const Got got = Parse(c.line, dialects);
    ASSERT_EQ(got.kind, LineKind::kMetric) << c.line << ": " << ParseErrorName(got.error);
    EXPECT_EQ(got.name, c.name) << c.line;
    EXPECT_EQ(got.tags, c.tags) << c.line;
  }
}

TEST(TagDialectsTest, InfluxDb) {
  ExpectCases({
      {"cpu,host=a,region=eu-1:1|c", "cpu", {"host:a", "region:eu-1"}},
      {"cpu.load,host=a:0.5|g", "cpu.load", {"host:a"}},
      {"req,path=/a/b:3|ms", "req", {"path:/a/b"}},  // values verbatim
      {"req,k=a b,K=V:1|c", "req", {"k:a b", "K:V"}},
      {"req,k=v=w:1|c", "req", {"k:v=w"}},  // split at the first '='
      {"req,k=v;x=y:1|c", "req", {"k:v;x=y"}},
      {"u,k=v:joe|s", "u", {"k:v"}},
  });
}

TEST(TagDialectsTest, Graphite) {
  ExpectCases({
      {"cpu;host=a;region=eu:1|c", "cpu", {"host:a", "region:eu"}},
      {"cpu;host=a:1|d", "cpu", {"host:a"}},
      {"cpu;k=a#b:1|c", "cpu", {"k:a#b"}},
  });
}

TEST(TagDialectsTest, Librato) {
  ExpectCases({
      {"cpu#host=a,region=eu:1|c", "cpu", {"host:a", "region:eu"}},
      {"cpu#k=v;w:1|g", "cpu", {"k:v;w"}},
  });
}

TEST(TagDialectsTest, SignalFx) {
  ExpectCases({
      {"cpu[host=a,region=eu]:1|c", "cpu", {"host:a", "region:eu"}},
      {"a.[k=v]b:1|c", "a.b", {"k:v"}},  // anywhere in the name
      {"[k=v]cpu:1|c", "cpu", {"k:v"}},
      {"cpu[]:1|c", "cpu", {}},
      {"a[x=1]b[y=2]:1|c", "aby2", {"x:1"}},  // one section: the rest is name
      {"a[k=v,w=x,y]:1|c", "a", {"k:v", "w:x"}},
  });
}

TEST(TagDialectsTest, TheFirstOpenerDecides) {
  ExpectCases({
      {"a,k=[v]:1|c", "a", {"k:[v]"}},     // influx: the brackets are in a value
      {"a[k=v],x=y:1|c", "axy", {"k:v"}},  // signalfx: the rest is name
      {"a;k=v,x=y:1|c", "a", {}},          // graphite: a ',' cannot be in a tag
      {"a#k=v;x=y:1|c", "a", {"k:v;x=y"}},
      {"a[b,k=v:1|c", "ab", {"k:v"}},  // an open '[' is no section: the scan goes on
      {"a]b[k=v:1|c", "abkv", {}},     // no ']' after the '[': no section
  });
}

TEST(TagDialectsTest, MixedWithDogStatsDTagsKeepsBoth) {
  const Got got = Parse("cpu,host=a:1|c|#env:prod,host:b");
  ASSERT_EQ(got.kind, LineKind::kMetric);
  EXPECT_EQ(got.name, "cpu");
  EXPECT_THAT(got.tags, ElementsAre("host:a", "env:prod", "host:b"));
  const Got fx = Parse("cpu[k=v]:1|ms|@0.5|#t|c:in-1");
  EXPECT_THAT(fx.tags, ElementsAre("k:v", "t"));
}

TEST(TagDialectsTest, MalformedElementsAreLeftOut) {
  ExpectCases({
      {"name,k:1|c", "name", {}},               // no '='
      {"name;=v:1|c", "name", {}},              // empty key
      {"name,k=:1|c", "name", {}},              // empty value
      {"name,=:1|c", "name", {}},               // both
      {"name,,k=v,:1|c", "name", {"k:v"}},      // empty elements
      {"name,:1|c", "name", {}},                // empty section
      {"name,a,k=v,b=:1|c", "name", {"k:v"}},   // the good ones stay
      {"name,k=v|x,w=1:1|c", "name", {"w:1"}},  // a '|' cannot be in a tag
      {"name;k=v,w;x=1:1|c", "name", {"x:1"}},  // nor a ',' (graphite)
      {"name#:1|c", "name", {}},
      {"smp,gge$:1|g", "smp", {}},  // gostatsd: `smpgge`
      {"a,b$c#d@e=f|g!h:1|c", "a", {}},
  });
}

TEST(TagDialectsTest, NameRules) {
  // The sanitiser and the namespace apply to the name without its section.
  ExpectCases({
      {"web server/req,k=v:1|c", "web_server-req", {"k:v"}},
      {"a$b[k=v]c d:1|c", "abc_d", {"k:v"}},
  });
  EXPECT_EQ(Parse("cpu,host=a:1|c", kAllTagDialects, "stats").name, "stats.cpu");
  EXPECT_EQ(Parse("a.[k=v]b:1|c", kAllTagDialects, "stats").name, "stats.a.b");
  // A name that is empty without its section is bad, as any empty name.
  for (const char* line : {",k=v:1|c", ";k=v:1|c", "#k=v:1|c", "[k=v]:1|c", "$[k=v]$:1|c"}) {
    const Got got = Parse(line);
    EXPECT_EQ(got.kind, LineKind::kBad) << line;
    EXPECT_EQ(got.error, ParseError::kKeyZeroLen) << line;
    EXPECT_EQ(Parse(line, kAllTagDialects, "stats").error, ParseError::kKeyZeroLen) << line;
  }
  EXPECT_EQ(Parse("cpu,host=a|c").error, ParseError::kMissingKeySeparator);
}

TEST(TagDialectsTest, TelegrafNameIsAViewOfTheInput) {
  Parser parser;
  ParsedMetric m;
  Event e;
  ParseError error = ParseError::kNone;
  const std::string line = "cpu.load,host=a:1|c";
  ASSERT_EQ(parser.Parse(line, m, e, error), LineKind::kMetric);
  EXPECT_EQ(m.name, "cpu.load");
  EXPECT_EQ(m.name.data(), line.data());
}

TEST(TagDialectsTest, GsdHistogramTagInTheNameIsChecked) {
  ParserOptions options;
  options.max_histogram_bounds = 2;
  Parser parser(options);
  EXPECT_EQ(ParseWith(parser, "t,gsd_histogram=1_2_3:1|ms").error, ParseError::kHistogramBounds);
  EXPECT_EQ(ParseWith(parser, "t,gsd_histogram=1_2:1|ms").kind, LineKind::kMetric);
  EXPECT_EQ(ParseWith(parser, "c,gsd_histogram=1_2_3:1|c").kind, LineKind::kMetric);
}

TEST(TagDialectsTest, ScratchIsReusedAndViewsStayValid) {
  Parser parser;
  ParsedMetric m;
  Event e;
  ParseError error = ParseError::kNone;
  std::string many = "m";
  for (int i = 0; i < 200; ++i) many += ",k" + std::to_string(i) + "=v" + std::to_string(i);
  many += ":1|c";
  ASSERT_EQ(parser.Parse(many, m, e, error), LineKind::kMetric);
  ASSERT_EQ(m.tags.size(), 200U);
  EXPECT_EQ(m.tags.front(), "k0:v0");
  EXPECT_EQ(m.tags.back(), "k199:v199");
  ASSERT_EQ(parser.Parse("n,a=b:1|c|#c:d", m, e, error), LineKind::kMetric);
  EXPECT_THAT(m.tags, ElementsAre("a:b", "c:d"));
  ASSERT_EQ(parser.Parse("n:1|c", m, e, error), LineKind::kMetric);
  EXPECT_THAT(m.tags, IsEmpty());
}

TEST(TagDialectsTest, SwitchedOffNamesAreSanitisedAsBefore) {
  const char* const lines[] = {"cpu,host=a:1|c", "cpu;host=a:1|c", "cpu#host=a:1|c",
                               "cpu[host=a]:1|c"};
  for (const char* line : lines) {
    const Got got = Parse(line, 0);
    ASSERT_EQ(got.kind, LineKind::kMetric) << line;
    EXPECT_EQ(got.name, "cpuhosta") << line;
    EXPECT_THAT(got.tags, IsEmpty()) << line;
  }
  EXPECT_EQ(Parse(",k=v:1|c", 0).name, "kv");
  // One at a time: the others still apply.
  ExpectCases({{"cpu,host=a;k=v:1|c", "cpuhosta", {"k:v"}},
               {"a,k=[v]:1|c", "ak", {}},  // signalfx: the section "v" has no '='
               {"a[k=v]:1|c", "a", {"k:v"}}},
              kAllTagDialects & ~kTagDialectInfluxDb);
  ExpectCases({{"a[k=v],x=y:1|c", "akv", {"x:y"}}}, kAllTagDialects & ~kTagDialectSignalFx);
  ExpectCases({{"a;k=v#x=y:1|c", "akv", {"x:y"}}}, kAllTagDialects & ~kTagDialectGraphite);
  ExpectCases({{"a#k=v;x=y:1|c", "akv", {"x:y"}}}, kAllTagDialects & ~kTagDialectLibrato);
}

TEST(TagDialectsTest, Names) {
  EXPECT_EQ(TagDialectFromName("influxdb"), kTagDialectInfluxDb);
  EXPECT_EQ(TagDialectFromName("graphite"), kTagDialectGraphite);
  EXPECT_EQ(TagDialectFromName("librato"), kTagDialectLibrato);
  EXPECT_EQ(TagDialectFromName("signalfx"), kTagDialectSignalFx);
  EXPECT_EQ(TagDialectFromName("InfluxDB"), 0);
  EXPECT_EQ(TagDialectFromName(""), 0);
  TagDialects all = 0;
  for (const TagDialectName& d : kTagDialectNames) all |= d.dialect;
  EXPECT_EQ(all, kAllTagDialects);
  EXPECT_EQ(TagDialectsFromNames({}), 0);
  EXPECT_EQ(TagDialectsFromNames({"signalfx", "influxdb"}),
            kTagDialectSignalFx | kTagDialectInfluxDb);
  EXPECT_EQ(TagDialectsFromNames({"influxdb", "graphite", "librato", "signalfx"}), kAllTagDialects);
}

TEST(TagDialectsTest, AppendNameTagsDirectly) {
  std::string scratch = "old";
  std::vector<std::string_view> tags = {"kept"};
  EXPECT_EQ(AppendNameTags("a=1,b=2", ',', scratch, tags), 2U);
  EXPECT_THAT(tags, ElementsAre("kept", "a:1", "b:2"));
  EXPECT_EQ(AppendNameTags("", ';', scratch, tags), 0U);
  NameTagSection s;
  EXPECT_FALSE(FindNameTagSection("abc", 0, kAllTagDialects, s));
  ASSERT_TRUE(FindNameTagSection("ab[c]d", 0, kAllTagDialects, s));
  EXPECT_EQ(s.open, 2U);
  EXPECT_EQ(s.close, 4U);
  EXPECT_EQ(s.resume, 5U);
  EXPECT_FALSE(FindNameTagSection("a,b", 0, kTagDialectGraphite, s));
}

}  // namespace
}  // namespace cstatsd::protocol
