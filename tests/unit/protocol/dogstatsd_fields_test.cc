// The DogStatsD v1.0-v1.6 additions of the metric grammar (docs/protocol.md#dogstatsd-fields):
// the `d` type, `|T`, `|c:`, `|e:`, `|card:` on metric lines and events, and gauge signs
// (docs/protocol.md#gauge-signs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/parser.h"

namespace cstatsd::protocol {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Parses `line` with a fresh parser; the views stay valid as long as the parser does.
struct Parsed {
  Parser parser;
  ParsedMetric metric;
  Event event;
  ParseError error = ParseError::kNone;
  LineKind kind = LineKind::kBad;

  explicit Parsed(std::string_view line) { kind = parser.Parse(line, metric, event, error); }
};

// ---------------------------------------------------------------------------------------------
// `d`: a distribution is a timer.

TEST(DistributionTest, IsATimerOfKindDistribution) {
  Parsed p("dist.x:1.5:2:3|d|@0.5|#a:b");
  ASSERT_EQ(p.kind, LineKind::kMetric);
  EXPECT_EQ(p.metric.type, MetricType::kTimer);
  EXPECT_EQ(p.metric.timer_kind, TimerKind::kDistribution);
  EXPECT_EQ(p.metric.name, "dist.x");
  EXPECT_THAT(p.metric.values, ElementsAre(1.5, 2, 3));
  EXPECT_EQ(p.metric.rate, 0.5);
  EXPECT_THAT(p.metric.tags, ElementsAre("a:b"));
}

TEST(DistributionTest, EmptyValuesAndErrorsAsForOtherTimers) {
  Parsed empty("d:|d");
  ASSERT_EQ(empty.kind, LineKind::kMetric);
  EXPECT_THAT(empty.metric.values, IsEmpty());
  EXPECT_EQ(Parsed("d:1|dist").error, ParseError::kInvalidType);
  EXPECT_EQ(Parsed("d:1|d@1").error, ParseError::kInvalidType);
  EXPECT_EQ(Parsed("d:x|d").error, ParseError::kInvalidValue);
  EXPECT_EQ(Parsed("d:nan|d").error, ParseError::kInvalidValueNaN);
  EXPECT_EQ(Parsed("d:1|d|@0").error, ParseError::kInvalidSampleRate);
  EXPECT_EQ(Parsed("d:1|d|#gsd_histogram:1_2_3").kind, LineKind::kMetric);
}

TEST(DistributionTest, HistogramBoundsLimitApplies) {
  Parser parser("", 2);
  ParsedMetric m;
  Event e;
  ParseError error = ParseError::kNone;
  EXPECT_EQ(parser.Parse("d:1|d|#gsd_histogram:1_2_3", m, e, error), LineKind::kBad);
  EXPECT_EQ(error, ParseError::kHistogramBounds);
}

// ---------------------------------------------------------------------------------------------
// |T<unix seconds>.

TEST(TimestampTest, CountersAndGaugesKeepIt) {
  Parsed c("c:1|c|T1656581400");
  ASSERT_EQ(c.kind, LineKind::kMetric);
  EXPECT_EQ(c.metric.timestamp, 1656581400);
  Parsed g("g:1|g|#t|T1656581400|@0.5");
  ASSERT_EQ(g.kind, LineKind::kMetric);
  EXPECT_EQ(g.metric.timestamp, 1656581400);
  EXPECT_THAT(g.metric.tags, ElementsAre("t"));
  Parsed last("g:1|g|T5|T7");  // the last one wins, as for `@`
  EXPECT_EQ(last.metric.timestamp, 7);
  Parsed none("c:1|c");
  EXPECT_EQ(none.metric.timestamp, 0);
}

TEST(TimestampTest, TimersAndSetsCheckItButDoNotKeepIt) {
  for (const char* line :
       {"t:1|ms|T1656581400", "t:1|h|T1656581400", "t:1|d|T1656581400", "s:a|s|T1656581400"}) {
    Parsed p(line);
    ASSERT_EQ(p.kind, LineKind::kMetric) << line;
    EXPECT_EQ(p.metric.timestamp, 0) << line;
  }
  EXPECT_EQ(Parsed("t:1|ms|Tx").error, ParseError::kInvalidTimestamp);
  EXPECT_EQ(Parsed("s:a|s|T0").error, ParseError::kInvalidTimestamp);
}

TEST(TimestampTest, InvalidOnesMakeTheLineBad) {
  for (const char* line :
       {"c:1|c|T", "c:1|c|T0", "c:1|c|T00", "c:1|c|T-5", "c:1|c|T+5", "c:1|c|T12x", "c:1|c|T1.5",
        "c:1|c|T 1", "c:1|c|Tab|#t", "c:1|c|T9223372037", "c:1|c|T99999999999999999999999"}) {
    Parsed p(line);
    EXPECT_EQ(p.kind, LineKind::kBad) << line;
    EXPECT_EQ(p.error, ParseError::kInvalidTimestamp) << line;
  }
  EXPECT_EQ(ParseErrorName(ParseError::kInvalidTimestamp), "invalid timestamp");
}

TEST(TimestampTest, Bounds) {
  EXPECT_EQ(Parsed("c:1|c|T1").metric.timestamp, 1);
  EXPECT_EQ(Parsed("c:1|c|T0001").metric.timestamp, 1);                 // leading zeros are digits
  EXPECT_EQ(Parsed("c:1|c|T9223372036").metric.timestamp, 9223372036);  // 2262-04-11
}

TEST(TimestampTest, DoesNotLeakIntoTheNextLine) {
  Parser parser;
  ParsedMetric m;
  Event e;
  ParseError error = ParseError::kNone;
  ASSERT_EQ(parser.Parse("c:1|c|T100|c:abc|e:it-false|card:low", m, e, error), LineKind::kMetric);
  EXPECT_EQ(m.timestamp, 100);
  ASSERT_EQ(parser.Parse("c:1|c", m, e, error), LineKind::kMetric);
  EXPECT_EQ(m.timestamp, 0);
  EXPECT_THAT(m.container_id, IsEmpty());
  EXPECT_THAT(m.external_data, IsEmpty());
  EXPECT_THAT(m.cardinality, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// |c:, |e:, |card: (origin detection fields), verbatim views.

TEST(OriginFieldsTest, KeptVerbatim) {
  const std::string line =
      "o:1|c|c:ci-0123456789abcdef,in-42|e:it-false,cn-app,pu-1234-5678|card:orchestrator|#t";
  Parsed p(line);
  ASSERT_EQ(p.kind, LineKind::kMetric);
  EXPECT_EQ(p.metric.container_id, "ci-0123456789abcdef,in-42");
  EXPECT_EQ(p.metric.external_data, "it-false,cn-app,pu-1234-5678");
  EXPECT_EQ(p.metric.cardinality, "orchestrator");
  EXPECT_THAT(p.metric.tags, ElementsAre("t"));  // a ',' in c: or e: is no tag separator
  EXPECT_GE(p.metric.container_id.data(), line.data());
  EXPECT_LE(p.metric.container_id.data() + p.metric.container_id.size(), line.data() + line.size());
}

TEST(OriginFieldsTest, EveryTypeAndAnyOrder) {
  for (const char* line : {"x:1|g|card:high|c:in-7", "x:1|ms|c:in-7|card:high",
                           "x:1|d|@0.5|card:high|c:in-7", "x:m|s|card:high|c:in-7"}) {
    Parsed p(line);
    ASSERT_EQ(p.kind, LineKind::kMetric) << line;
    EXPECT_EQ(p.metric.container_id, "in-7") << line;
    EXPECT_EQ(p.metric.cardinality, "high") << line;
  }
}

TEST(OriginFieldsTest, EmptyAndOddForms) {
  Parsed empty("x:1|c|c:|e:|card:");  // empty = not given
  ASSERT_EQ(empty.kind, LineKind::kMetric);
  EXPECT_THAT(empty.metric.container_id, IsEmpty());
  EXPECT_THAT(empty.metric.external_data, IsEmpty());
  EXPECT_THAT(empty.metric.cardinality, IsEmpty());
  // Not one of these fields: ignored as unknown attributes, as before.
  Parsed odd("x:1|c|cx|c|ca:low|cardinality:low|e|ex:1|#t");
  ASSERT_EQ(odd.kind, LineKind::kMetric);
  EXPECT_THAT(odd.metric.container_id, IsEmpty());
  EXPECT_THAT(odd.metric.external_data, IsEmpty());
  EXPECT_THAT(odd.metric.cardinality, IsEmpty());
  EXPECT_THAT(odd.metric.tags, ElementsAre("t"));
  // Any cardinality text is kept; what it means is decided where it is used.
  EXPECT_EQ(Parsed("x:1|c|card:bogus").metric.cardinality, "bogus");
  // The last of each wins; a value may hold ':'.
  Parsed last("x:1|c|c:a|c:b::c|e:1|e:2");
  EXPECT_EQ(last.metric.container_id, "b::c");
  EXPECT_EQ(last.metric.external_data, "2");
  // At the end of the line.
  EXPECT_EQ(Parsed("x:1|c|c:").metric.container_id, "");
  EXPECT_EQ(Parsed("x:1|c|c").kind, LineKind::kMetric);
  EXPECT_EQ(Parsed("x:1|c|e").kind, LineKind::kMetric);
}

TEST(OriginFieldsTest, EventsAcceptThem) {
  // Events skip these fields (as gostatsd skips every attribute that does not start with
  // d h k p s t): the event stays good and keeps its other attributes.
  Parsed p("_e{1,1}:a|b|c:ci-123|e:it-true|card:low|#t1|p:low");
  ASSERT_EQ(p.kind, LineKind::kEvent);
  EXPECT_EQ(p.event.title, "a");
  EXPECT_THAT(p.event.tags, ElementsAre("t1"));
  EXPECT_EQ(p.event.priority, EventPriority::kLow);
}

// ---------------------------------------------------------------------------------------------
// Gauge signs (docs/protocol.md#gauge-signs): the value stays what it reads.

TEST(GaugeSignTest, OneValue) {
  struct Case {
    const char* line;
    double value;
    bool delta;
  };
  const Case cases[] = {
      {"g:5|g", 5, false},
      {"g:+5|g", 5, true},
      {"g:-3|g", -3, true},
      {"g:0|g", 0, false},
      {"g:-0|g", -0.0, true},
      {"g:+0x1p2|g", 4, true},
      {"g:-Inf|g", -std::numeric_limits<double>::infinity(), true},
      {"g:1e3|g", 1000, false},
      {"g:.5|g", 0.5, false},
  };
  for (const Case& c : cases) {
    Parsed p(c.line);
    ASSERT_EQ(p.kind, LineKind::kMetric) << c.line;
    ASSERT_EQ(p.metric.values.size(), 1U) << c.line;
    EXPECT_EQ(p.metric.values[0], c.value) << c.line;
    EXPECT_EQ(p.metric.gauge_delta, c.delta) << c.line;
    EXPECT_EQ(p.metric.gauge_delta_from, c.delta ? 0U : 1U) << c.line;
  }
}

TEST(GaugeSignTest, PackedValues) {
  struct Case {
    const char* line;
    bool delta;
    uint32_t from;
  };
  const Case cases[] = {
      {"g:5:+1:-2|g", true, 1},  // set 5, add 1, add -2
      {"g:+1:5|g", false, 2},    // the last value is absolute: 5
      {"g:+1:-2|g", true, 0},    // only deltas
      {"g:1:2:3|g", false, 3},   // gostatsd's packing: the last value
      {"g:1::+2:|g", true, 1},   // empty items are skipped before counting
      {"g:-1:2:+3|g", true, 2},
  };
  for (const Case& c : cases) {
    Parsed p(c.line);
    ASSERT_EQ(p.kind, LineKind::kMetric) << c.line;
    EXPECT_EQ(p.metric.gauge_delta, c.delta) << c.line;
    EXPECT_EQ(p.metric.gauge_delta_from, c.from) << c.line;
  }
}

TEST(GaugeSignTest, OnlyGauges) {
  for (const char* line : {"c:-1|c", "t:-1|ms", "s:-1|s", "d:+1|d"}) {
    Parsed p(line);
    ASSERT_EQ(p.kind, LineKind::kMetric) << line;
    EXPECT_FALSE(p.metric.gauge_delta) << line;
    EXPECT_EQ(p.metric.gauge_delta_from, 0U) << line;
  }
  // One ParsedMetric: a sign does not leak into the next gauge.
  Parser parser;
  ParsedMetric m;
  Event e;
  ParseError error = ParseError::kNone;
  ASSERT_EQ(parser.Parse("g:-1|g", m, e, error), LineKind::kMetric);
  EXPECT_TRUE(m.gauge_delta);
  ASSERT_EQ(parser.Parse("g:1|g", m, e, error), LineKind::kMetric);
  EXPECT_FALSE(m.gauge_delta);
  EXPECT_EQ(m.gauge_delta_from, 1U);
}

}  // namespace
}  // namespace cstatsd::protocol
