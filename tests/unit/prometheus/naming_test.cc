// Names as statsd_exporter makes them (docs/prometheus.md#names): EscapeMetricName's vectors
// (statsd_exporter's own cases and the edge cases of its rules), the append form, and the
// validity checks.
#include "prometheus/naming.h"

#include <gtest/gtest.h>

namespace cstatsd::prometheus {
namespace {

TEST(EscapeMetricNameTest, Vectors) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", ""},
      {"foo", "foo"},
      {"FOO_bar_9", "FOO_bar_9"},
      {"foo.bar", "foo_bar"},
      {"test.web-server.foo.bar", "test_web_server_foo_bar"},
      {"0foo", "_0foo"},  // a leading digit gets '_' in front, and stays
      {"9", "_9"},
      {"_0foo", "_0foo"},
      {"foo:bar", "foo_bar"},  // ':' is valid in Prometheus but not kept
      {"foo bar", "foo_bar"},
      {"a--b", "a_b"},  // a run of '-' is one '_'
      {"a---b", "a_b"},
      {"a-.b", "a__b"},
      {"a.-b", "a__b"},
      {"a.--b", "a__b"},
      {"--", "_"},
      {"a..b", "a__b"},
      {"é", "_"},  // one character, two bytes: one '_'
      {"aé.b", "a__b"},
      {"\xE2\x82\xAC"
       "x",
       "_x"},                     // € (3 bytes)
      {"\xF0\x9F\x98\x80", "_"},  // 😀 (4 bytes)
      {"a\xFF"
       "b",
       "a_b"},          // an invalid byte: one '_'
      {"a\xC3", "a_"},  // a truncated character: one '_' per byte
      {"\xE2\x82", "__"},
      {"1.2", "_1_2"},
  };
  for (const auto& [in, want] : cases) {
    EXPECT_EQ(EscapeMetricName(in), want) << "input: " << in;
  }
}

TEST(EscapeMetricNameTest, AppendDoesNotAllocateWithCapacity) {
  std::string out;
  out.reserve(64);
  const char* data = out.data();
  out = "prefix_";
  AppendEscapedMetricName("a.b-c", out);
  EXPECT_EQ(out, "prefix_a_b_c");
  EXPECT_EQ(out.data(), data);
  AppendEscapedMetricName("", out);
  EXPECT_EQ(out, "prefix_a_b_c");
}

TEST(EscapeMetricNameTest, ResultIsValidUnlessEmpty) {
  for (std::string_view in : {"a", "0", "a.b", "-", ".", "é", "9lives", "x:y"}) {
    EXPECT_TRUE(IsValidMetricName(EscapeMetricName(in))) << in;
    EXPECT_TRUE(IsValidLabelName(EscapeMetricName(in)) || EscapeMetricName(in).starts_with("__"))
        << in;
  }
}

TEST(ValidityTest, MetricNames) {
  EXPECT_TRUE(IsValidMetricName("a"));
  EXPECT_TRUE(IsValidMetricName("_a:b_9"));
  EXPECT_TRUE(IsValidMetricName(":a"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9a"));
  EXPECT_FALSE(IsValidMetricName("a.b"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
}

TEST(ValidityTest, LabelNames) {
  EXPECT_TRUE(IsValidLabelName("a"));
  EXPECT_TRUE(IsValidLabelName("_a9"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("9a"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

}  // namespace
}  // namespace cstatsd::prometheus
