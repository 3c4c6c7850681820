// Parser tests: every lexer vector of docs/protocol.md#examples (the parser-level ones), the
// "derived from code" lines, the decisions of docs/compatibility.md, ForEachLine, Go float syntax,
// name sanitising, namespaces, events, long lines and garbage.
#include "protocol/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/float_parse.h"
#include "protocol/name_sanitiser.h"

namespace cstatsd::protocol {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr double kInf = std::numeric_limits<double>::infinity();

// An owning copy of one parse result, so table tests can compare after the parser moved on.
struct Got {
  LineKind kind = LineKind::kBad;
  ParseError error = ParseError::kNone;
  MetricType type = MetricType::kCounter;
  std::string name;
  std::vector<double> values;
  std::string set_value;
  double rate = 1.0;
  std::vector<std::string> tags;
  Event event;
};

Got ParseWith(Parser& parser, std::string_view line) {
  ParsedMetric metric;
  Event event;
  Got got;
  got.kind = parser.Parse(line, metric, event, got.error);
  if (got.kind == LineKind::kMetric) {
    got.type = metric.type;
    got.name = std::string(metric.name);
    got.values = metric.values;
    got.set_value = std::string(metric.set_value);
    got.rate = metric.rate;
    for (std::string_view t : metric.tags) got.tags.emplace_back(t);
  } else if (got.kind == LineKind::kEvent) {
    got.event = event;
  }
  return got;
}

// `tag-dialects = []`: names sanitised as gostatsd does.
ParserOptions NoTagDialects() {
  ParserOptions options;
  options.tag_dialects = 0;
  return options;
}

Got ParseOne(std::string_view line, std::string_view ns = {}) {
  Parser parser(ns);
  return ParseWith(parser, line);
}

ParseError ErrorOf(std::string_view line) {
  const Got got = ParseOne(line);
  EXPECT_EQ(got.kind, LineKind::kBad) << line;
  return got.error;
}

// Go's ParseFloat through the parser: the value of a one-value gauge.
struct FloatResult {
  bool ok;
  double value;
  ParseError error;
};
FloatResult GaugeValue(const std::string& text) {
  const Got got = ParseOne("g:" + text + "|g");
  if (got.kind != LineKind::kMetric) return {false, 0, got.error};
  EXPECT_EQ(got.values.size(), 1U) << text;
  return {true, got.values.empty() ? 0 : got.values[0], got.error};
}

// ---------------------------------------------------------------------------------------------
// docs/protocol.md#examples metric vectors.

struct MetricCase {
  const char* line;
  MetricType type;
  const char* name;
  std::vector<double> values;
  double rate;
  std::vector<std::string> tags;
};

class MetricVectorTest : public ::testing::TestWithParam<MetricCase> {};

// gostatsd's vectors, with the tag dialects off (`tag-dialects = []`): one of them, `smp,gge$`,
// is an InfluxDB tag section otherwise (tag_dialects_test.cc).
TEST_P(MetricVectorTest, ParsesAsGostatsd) {
  const MetricCase& c = GetParam();
  Parser parser(NoTagDialects());
  const Got got = ParseWith(parser, c.line);
  ASSERT_EQ(got.kind, LineKind::kMetric) << c.line << ": " << ParseErrorName(got.error);
  EXPECT_EQ(got.error, ParseError::kNone);
  EXPECT_EQ(got.type, c.type);
  EXPECT_EQ(got.name, c.name);
  EXPECT_EQ(got.values, c.values);
  EXPECT_EQ(got.rate, c.rate);
  EXPECT_EQ(got.tags, c.tags);
  EXPECT_EQ(got.set_value, "");
}

constexpr MetricType kC = MetricType::kCounter;
constexpr MetricType kG = MetricType::kGauge;
constexpr MetricType kT = MetricType::kTimer;

INSTANTIATE_TEST_SUITE_P(
    Spec, MetricVectorTest,
    ::testing::Values(
        // 1-8
        MetricCase{"foo.bar.baz:2|c", kC, "foo.bar.baz", {2}, 1, {}},
        MetricCase{"abc.def.g:3|g", kG, "abc.def.g", {3}, 1, {}},
        MetricCase{"def.g:10|ms", kT, "def.g", {10}, 1, {}},
        MetricCase{"def.h:10|h", kT, "def.h", {10}, 1, {}},
        MetricCase{"def.i:10|h|#foo", kT, "def.i", {10}, 1, {"foo"}},
        MetricCase{"smp.rte:5|c|@0.1", kC, "smp.rte", {5}, 0.1, {}},
        MetricCase{"smp.rte:5|c|@0.1|#foo:bar,baz", kC, "smp.rte", {5}, 0.1, {"foo:bar", "baz"}},
        MetricCase{"smp.rte:5|c|#foo:bar,baz", kC, "smp.rte", {5}, 1, {"foo:bar", "baz"}},
        // 10-15
        MetricCase{"fooBarBaz:2|c", kC, "fooBarBaz", {2}, 1, {}},
        MetricCase{"smp.rte:5|c|#Foo:Bar,baz", kC, "smp.rte", {5}, 1, {"Foo:Bar", "baz"}},
        MetricCase{"smp.gge:1|g|#Foo:Bar", kG, "smp.gge", {1}, 1, {"Foo:Bar"}},
        MetricCase{"smp.gge:1|g|#fo_o:ba-r", kG, "smp.gge", {1}, 1, {"fo_o:ba-r"}},
        MetricCase{"smp gge:1|g", kG, "smp_gge", {1}, 1, {}},
        MetricCase{"smp/gge:1|g", kG, "smp-gge", {1}, 1, {}},
        MetricCase{"smp,gge$:1|g", kG, "smpgge", {1}, 1, {}},
        // 18-21
        MetricCase{"a:1|g|#f,,", kG, "a", {1}, 1, {"f"}},
        MetricCase{"a:1|g|#,,f", kG, "a", {1}, 1, {"f"}},
        MetricCase{"a:1|g|#f,,z", kG, "a", {1}, 1, {"f", "z"}},
        MetricCase{"a:1|g|#", kG, "a", {1}, 1, {}}, MetricCase{"a:1|g|#,", kG, "a", {1}, 1, {}},
        MetricCase{"a:1|g|#,,", kG, "a", {1}, 1, {}},
        // 22-28 and the rest of gostatsd's lexer table
        MetricCase{"foo.bar.baz:2|c|c:xyz", kC, "foo.bar.baz", {2}, 1, {}},
        MetricCase{"smp.rte:5|c|@0.1|c:xyz", kC, "smp.rte", {5}, 0.1, {}},
        MetricCase{
            "smp.rte:5|c|@0.1|#foo:bar,baz|c:xyz", kC, "smp.rte", {5}, 0.1, {"foo:bar", "baz"}},
        MetricCase{"def.i:10|h|#foo|c:xyz", kT, "def.i", {10}, 1, {"foo"}},
        MetricCase{"c.after.tags:1|g|#f,,|c:xyz", kG, "c.after.tags", {1}, 1, {"f"}},
        MetricCase{"c.after.tags:1|g|#,,f|c:xyz", kG, "c.after.tags", {1}, 1, {"f"}},
        MetricCase{"c.after.tags:1|g|#f,,z|c:xyz", kG, "c.after.tags", {1}, 1, {"f", "z"}},
        MetricCase{"c.after.tags:1|g|#|c:xyz", kG, "c.after.tags", {1}, 1, {}},
        MetricCase{"c.after.tags:1|g|#,|c:xyz", kG, "c.after.tags", {1}, 1, {}},
        MetricCase{"c.after.tags:1|g|#,,|c:xyz", kG, "c.after.tags", {1}, 1, {}},
        MetricCase{"c.after.tags:1|g|#,,|c::,#@", kG, "c.after.tags", {1}, 1, {}},
        MetricCase{"field.order.rev.all:1|g|c:xyz|#foo:bar|@0.1",
                   kG,
                   "field.order.rev.all",
                   {1},
                   0.1,
                   {"foo:bar"}},
        MetricCase{
            "field.order.rev.notags:1|g|c:xyz|@0.1", kG, "field.order.rev.notags", {1}, 0.1, {}},
        MetricCase{"new.last.prefix:1|g|#,,|c:xyz|x:", kG, "new.last.prefix", {1}, 1, {}},
        MetricCase{"new.last.empty:1|g|#,|c:xyz|", kG, "new.last.empty", {1}, 1, {}},
        MetricCase{"new.last.colon:1|g|#|c:xyz|:", kG, "new.last.colon", {1}, 1, {}},
        MetricCase{"new.first.prefix:1|g|x:#,,|c:xyz|", kG, "new.first.prefix", {1}, 1, {}},
        MetricCase{"new.first.empty:1|g||#,|c:xyz", kG, "new.first.empty", {1}, 1, {}},
        MetricCase{"new.first.colon:1|g|:|#|c:xyz", kG, "new.first.colon", {1}, 1, {}},
        MetricCase{"new.mid.prefix:1|g|#,,|x:|c:xyz", kG, "new.mid.prefix", {1}, 1, {}},
        MetricCase{"new.mid.empty:1|g|#,||c:xyz", kG, "new.mid.empty", {1}, 1, {}},
        MetricCase{"new.mid.colon:1|g|#|:|c:xyz", kG, "new.mid.colon", {1}, 1, {}},
        // 29-32: value packing
        MetricCase{"a.packing:1:2|ms|#|:|c:xyz", kT, "a.packing", {1, 2}, 1, {}},
        MetricCase{"a.packing:1:2:3|ms|#|:|c:xyz", kT, "a.packing", {1, 2, 3}, 1, {}},
        MetricCase{"a.packing:1:2:|ms|#|:|c:xyz", kT, "a.packing", {1, 2}, 1, {}},
        MetricCase{"a.packing:|ms|#|:|c:xyz", kT, "a.packing", {}, 1, {}},
        MetricCase{"a.packing:1:2|c|#|:|c:xyz", kC, "a.packing", {1, 2}, 1, {}},
        MetricCase{"a.packing:1:2:3|c|#|:|c:xyz", kC, "a.packing", {1, 2, 3}, 1, {}},
        MetricCase{"a.packing:1:2:|c|#|:|c:xyz", kC, "a.packing", {1, 2}, 1, {}},
        MetricCase{"a.packing:1:2|g|#|:|c:xyz", kG, "a.packing", {1, 2}, 1, {}},
        MetricCase{"a.packing:1:2:3|g|#|:|c:xyz", kG, "a.packing", {1, 2, 3}, 1, {}},
        MetricCase{"a.packing:1:2:|g|#|:|c:xyz", kG, "a.packing", {1, 2}, 1, {}},
        // 55-58 at the parser level (aggregation is tested elsewhere)
        MetricCase{"f:2:2|c", kC, "f", {2, 2}, 1, {}},
        MetricCase{"f:2:2|ms", kT, "f", {2, 2}, 1, {}},
        MetricCase{"f:3:3:1|g", kG, "f", {3, 3, 1}, 1, {}},
        MetricCase{"f:3:|g", kG, "f", {3}, 1, {}},
        // derived from code
        MetricCase{"x:1|c|@0.3", kC, "x", {1}, 0.3, {}},
        // more packing and empty pieces
        MetricCase{"a::1::2::|c", kC, "a", {1, 2}, 1, {}}, MetricCase{"a:|c", kC, "a", {}, 1, {}},
        MetricCase{"a:::|ms", kT, "a", {}, 1, {}}, MetricCase{"a:|h", kT, "a", {}, 1, {}}));

// ---------------------------------------------------------------------------------------------
// Timer kinds (docs/aggregation.md#timer-kinds): `ms` and `h` parse to the same timer, and the
// line's statsd type is kept.

TEST(ParserTimerKindTest, MsAndHistogramKeepTheirKind) {
  Parser parser;
  ParsedMetric metric;
  Event event;
  ParseError error = ParseError::kNone;
  struct Case {
    const char* line;
    LineKind kind;
    MetricType type;
    TimerKind timer_kind;
  };
  // One ParsedMetric through every line: a kind never leaks into the next line.
  const Case cases[] = {
      {"t:1|h", LineKind::kMetric, kT, TimerKind::kHistogram},
      {"t:1|ms", LineKind::kMetric, kT, TimerKind::kMs},
      {"t:1:2|h|@0.5|#a,b", LineKind::kMetric, kT, TimerKind::kHistogram},
      {"c:1|c", LineKind::kMetric, kC, TimerKind::kMs},
      {"t:|h", LineKind::kMetric, kT, TimerKind::kHistogram},
      {"g:1|g", LineKind::kMetric, kG, TimerKind::kMs},
      {"t:1|h|#gsd_histogram:1_2", LineKind::kMetric, kT, TimerKind::kHistogram},
      {"s:m|s", LineKind::kMetric, MetricType::kSet, TimerKind::kMs},
      {"t:1|ms|@0.1", LineKind::kMetric, kT, TimerKind::kMs},
      {"t:1:2|d|@0.5|#a", LineKind::kMetric, kT, TimerKind::kDistribution},
      {"c:1|c", LineKind::kMetric, kC, TimerKind::kMs},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(parser.Parse(c.line, metric, event, error), c.kind) << c.line;
    EXPECT_EQ(metric.type, c.type) << c.line;
    EXPECT_EQ(metric.timer_kind, c.timer_kind) << c.line;
  }
  // A bad `h` line leaves nothing for the next one.
  EXPECT_EQ(parser.Parse("t:x|h", metric, event, error), LineKind::kBad);
  ASSERT_EQ(parser.Parse("t:1|ms", metric, event, error), LineKind::kMetric);
  EXPECT_EQ(metric.timer_kind, TimerKind::kMs);
  // `hs`, `m` and `msx` are not timer types.
  EXPECT_EQ(ErrorOf("t:1|hs"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("t:1|m"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("t:1|msx"), ParseError::kInvalidType);
}

TEST(ParserTimerKindTest, ResolveAndNames) {
  EXPECT_EQ(TimerKindName(TimerKind::kMs), "ms");
  EXPECT_EQ(TimerKindName(TimerKind::kHistogram), "h");
  EXPECT_EQ(TimerKindName(TimerKind::kDistribution), "d");
  const TimerKindSet ms = TimerKindBit(TimerKind::kMs);
  const TimerKindSet h = TimerKindBit(TimerKind::kHistogram);
  const TimerKindSet d = TimerKindBit(TimerKind::kDistribution);
  EXPECT_EQ(ResolveTimerKind(d), TimerKind::kDistribution);
  EXPECT_EQ(ResolveTimerKind(h | d), TimerKind::kHistogram);
  EXPECT_EQ(ResolveTimerKind(0), TimerKind::kMs);  // nothing known: ms, as gostatsd means
  EXPECT_EQ(ResolveTimerKind(ms), TimerKind::kMs);
  EXPECT_EQ(ResolveTimerKind(h), TimerKind::kHistogram);
  EXPECT_EQ(ResolveTimerKind(ms | h), TimerKind::kMs);  // ms if any line was ms
}

// ---------------------------------------------------------------------------------------------
// Sets (9, 16, 17 and more).

TEST(ParserSetTest, SetMemberIsTheRawValuePart) {
  struct Case {
    const char* line;
    const char* name;
    const char* member;
    std::vector<std::string> tags;
  };
  const Case cases[] = {
      {"uniq.usr:joe|s", "uniq.usr", "joe", {}},
      {"un1qu3:john|s", "un1qu3", "john", {}},
      {"un1qu3:john|s|#some:42", "un1qu3", "john", {"some:42"}},
      {"da-sh:1|s", "da-sh", "1", {}},
      {"under_score:1|s", "under_score", "1", {}},
      {"s:a:b::c|s", "s", "a:b::c", {}},  // packing does not apply to sets
      {"s:|s", "s", "", {}},
      {"s:NaN|s", "s", "NaN", {}},
      {"s: x y |s|#t", "s", " x y ", {"t"}},
  };
  for (const Case& c : cases) {
    const Got got = ParseOne(c.line);
    ASSERT_EQ(got.kind, LineKind::kMetric) << c.line;
    EXPECT_EQ(got.type, MetricType::kSet) << c.line;
    EXPECT_EQ(got.name, c.name) << c.line;
    EXPECT_EQ(got.set_value, c.member) << c.line;
    EXPECT_THAT(got.values, IsEmpty()) << c.line;
    EXPECT_EQ(got.tags, c.tags) << c.line;
    EXPECT_EQ(got.rate, 1.0);
  }
}

TEST(ParserSetTest, SetWithSampleRate) {
  const Got got = ParseOne("s:m|s|@0.5");
  ASSERT_EQ(got.kind, LineKind::kMetric);
  EXPECT_EQ(got.set_value, "m");
  EXPECT_EQ(got.rate, 0.5);
  EXPECT_EQ(ErrorOf("s:m|s|@0"), ParseError::kInvalidSampleRate);
}

// ---------------------------------------------------------------------------------------------
// Bad metric lines: vectors 34-37, derived lines, docs/compatibility.md#decisions.

TEST(ParserErrorTest, SpecVectors) {
  EXPECT_EQ(ErrorOf("fOO|bar:bazkk"), ParseError::kMissingValueSeparator);   // 34
  EXPECT_EQ(ErrorOf("foo.bar.baz:1|q"), ParseError::kInvalidType);           // 35
  EXPECT_EQ(ErrorOf("NaN.should.be:NaN|g"), ParseError::kInvalidValueNaN);   // 36
  EXPECT_EQ(ErrorOf("bad.sampling:1|g|@"), ParseError::kInvalidSampleRate);  // 37
}

TEST(ParserErrorTest, DerivedFromCode) {
  EXPECT_EQ(ErrorOf("_foo:1|c"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("foo:1|dx"), ParseError::kInvalidType);   // `d` is a distribution
  EXPECT_EQ(ErrorOf("foo:1|c\r"), ParseError::kInvalidType);  // Parse alone; see ForEachLine
  EXPECT_EQ(ErrorOf("x:1 |c"), ParseError::kInvalidValue);
}

TEST(ParserServiceCheckTest, HandedToTheCaller) {
  Parser parser;
  ParsedMetric m;
  Event e;
  ParseError error = ParseError::kNone;
  EXPECT_EQ(parser.Parse("_sc|svc|0", m, e, error), LineKind::kServiceCheck);
  EXPECT_EQ(parser.Parse("_sc", m, e, error), LineKind::kBad);
  EXPECT_EQ(parser.Parse("_scx|svc|0", m, e, error), LineKind::kBad);
}

// gostatsd crashes on these (docs/compatibility.md#decision-1).
TEST(ParserErrorTest, GaugeWithoutValueIsBad) {
  EXPECT_EQ(ErrorOf("x:|g"), ParseError::kNoValue);
  EXPECT_EQ(ErrorOf("x:::|g"), ParseError::kNoValue);
  EXPECT_EQ(ErrorOf("a.packing:::|g|#|:|c:xyz"), ParseError::kNoValue);  // 33
}

TEST(ParserErrorTest, SampleRateMustBeFinitePositive) {  // docs/compatibility.md#decision-1
  for (const char* line : {"x:1|c|@0", "x:1|c|@-1", "x:1|c|@inf", "x:1|c|@+Inf", "x:1|c|@-inf",
                           "x:1|c|@nan", "x:1|c|@NaN", "x:1|c|@", "x:1|c|@-0", "x:1|c|@0.0",
                           "x:1|c|@1e-400", "x:1|c|@1e400", "x:1|c|@abc", "x:1|c|@0.5x",
                           "x:1|c|@ 0.5", "x:1|c|@0.5|@0", "x:1|c|@0|@0.5", "x:1|g|@-0.5"}) {
    EXPECT_EQ(ErrorOf(line), ParseError::kInvalidSampleRate) << line;
  }
}

// max-histogram-bounds (issue 14 item 6): a timer whose gsd_histogram tag lists more bounds is
// a bad line; each bound would be a series of its own at every flush.
std::string HistogramLine(int bounds, std::string_view type = "ms") {
  std::string line = "t:1|" + std::string(type) + "|#a:b,gsd_histogram:";
  for (int i = 0; i < bounds; ++i) line += (i ? "_" : "") + std::to_string(i);
  return line;
}

TEST(ParserErrorTest, HistogramBoundsBeyondTheLimitAreBad) {
  EXPECT_EQ(kDefaultMaxHistogramBounds, 100u);
  EXPECT_EQ(ParseOne(HistogramLine(100)).kind, LineKind::kMetric);
  EXPECT_EQ(ErrorOf(HistogramLine(101)), ParseError::kHistogramBounds);
  EXPECT_EQ(ErrorOf(HistogramLine(10000)), ParseError::kHistogramBounds);  // the issue's line
  EXPECT_EQ(ErrorOf(HistogramLine(101, "h")), ParseError::kHistogramBounds);
  // Only timers read the tag: other types keep it as a plain tag.
  EXPECT_EQ(ParseOne(HistogramLine(101, "c")).kind, LineKind::kMetric);
  EXPECT_EQ(ParseOne(HistogramLine(101, "g")).kind, LineKind::kMetric);
  // Any gsd_histogram tag of the line counts, in any '#' attribute.
  EXPECT_EQ(ErrorOf("t:1|ms|#gsd_histogram:1|#" + HistogramLine(101).substr(11)),
            ParseError::kHistogramBounds);

  Parser three("", 3);
  EXPECT_EQ(ParseWith(three, "t:1|ms|#gsd_histogram:1_2_3").kind, LineKind::kMetric);
  EXPECT_EQ(ParseWith(three, "t:1|ms|#gsd_histogram:1_2_3_4").error, ParseError::kHistogramBounds);
  EXPECT_EQ(ParseWith(three, "t:1|ms|#gsd_histogram:__x_").error, ParseError::kHistogramBounds);
  EXPECT_EQ(ParseWith(three, "t:1|ms|#gsd_histogram:").kind, LineKind::kMetric);
  EXPECT_EQ(ParseWith(three, "t:1|ms|#gsd_histogra:1_2_3_4_5").kind, LineKind::kMetric);
  EXPECT_EQ(ParseWith(three, "t:1|ms|#x,gsd_histogram:1_2_3_4_5|@0").error,
            ParseError::kInvalidSampleRate);  // attribute errors first
}

TEST(ParserErrorTest, SampleRatesAccepted) {
  EXPECT_EQ(ParseOne("x:1|c|@1").rate, 1.0);
  EXPECT_EQ(ParseOne("x:1|c|@2.5").rate, 2.5);  // > 1 is allowed, as gostatsd
  EXPECT_EQ(ParseOne("x:1|c|@0x1p-2").rate, 0.25);
  EXPECT_EQ(ParseOne("x:1|c|@1e-3").rate, 0.001);
  EXPECT_EQ(ParseOne("x:1|c|@.5").rate, 0.5);
  EXPECT_EQ(ParseOne("x:1|c|@0.5|@0.25").rate, 0.25);  // last one wins
  EXPECT_EQ(ParseOne("x:1|c|@5e-324").rate, 5e-324);   // smallest subnormal is > 0
}

TEST(ParserErrorTest, KeyErrors) {
  EXPECT_EQ(ErrorOf("abc"), ParseError::kMissingKeySeparator);
  EXPECT_EQ(ErrorOf("a|b|c"), ParseError::kMissingKeySeparator);
  EXPECT_EQ(ErrorOf("\r"), ParseError::kMissingKeySeparator);
  EXPECT_EQ(ErrorOf(":1|c"), ParseError::kKeyZeroLen);
  EXPECT_EQ(ErrorOf("$$:1|c"), ParseError::kKeyZeroLen);
  EXPECT_EQ(ErrorOf("\xc3\xa9:1|c"), ParseError::kKeyZeroLen);  // "é" is deleted
  EXPECT_EQ(ErrorOf(std::string_view("\0:1|c", 5)), ParseError::kKeyZeroLen);
}

TEST(ParserErrorTest, ValueSeparatorAndType) {
  EXPECT_EQ(ErrorOf("abc:1"), ParseError::kMissingValueSeparator);
  EXPECT_EQ(ErrorOf("abc:"), ParseError::kMissingValueSeparator);
  EXPECT_EQ(ErrorOf("a:1|"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1|m"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1|mx"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1|msx"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1|cx"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1|c@0.1"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1|C"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1||c"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1|dd"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1|D"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("a:1| c"), ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf(std::string_view("a:1|c\0", 6)), ParseError::kInvalidType);
}

TEST(ParserErrorTest, EmptyLineIsInvalidType) {
  Parser parser;
  ParsedMetric metric;
  Event event;
  ParseError error = ParseError::kNone;
  EXPECT_EQ(parser.Parse({}, metric, event, error), LineKind::kBad);
  EXPECT_EQ(error, ParseError::kInvalidType);
  EXPECT_EQ(ErrorOf("_"), ParseError::kInvalidType);
}

TEST(ParserErrorTest, ValueErrors) {
  EXPECT_EQ(ErrorOf("a:x|c"), ParseError::kInvalidValue);
  EXPECT_EQ(ErrorOf("a:1:x|c"), ParseError::kInvalidValue);
  EXPECT_EQ(ErrorOf("a:1:nan|ms"), ParseError::kInvalidValueNaN);
  EXPECT_EQ(ErrorOf("a:nan:x|ms"), ParseError::kInvalidValueNaN);  // first bad piece decides
  EXPECT_EQ(ErrorOf("a:x:nan|ms"), ParseError::kInvalidValue);
  EXPECT_EQ(ErrorOf("a:1e400|c"), ParseError::kInvalidValue);  // Go's ErrRange
  EXPECT_EQ(ErrorOf("a:-1e400|g"), ParseError::kInvalidValue);
  EXPECT_EQ(ErrorOf("a:1,5|c"), ParseError::kInvalidValue);
  // Attributes are lexed before values are parsed, as in gostatsd.
  EXPECT_EQ(ErrorOf("a:x|c|@0"), ParseError::kInvalidSampleRate);
  EXPECT_EQ(ErrorOf("a:x|cc"), ParseError::kInvalidType);
}

// ---------------------------------------------------------------------------------------------
// Attributes.

TEST(ParserAttributeTest, TagsAccumulateAndAreNotSanitised) {
  const Got got = ParseOne("a:1|c|#x|@0.5|#y,,z|#|#w");
  ASSERT_EQ(got.kind, LineKind::kMetric);
  EXPECT_THAT(got.tags, ElementsAre("x", "y", "z", "w"));
  EXPECT_EQ(got.rate, 0.5);
  const Got raw = ParseOne("a:1|c|#a b:c/d,\xc3\xa9,host:h:1,@x,#y");
  EXPECT_THAT(raw.tags, ElementsAre("a b:c/d", "\xc3\xa9", "host:h:1", "@x", "#y"));
}

TEST(ParserAttributeTest, UnknownAttributesAreSkipped) {
  const Got got = ParseOne("a:1|c|T1700000000|c:abc|x|:|e:1|#t");
  ASSERT_EQ(got.kind, LineKind::kMetric);
  EXPECT_THAT(got.tags, ElementsAre("t"));
}

TEST(ParserAttributeTest, EmptyAttributeSwallowsTheNextOneAsGostatsd) {
  // gostatsd consumes the byte after '|' as the attribute kind even when it is '|', then skips to
  // the following '|': the attribute after "||" is ignored.
  const Got tags = ParseOne("a:1|c||#x|#y");
  ASSERT_EQ(tags.kind, LineKind::kMetric);
  EXPECT_THAT(tags.tags, ElementsAre("y"));
  const Got rate = ParseOne("a:1|c||@0");
  ASSERT_EQ(rate.kind, LineKind::kMetric);
  EXPECT_EQ(rate.rate, 1.0);
}

// ---------------------------------------------------------------------------------------------
// Names.

TEST(ParserNameTest, CleanNameIsAViewOfTheInput) {
  Parser parser;
  ParsedMetric metric;
  Event event;
  ParseError error;
  const std::string line = "a.b-c_D9:1|c";
  ASSERT_EQ(parser.Parse(line, metric, event, error), LineKind::kMetric);
  EXPECT_EQ(metric.name, "a.b-c_D9");
  EXPECT_EQ(metric.name.data(), line.data());
}

TEST(ParserNameTest, SanitisedNames) {
  struct Case {
    std::string line;
    const char* name;
  };
  const Case cases[] = {
      {"Ab/c d\te:1|c", "Ab-c_d_e"},
      {"a,b$c#d@e=f|g!h:1|c", "abcdefgh"},
      {"caf\xc3\xa9.latte:1|c", "caf.latte"},
      {std::string("a\0b:1|c", 7), "ab"},
      {"\x01_foo:1|c", "_foo"},  // first byte is not '_', so it is a metric
      {"//:1|c", "--"},
      {"  :1|c", "__"},
      {"a\r\nb:1|c", "ab"},
  };
  for (const Case& c : cases) {
    Parser parser(NoTagDialects());  // `a,b...` is an InfluxDB section otherwise
    ParsedMetric metric;
    Event event;
    ParseError error;
    ASSERT_EQ(parser.Parse(c.line, metric, event, error), LineKind::kMetric) << c.line;
    EXPECT_EQ(metric.name, c.name);
    EXPECT_NE(metric.name.data(), c.line.data());
  }
}

TEST(ParserNameTest, SanitiserFunctions) {
  std::string out = "p.";
  AppendSanitisedName("a/b c\td$e", out);
  EXPECT_EQ(out, "p.a-b_c_de");
  EXPECT_TRUE(IsSanitisedName("abc.DEF-0_9"));
  EXPECT_FALSE(IsSanitisedName("a b"));
  EXPECT_FALSE(IsSanitisedName("a:b"));
  int kept = 0;
  for (int c = 0; c < 256; ++c) {
    if (ClassifyNameByte(static_cast<char>(c)) == NameByte::kKeep) ++kept;
  }
  EXPECT_EQ(kept, 26 + 26 + 10 + 3);
  EXPECT_EQ(ClassifyNameByte('/'), NameByte::kSlash);
  EXPECT_EQ(ClassifyNameByte('\t'), NameByte::kBlank);
  EXPECT_EQ(ClassifyNameByte(':'), NameByte::kColon);
  EXPECT_EQ(ClassifyNameByte('\xff'), NameByte::kDelete);
}

TEST(ParserNameTest, NamespacePrefix) {  // 38 and friends
  Parser parser("stats");
  EXPECT_EQ(ParseWith(parser, "foo.bar.baz:2|c").name, "stats.foo.bar.baz");
  EXPECT_EQ(ParseWith(parser, "abc.def.g:3|g").name, "stats.abc.def.g");
  EXPECT_EQ(ParseWith(parser, "def.g:10|ms").name, "stats.def.g");
  const Got set = ParseWith(parser, "uniq.usr:joe|s");
  EXPECT_EQ(set.name, "stats.uniq.usr");
  EXPECT_EQ(set.set_value, "joe");
  EXPECT_EQ(ParseWith(parser, "f/o o:1|c").name, "stats.f-o_o");
  EXPECT_EQ(ParseWith(parser, "x:1|c").name, "stats.x");  // shorter after longer: no leftovers
  EXPECT_EQ(ParseWith(parser, "$:1|c").error, ParseError::kKeyZeroLen);
  EXPECT_EQ(ParseWith(parser, ":1|c").error, ParseError::kKeyZeroLen);
  // The namespace itself is not sanitised (gostatsd prepends it verbatim).
  EXPECT_EQ(ParseOne("a:1|c", "my ns").name, "my ns.a");
  EXPECT_EQ(ParseOne("_e{1,1}:a|b", "stats").event.title, "a");  // events are not prefixed
}

// ---------------------------------------------------------------------------------------------
// Go float syntax (strconv.ParseFloat).

TEST(GoFloatTest, AcceptedLiterals) {
  struct Case {
    const char* text;
    double value;
  };
  const Case cases[] = {
      {"5", 5},
      {"+5", 5},
      {"-5", -5},
      {"1e3", 1000},
      {"1E3", 1000},
      {"1e+3", 1000},
      {"1e-3", 0.001},
      {"2.5", 2.5},
      {".5", 0.5},
      {"5.", 5},
      {"007", 7},
      {"0x1p-2", 0.25},
      {"0X1P-2", 0.25},
      {"-0x1p-2", -0.25},
      {"0x1.8p1", 3},
      {"0x.8p1", 1},
      {"0xAbCp0", 2748},
      {"0x1_0p0", 16},
      {"0x_1p0", 1},
      {"0x1p1_0", 1024},
      {"1_000", 1000},  // Go's underscoreOK allows '_' between digits, base prefix or not
      {"1_23.50_0_0e+1_2", 1.235e14},
      {"1e1_0", 1e10},
      {"0_1", 1},
      {"Inf", kInf},
      {"inf", kInf},
      {"+Inf", kInf},
      {"-inf", -kInf},
      {"infinity", kInf},
      {"-infinity", -kInf},
      {"+INFINITY", kInf},
      {"InFiNiTy", kInf},
      {"1e-400", 0},
      {"4e-320", 4e-320},
      {"1.7976931348623157e308", 1.7976931348623157e308},
      {"9999999999999999999", 9999999999999999999.0},  // 19 digits: fast path
      {"18446744073709551616", 18446744073709551616.0},
      {"123456789012345678901234567890", 1.2345678901234568e29},
      {"0.1000000000000000055511151231257827021181583404541015625", 0.1},
      {"0x1p-1074", 5e-324},
      {"0x1p-1075", 0},         // exactly half the smallest subnormal: ties to even (0)
      {"0x1.8p-1075", 5e-324},  // above half: rounds up
      {"0x1.fffffffffffff7p1023", std::numeric_limits<double>::max()},
      {"0x1.00000000000008p0", 1},                          // tie, rounds to even
      {"0x1.000000000000080000001p0", 1.0000000000000002},  // sticky bit beyond 16 digits
      {"0x0p0", 0},
      {"0e99999", 0},
      // the exact decimal fast path and its limits
      {"0.1", 0.1},
      {"-.5", -0.5},
      {"123456789012.345", 123456789012.345},
      {"0.000000000000001", 1e-15},
      {"999999999999999.", 999999999999999.0},
      {"9007199254740993.", 9007199254740992.0},  // 16 digits: slow path, ties to even
      {"1.2345678901234567", 1.2345678901234567},
      {"0.30000000000000004", 0.30000000000000004},
  };
  for (const Case& c : cases) {
    const FloatResult r = GaugeValue(c.text);
    ASSERT_TRUE(r.ok) << c.text << ": " << ParseErrorName(r.error);
    EXPECT_EQ(r.value, c.value) << c.text;
  }
}

TEST(GoFloatTest, SignedZero) {
  EXPECT_TRUE(std::signbit(GaugeValue("-0").value));
  EXPECT_TRUE(std::signbit(GaugeValue("-0.0").value));
  EXPECT_TRUE(std::signbit(GaugeValue("-1e-400").value));
  EXPECT_FALSE(std::signbit(GaugeValue("0").value));
}

TEST(GoFloatTest, RejectedLiterals) {
  std::vector<std::string> texts = {" 1",
                                    "1 ",
                                    "1__000",
                                    "_1000",
                                    "1000_",
                                    "1_.5",
                                    "1._5",
                                    "1_e5",
                                    "1e_5",
                                    "1e5_",
                                    "+_1",
                                    "-_0x1p0",
                                    "0x1",
                                    "0x",
                                    "0x.p1",
                                    "0xp1",
                                    "0x1p",
                                    "0x1p+",
                                    "0x1e5",
                                    "0x1.5",
                                    "1e",
                                    "1e+",
                                    "1e-",
                                    ".",
                                    "-",
                                    "+",
                                    "e5",
                                    "--1",
                                    "+-1",
                                    "1.5.5",
                                    "1..5",
                                    "infinit",
                                    "infx",
                                    "in",
                                    "+nan",
                                    "-NaN",
                                    "nanx",
                                    "0b101",
                                    "0o17",
                                    "1e400",
                                    "-1e400",
                                    "0x1p1024",
                                    "0x1.fffffffffffff8p1023",
                                    "1.7976931348623159e308",
                                    "1f",
                                    "1d",
                                    "\xff",
                                    "0x1p1_",
                                    "1.e",
                                    "one",
                                    "1,5",
                                    "0x1p-2.5",
                                    "1e5.5",
                                    "12345678901234567890x"};
  texts.emplace_back("1\0", 2);
  for (const std::string& text : texts) {
    const FloatResult r = GaugeValue(text);
    EXPECT_FALSE(r.ok) << text;
    EXPECT_EQ(r.error, ParseError::kInvalidValue) << text;
  }
}

TEST(GoFloatTest, NaNInAnyCase) {
  for (const char* text : {"nan", "NaN", "NAN", "nAn"}) {
    const FloatResult r = GaugeValue(text);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, ParseError::kInvalidValueNaN) << text;
  }
}

TEST(GoFloatTest, ExponentDigitsBeyondGosCapAreIgnoredAsGo) {
  // Go stops accumulating exponent digits once the exponent reaches 10000: here it reads
  // e10000 (not e100005), so the value is 1e-10001 * 1e10000 = 0.1, not an overflow.
  const std::string text = "0." + std::string(10000, '0') + "1e100005";
  const FloatResult r = GaugeValue(text);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.value, 0.1);
}

TEST(GoFloatTest, DirectApi) {
  std::string scratch;
  double v = 0;
  EXPECT_EQ(ParseGoFloat("12", v, scratch), FloatParseStatus::kOk);
  EXPECT_EQ(v, 12);
  EXPECT_EQ(ParseGoFloat("nan", v, scratch), FloatParseStatus::kOk);
  EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(ParseGoFloat("1e999", v, scratch), FloatParseStatus::kRange);
  EXPECT_EQ(v, kInf);
  EXPECT_EQ(ParseGoFloat("-0x1p2000", v, scratch), FloatParseStatus::kRange);
  EXPECT_EQ(v, -kInf);
  EXPECT_EQ(ParseGoFloat("", v, scratch), FloatParseStatus::kSyntax);
  EXPECT_EQ(ParseGoFloat("-", v, scratch), FloatParseStatus::kSyntax);
  EXPECT_EQ(ParseGoFloat("1_2.5", v, scratch), FloatParseStatus::kOk);
  EXPECT_EQ(v, 12.5);
}

// ---------------------------------------------------------------------------------------------
// Events: 39-48 and more.

struct EventCase {
  const char* line;
  Event want;
};

Event MakeEvent(std::string title, std::string text) {
  Event e;
  e.title = std::move(title);
  e.text = std::move(text);
  return e;
}

Event FullEvent() {
  Event e = MakeEvent("a", "b");
  e.date_happened = 123123;
  e.source = "hoost";
  e.priority = EventPriority::kLow;
  e.alert_type = EventAlertType::kWarning;
  e.tags = {"tag1", "t:tag2"};
  return e;
}

TEST(ParserEventTest, SpecVectors) {
  std::vector<EventCase> cases;
  cases.push_back({"_e{1,1}:a|b", MakeEvent("a", "b")});
  cases.push_back(
      {"_e{6,18}:ab|| c|hello,\\nmy friend!", MakeEvent("ab|| c", "hello,\nmy friend!")});
  {
    Event e = MakeEvent("a", "b");
    e.date_happened = 123123;
    cases.push_back({"_e{1,1}:a|b|d:123123", e});
    e.source = "hoost";
    cases.push_back({"_e{1,1}:a|b|d:123123|h:hoost", e});
    e.priority = EventPriority::kLow;
    cases.push_back({"_e{1,1}:a|b|d:123123|h:hoost|p:low", e});
    e.alert_type = EventAlertType::kWarning;
    cases.push_back({"_e{1,1}:a|b|d:123123|h:hoost|p:low|t:warning", e});
    cases.push_back({"_e{1,1}:a|b|d:123123|h:hoost|p:low|t:warning|c:xyz", e});
  }
  for (const char* line : {
           "_e{1,1}:a|b|d:123123|h:hoost|p:low|t:warning|#tag1,t:tag2",
           "_e{1,1}:a|b|d:123123|h:hoost|p:low|t:warning|#tag1,t:tag2|c:xyz",
           "_e{1,1}:a|b|t:warning|d:123123|h:hoost|p:low|c:xyz|#tag1,t:tag2",
           "_e{1,1}:a|b|#tag1,t:tag2|t:warning|d:123123|h:hoost|p:low|c:xyz",
           "_e{1,1}:a|b|c:xyz|#tag1,t:tag2|t:warning|d:123123|h:hoost|p:low",
           "_e{1,1}:a|b|p:low|c:xyz|#tag1,t:tag2|t:warning|d:123123|h:hoost",
           "_e{1,1}:a|b|h:hoost|p:low|c:xyz|#tag1,t:tag2|t:warning|d:123123",
           "_e{1,1}:a|b|t:warning|d:123123|h:hoost|p:low|c:xyz|#tag1,t:tag2|x:unk",
           "_e{1,1}:a|b|x:unk|#tag1,t:tag2|t:warning|d:123123|h:hoost|p:low|c:xyz",
           "_e{1,1}:a|b|c:xyz|x:unk|#tag1,t:tag2|t:warning|d:123123|h:hoost|p:low",
           "_e{1,1}:a|b|p:low|c:xyz|x:unk|#tag1,t:tag2|t:warning|d:123123|h:hoost",
           "_e{1,1}:a|b|h:hoost|p:low|c:xyz|x:unk|#tag1,t:tag2|t:warning|d:123123",
       }) {
    cases.push_back({line, FullEvent()});
  }
  {
    Event e = MakeEvent("a", "b");
    e.aggregation_key = "agg_key";
    cases.push_back({"_e{1,1}:a|b|k:agg_key", e});
  }
  {
    Event e = MakeEvent("a", "b");
    e.source = "hoost";
    cases.push_back({"_e{1,1}:a|b|h:hoost", e});
    cases.push_back({"_e{1,1}:a|b|h:hoost|x:unk", e});
  }
  {
    Event e = MakeEvent("a", "b");
    e.priority = EventPriority::kLow;
    cases.push_back({"_e{1,1}:a|b|p:low", e});
    cases.push_back({"_e{1,1}:a|b|p:low|x:unk", e});
  }
  {
    Event e = MakeEvent("a", "b");
    e.alert_type = EventAlertType::kWarning;
    cases.push_back({"_e{1,1}:a|b|t:warning", e});
    cases.push_back({"_e{1,1}:a|b|t:warning|x:unk", e});
  }
  {
    Event e = MakeEvent("a", "b");
    e.tags = {"tag1", "t:tag2"};
    cases.push_back({"_e{1,1}:a|b|#tag1,t:tag2", e});
    cases.push_back({"_e{1,1}:a|b|#tag1,t:tag2|x:unk", e});
  }
  cases.push_back({"_e{1,1}:a|b|c:xyz", MakeEvent("a", "b")});
  cases.push_back({"_e{1,1}:a|b|c:xyz|x:unk", MakeEvent("a", "b")});
  cases.push_back({"_e{1,1}:a|b|x:unk", MakeEvent("a", "b")});
  {
    Event e = MakeEvent("Deployment completed", "Deployment completed in 7 minutes.");
    e.date_happened = 1463746133;
    e.source = "9c00cf070c14";
    e.source_type_name = "Micros Server";
    e.alert_type = EventAlertType::kSuccess;
    e.tags = {"topic:service.deploy", "message_env:pdev", "service_id:node-refapp-ci-internal",
              "deployment_id:72e95b0f-37b0-4cf9-8e92-3e47d006b63f"};
    cases.push_back(
        {"_e{20,34}:Deployment completed|Deployment completed in 7 minutes.|d:1463746133|h:"
         "9c00cf070c14|s:Micros Server|t:success|#topic:service.deploy,message_env:pdev,service_"
         "id:node-refapp-ci-internal,deployment_id:72e95b0f-37b0-4cf9-8e92-3e47d006b63f",
         e});
  }
  for (const EventCase& c : cases) {
    const Got got = ParseOne(c.line);
    ASSERT_EQ(got.kind, LineKind::kEvent) << c.line << ": " << ParseErrorName(got.error);
    EXPECT_EQ(got.error, ParseError::kNone);
    EXPECT_EQ(got.event, c.want) << c.line;
  }
}

TEST(ParserEventTest, SpecErrorVectors) {
  const std::pair<const char*, ParseError> cases[] = {
      {"_x{1,1}:a|b", ParseError::kInvalidType},
      {"_e{2,1}:a|b", ParseError::kNotEnoughData},
      {"_e{1,2}:a|b", ParseError::kNotEnoughData},
      {"_e{2,2}:a|b", ParseError::kNotEnoughData},
      {"_e{1,1}:ab", ParseError::kNotEnoughData},
      {"_e{1,1}ab", ParseError::kInvalidFormat},
      {"_e{1,1}a:b", ParseError::kInvalidFormat},
      {"_e{1,1}:a:b", ParseError::kInvalidFormat},
      {"_e{,1}:a|b", ParseError::kInvalidFormat},
      {"_e{1,}:a|b", ParseError::kInvalidFormat},
      {"_e{1}:a|b", ParseError::kInvalidFormat},
      {"_e{}:a|b", ParseError::kInvalidFormat},
      {"_e1,2}:a|b", ParseError::kInvalidFormat},
      {"_e:a|b", ParseError::kInvalidFormat},
      {"_e{999999999999999999999999,1}:a|b", ParseError::kOverflow},
      {"_e{1,999999999999999999999999}:a|b", ParseError::kOverflow},
  };
  for (const auto& [line, want] : cases) EXPECT_EQ(ErrorOf(line), want) << line;
}

TEST(ParserEventTest, MoreErrors) {
  const std::pair<std::string, ParseError> cases[] = {
      {"_e", ParseError::kInvalidFormat},
      {"_e{", ParseError::kInvalidFormat},
      {"_e{1", ParseError::kInvalidFormat},
      {"_e{1,1", ParseError::kInvalidFormat},
      {"_e{1,1}", ParseError::kInvalidFormat},
      {"_e{1,1}:", ParseError::kNotEnoughData},
      {"_e{-1,1}:a|b", ParseError::kInvalidFormat},
      {"_e{4294967296,1}:a|b", ParseError::kOverflow},
      {"_e{1,4294967296}:a|b", ParseError::kOverflow},
      {"_e{18446744073709551616,1}:a|b", ParseError::kOverflow},
      // gostatsd's uint32 sum wraps here and it panics; cstatsd reports not enough data.
      {"_e{4294967295,0}:a|b", ParseError::kNotEnoughData},
      {"_e{4294967295,4294967295}:a|b", ParseError::kNotEnoughData},
      {"_e{0,4294967295}:|", ParseError::kNotEnoughData},
      {"_e{1,1}:a|bc", ParseError::kInvalidEventAttributes},
      {"_e{1,1}:a|b|d:12x", ParseError::kInvalidEventAttributes},
      {"_e{1,1}:a|b|d:", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|d:x", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|d", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|d:-1", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|d:9223372036854775808", ParseError::kOverflow},
      {"_e{1,1}:a|b|d:99999999999999999999", ParseError::kOverflow},
      {"_e{1,1}:a|b|d:21000000000000000000", ParseError::kOverflow},
      {"_e{1,1}:a|b|host:x", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|h", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|k", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|source:x", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|priority:low", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|type:x", ParseError::kInvalidFormat},
      {"_e{1,1}:a|b|p:high", ParseError::kInvalidEventAttributes},
      {"_e{1,1}:a|b|p:LOW", ParseError::kInvalidEventAttributes},
      {"_e{1,1}:a|b|p:", ParseError::kInvalidEventAttributes},
      {"_e{1,1}:a|b|t:fatal", ParseError::kInvalidEventAttributes},
      {"_e{1,1}:a|b|t:", ParseError::kInvalidEventAttributes},
      {"_E{1,1}:a|b", ParseError::kInvalidType},
  };
  for (const auto& [line, want] : cases) EXPECT_EQ(ErrorOf(line), want) << line;
}

TEST(ParserEventTest, MoreAccepted) {
  {
    const Got got = ParseOne("_e{0,0}:|");
    ASSERT_EQ(got.kind, LineKind::kEvent);
    EXPECT_EQ(got.event, MakeEvent("", ""));
  }
  {
    const Got got = ParseOne("_e{1,1}:a|b|");  // trailing empty attribute
    ASSERT_EQ(got.kind, LineKind::kEvent);
    EXPECT_EQ(got.event, MakeEvent("a", "b"));
  }
  {
    const Got got = ParseOne("_e{1,1}:a|b|d:9223372036854775807|d:0007");
    ASSERT_EQ(got.kind, LineKind::kEvent);
    EXPECT_EQ(got.event.date_happened, 7);
  }
  {
    const Got got = ParseOne("_e{1,1}:a|b|d:9223372036854775807");
    EXPECT_EQ(got.event.date_happened, std::numeric_limits<int64_t>::max());
  }
  {
    // Title and text are byte counts: both may contain '|', ':' and multi-byte characters.
    const Got got = ParseOne("_e{4,5}:\xc3\xa9|:|a|:b||h:h1|h:h2|k:|s:src:x");
    ASSERT_EQ(got.kind, LineKind::kEvent) << ParseErrorName(got.error);
    EXPECT_EQ(got.event.title, "\xc3\xa9|:");
    EXPECT_EQ(got.event.text, "a|:b|");
    EXPECT_EQ(got.event.source, "h2");  // last h: wins
    EXPECT_EQ(got.event.aggregation_key, "");
    EXPECT_EQ(got.event.source_type_name, "src:x");
  }
  {
    // "\n" is replaced left to right without overlap; a lone backslash stays.
    const Got got = ParseOne("_e{1,8}:t|\\\\n\\n\\x\\");
    ASSERT_EQ(got.kind, LineKind::kEvent) << ParseErrorName(got.error);
    EXPECT_EQ(got.event.text, "\\\n\n\\x\\");
  }
  {
    const Got got = ParseOne("_e{1,1}:a|b|#t1,,t2|#|#,t3,|x:#no|c:1,2");
    ASSERT_EQ(got.kind, LineKind::kEvent);
    EXPECT_THAT(got.event.tags, ElementsAre("t1", "t2", "t3"));
  }
  {
    // As gostatsd: "normal" and "info" are accepted but do not undo an earlier value.
    const Got got = ParseOne("_e{1,1}:a|b|p:low|p:normal|t:error|t:info");
    ASSERT_EQ(got.kind, LineKind::kEvent);
    EXPECT_EQ(got.event.priority, EventPriority::kLow);
    EXPECT_EQ(got.event.alert_type, EventAlertType::kError);
  }
  {
    const Got got = ParseOne("_e{1,1}:a|b||#skipped|#kept");
    ASSERT_EQ(got.kind, LineKind::kEvent);
    EXPECT_THAT(got.event.tags, ElementsAre("kept"));
  }
  {
    const Got got = ParseOne(std::string_view("_e{3,1}:\0\0\0|\0|\0", 16));
    ASSERT_EQ(got.kind, LineKind::kEvent);
    EXPECT_EQ(got.event.title, std::string(3, '\0'));
    EXPECT_EQ(got.event.text, std::string(1, '\0'));
  }
}

TEST(ParserEventTest, EventIsResetBetweenLines) {
  Parser parser;
  ParsedMetric metric;
  Event event;
  ParseError error;
  ASSERT_EQ(parser.Parse("_e{1,1}:a|b|d:5|h:h|k:k|s:s|p:low|t:error|#x,y", metric, event, error),
            LineKind::kEvent);
  ASSERT_EQ(parser.Parse("_e{1,1}:c|d", metric, event, error), LineKind::kEvent);
  EXPECT_EQ(event, MakeEvent("c", "d"));
}

// ---------------------------------------------------------------------------------------------
// Reuse: views and vectors from one line never leak into the next.

TEST(ParserReuseTest, MetricIsClearedBetweenLines) {
  Parser parser;
  ParsedMetric metric;
  Event event;
  ParseError error;
  ASSERT_EQ(parser.Parse("a b:1:2:3|ms|@0.5|#x,y", metric, event, error), LineKind::kMetric);
  ASSERT_EQ(parser.Parse("s:m|s", metric, event, error), LineKind::kMetric);
  EXPECT_EQ(metric.type, MetricType::kSet);
  EXPECT_EQ(metric.name, "s");
  EXPECT_THAT(metric.values, IsEmpty());
  EXPECT_THAT(metric.tags, IsEmpty());
  EXPECT_EQ(metric.rate, 1.0);
  EXPECT_EQ(metric.set_value, "m");
  EXPECT_EQ(parser.Parse("c:x|c", metric, event, error), LineKind::kBad);
  ASSERT_EQ(parser.Parse("c:4|c", metric, event, error), LineKind::kMetric);
  EXPECT_EQ(error, ParseError::kNone);
  EXPECT_EQ(metric.set_value, "");
  EXPECT_THAT(metric.values, ElementsAre(4));
}

// ---------------------------------------------------------------------------------------------
// ForEachLine (docs/compatibility.md#decision-3) and whole datagrams.

std::vector<std::string> Lines(std::string_view datagram) {
  std::vector<std::string> out;
  ForEachLine(datagram, [&out](std::string_view line) { out.emplace_back(line); });
  return out;
}

TEST(ForEachLineTest, SplitsOnNewlineOnly) {
  EXPECT_THAT(Lines(""), IsEmpty());      // 50
  EXPECT_THAT(Lines("\n"), IsEmpty());    // 50
  EXPECT_THAT(Lines("\n\n"), IsEmpty());  // 50
  EXPECT_THAT(Lines("\r\n\r\n"), IsEmpty());
  EXPECT_THAT(Lines("\r"), IsEmpty());
  EXPECT_THAT(Lines("a"), ElementsAre("a"));
  EXPECT_THAT(Lines("a\n"), ElementsAre("a"));
  EXPECT_THAT(Lines("a\nb"), ElementsAre("a", "b"));
  EXPECT_THAT(Lines("a\n\n\nb\n\n"), ElementsAre("a", "b"));
  EXPECT_THAT(Lines("a\r\nb\r\n"), ElementsAre("a", "b"));
  EXPECT_THAT(Lines("a\rb\r"), ElementsAre("a\rb"));  // only a trailing '\r' goes
  EXPECT_THAT(Lines("a\r\r\n"), ElementsAre("a\r"));  // and only one
}

struct Counts {
  int metrics = 0;
  int events = 0;
  int bad = 0;
};

Counts ParseDatagram(std::string_view datagram, std::vector<Got>* out = nullptr) {
  Parser parser;
  ParsedMetric metric;
  Event event;
  Counts counts;
  ForEachLine(datagram, [&](std::string_view line) {
    ParseError error;
    switch (parser.Parse(line, metric, event, error)) {
      case LineKind::kMetric:
        ++counts.metrics;
        break;
      case LineKind::kEvent:
        ++counts.events;
        break;
      case LineKind::kBad:
      case LineKind::kServiceCheck:  // the worker parses it; none of these datagrams holds one
        ++counts.bad;
        break;
    }
    if (out != nullptr) out->push_back(ParseWith(parser, line));
  });
  return counts;
}

TEST(ForEachLineTest, Datagrams) {
  std::vector<Got> got;
  const Counts c = ParseDatagram("f:2|c\nx:3|c\n", &got);  // 49, parser side
  EXPECT_EQ(c.metrics, 2);
  EXPECT_EQ(c.bad, 0);
  EXPECT_EQ(got[0].name, "f");
  EXPECT_EQ(got[1].name, "x");
  // A good counter (docs/compatibility.md#decision-3).
  const Counts crlf = ParseDatagram("foo:1|c\r");
  EXPECT_EQ(crlf.metrics, 1);
  EXPECT_EQ(crlf.bad, 0);
  const Counts mixed = ParseDatagram("a:1|c\r\n\r\n\nb:2|g\n_e{1,1}:a|b\nbad\n\nf:6|c");  // 54
  EXPECT_EQ(mixed.metrics, 3);
  EXPECT_EQ(mixed.events, 1);
  EXPECT_EQ(mixed.bad, 1);
}

// A NUL byte ends the line (gostatsd's lexer reads NUL as the end of its input): the rest of the
// line, up to the next '\n', is ignored (docs/compatibility.md).
TEST(ForEachLineTest, NulEndsTheLine) {
  using namespace std::string_view_literals;
  EXPECT_THAT(Lines("a\0b\n"sv), ElementsAre("a"));
  EXPECT_THAT(Lines("x:1|c\0\0\0\ny:2|c\0garbage"sv), ElementsAre("x:1|c", "y:2|c"));
  EXPECT_THAT(Lines("\0x:1|c\nz:1|c"sv), ElementsAre("z:1|c"));  // nothing before the NUL
  EXPECT_THAT(Lines("x:1|c\r\0\r\n"sv), ElementsAre("x:1|c"));   // then the trailing '\r'
  EXPECT_THAT(Lines("\0"sv), IsEmpty());
  // Through the parser: NUL padding after a line (a C client sending its buffer) is not bad, a
  // NUL inside a name or value cuts the line short as it does in gostatsd.
  const Counts padded = ParseDatagram("a:1|c|#t:1\0\0\0\nb:2|g\0"sv);
  EXPECT_EQ(padded.metrics, 2);
  EXPECT_EQ(padded.bad, 0);
  std::vector<Got> got;
  const Counts cut = ParseDatagram("ab\0c:1|c\nx:1\0|c\nt:1|ms|#a\0b"sv, &got);
  EXPECT_EQ(cut.bad, 2);  // "ab": missing key separator; "x:1": missing value separator
  EXPECT_EQ(got[0].error, ParseError::kMissingKeySeparator);
  EXPECT_EQ(got[1].error, ParseError::kMissingValueSeparator);
  ASSERT_EQ(got[2].kind, LineKind::kMetric);
  EXPECT_THAT(got[2].tags, ElementsAre("a"));
}

// ---------------------------------------------------------------------------------------------
// Error names.

TEST(ParseErrorNameTest, GostatsdTexts) {
  EXPECT_EQ(ParseErrorName(ParseError::kInvalidType), "invalid type");
  EXPECT_EQ(ParseErrorName(ParseError::kMissingKeySeparator), "missing key separator");
  EXPECT_EQ(ParseErrorName(ParseError::kKeyZeroLen), "key zero len");
  EXPECT_EQ(ParseErrorName(ParseError::kMissingValueSeparator), "missing value separator");
  EXPECT_EQ(ParseErrorName(ParseError::kInvalidValue), "invalid value");
  EXPECT_EQ(ParseErrorName(ParseError::kInvalidValueNaN), "invalid value NaN");
  EXPECT_EQ(ParseErrorName(ParseError::kNoValue), "no value");
  EXPECT_EQ(ParseErrorName(ParseError::kInvalidSampleRate), "invalid sample rate");
  EXPECT_EQ(ParseErrorName(ParseError::kInvalidFormat), "invalid format");
  EXPECT_EQ(ParseErrorName(ParseError::kNotEnoughData), "not enough data");
  EXPECT_EQ(ParseErrorName(ParseError::kOverflow), "overflow");
  EXPECT_EQ(ParseErrorName(ParseError::kInvalidEventAttributes), "invalid event attributes");
  EXPECT_EQ(ParseErrorName(ParseError::kHistogramBounds), "too many histogram bounds");
}

// ---------------------------------------------------------------------------------------------
// Long lines and garbage.

TEST(ParserStressTest, SixtyFourKiBLines) {
  constexpr size_t k64 = 65535;
  {
    const std::string name(k64 - 4, 'n');
    const std::string line = name + ":1|c";
    const Got got = ParseOne(line);
    ASSERT_EQ(got.kind, LineKind::kMetric);
    EXPECT_EQ(got.name, name);
  }
  {
    std::string line = "v:";
    while (line.size() < k64 - 4) line += "1:";
    line += "2|c";
    const Got got = ParseOne(line);
    ASSERT_EQ(got.kind, LineKind::kMetric);
    EXPECT_EQ(got.values.size(), static_cast<size_t>(std::count(line.begin(), line.end(), ':')));
    EXPECT_EQ(got.values.back(), 2);
  }
  {
    std::string line = "t:1|c|#";
    while (line.size() < k64) line += "k:v,";
    const Got got = ParseOne(line);
    ASSERT_EQ(got.kind, LineKind::kMetric);
    EXPECT_EQ(got.tags.size(), (line.size() - 7) / 4);
  }
  {
    const std::string digits = "1" + std::string(k64 - 8, '0');
    const FloatResult r = GaugeValue(digits);  // 1e65526: out of range
    EXPECT_FALSE(r.ok);
    const FloatResult tiny = GaugeValue("0." + std::string(k64 - 8, '0') + "1");
    ASSERT_TRUE(tiny.ok);
    EXPECT_EQ(tiny.value, 0);
    const FloatResult under = GaugeValue(std::string(30000, '1') + "e-30000");
    ASSERT_TRUE(under.ok);
    EXPECT_DOUBLE_EQ(under.value, 0.1111111111111111);
  }
  {
    const std::string title(40000, 'T');
    const std::string text(25000, 'x');
    const std::string line = "_e{40000,25000}:" + title + "|" + text + "|h:host";
    const Got got = ParseOne(line);
    ASSERT_EQ(got.kind, LineKind::kEvent);
    EXPECT_EQ(got.event.title, title);
    EXPECT_EQ(got.event.text, text);
    EXPECT_EQ(got.event.source, "host");
  }
  for (char fill : {'|', ':', '@', '#', '_', '\0', '\xff', '/', ','}) {
    const std::string line(k64, fill);
    const Got got = ParseOne(line);
    EXPECT_EQ(got.kind, LineKind::kBad) << static_cast<int>(fill);
  }
  EXPECT_EQ(ParseOne("a:1|c|" + std::string(k64, '|')).kind, LineKind::kMetric);
  EXPECT_EQ(ParseOne("a:1|c|@" + std::string(k64, '1')).error, ParseError::kInvalidSampleRate);
}

// Invariants every accepted line must satisfy.
void CheckInvariants(const Got& got, bool with_namespace) {
  if (got.kind == LineKind::kMetric) {
    ASSERT_FALSE(got.name.empty());
    if (!with_namespace) {
      for (char c : got.name) ASSERT_EQ(ClassifyNameByte(c), NameByte::kKeep);
    }
    ASSERT_TRUE(std::isfinite(got.rate));
    ASSERT_GT(got.rate, 0);
    for (double v : got.values) ASSERT_FALSE(std::isnan(v));
    if (got.type == MetricType::kGauge) {
      ASSERT_FALSE(got.values.empty());
    }
    for (const std::string& t : got.tags) {
      ASSERT_FALSE(t.empty());
      ASSERT_EQ(t.find_first_of(",|"), std::string::npos);
    }
  } else if (got.kind == LineKind::kEvent) {
    for (const std::string& t : got.event.tags) ASSERT_FALSE(t.empty());
  } else {
    ASSERT_NE(got.error, ParseError::kNone);
  }
}

TEST(ParserStressTest, RandomGarbage) {
  std::mt19937 rng(12345);  // NOLINT(cert-msc51-cpp): deterministic on purpose
  // Fragments of real lines, glued at random, plus random bytes.
  const std::vector<std::string> fragments = {
      "a",     "b.c",  "x y",    "/",        ":",   "1",   "-2.5",  "0x1p-2", "inf",   "nan",
      "1e400", "_",    "|",      "|c",       "|g",  "|ms", "|h",    "|s",     "|@0.5", "|@0",
      "|#t,u", "|#",   ",",      "@",        "#",   "_e{", "1,1}:", "}",      "{",     "a|b",
      "|d:1",  "|h:x", "|p:low", "|t:error", "\\n", "\r",  "\xff"};
  Parser plain;
  Parser with_ns("ns");
  int metrics = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line;
    const size_t len = rng() % 12;
    const bool bytes = (i % 4) == 0;
    for (size_t j = 0; j < len; ++j) {
      if (bytes) {
        line.push_back(static_cast<char>(rng() & 0xff));
      } else {
        line += fragments[rng() % fragments.size()];
      }
    }
    const Got a = ParseWith(plain, line);
    CheckInvariants(a, false);
    const Got b = ParseWith(with_ns, line);
    CheckInvariants(b, true);
    EXPECT_EQ(a.kind, b.kind) << line;
    if (a.kind == LineKind::kMetric) {
      ++metrics;
      EXPECT_EQ("ns." + a.name, b.name);
    }
  }
  EXPECT_GT(metrics, 100);
}

TEST(ParserStressTest, AllShortLines) {
  // Every line of up to two bytes, and every byte in each position of a valid line.
  Parser parser;
  for (int a = 0; a < 256; ++a) {
    const char one[1] = {static_cast<char>(a)};
    CheckInvariants(ParseWith(parser, std::string_view(one, 1)), false);
    for (int b = 0; b < 256; ++b) {
      const char two[2] = {static_cast<char>(a), static_cast<char>(b)};
      CheckInvariants(ParseWith(parser, std::string_view(two, 2)), false);
    }
  }
  const std::string base = "ab:1:2|ms|@0.5|#t,u|_e{1,1}:a|b";
  for (size_t pos = 0; pos < base.size(); ++pos) {
    for (int c = 0; c < 256; ++c) {
      std::string line = base;
      line[pos] = static_cast<char>(c);
      CheckInvariants(ParseWith(parser, line), false);
    }
  }
}

}  // namespace
}  // namespace cstatsd::protocol
