// The exposition formats' building blocks (docs/prometheus.md#exposition): numbers as Go's client
// writes them, label and help escaping, OpenMetrics counter names.
#include "prometheus/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace cstatsd::prometheus {
namespace {

std::string Value(Format f, double v) {
  std::string out;
  AppendValue(f, v, out);
  return out;
}

std::string Count(Format f, double v) {
  std::string out;
  AppendCount(f, v, out);
  return out;
}

TEST(ExpositionTest, TextValuesAreGoShortestG) {
  const Format t = Format::kText;
  EXPECT_EQ(Value(t, 0), "0");
  EXPECT_EQ(Value(t, -0.0), "0");
  EXPECT_EQ(Value(t, 1), "1");
  EXPECT_EQ(Value(t, -1), "-1");
  EXPECT_EQ(Value(t, 0.25), "0.25");
  EXPECT_EQ(Value(t, 123456), "123456");
  EXPECT_EQ(Value(t, 1e6), "1e+06");
  EXPECT_EQ(Value(t, 1234567), "1.234567e+06");
  EXPECT_EQ(Value(t, 0.0001), "0.0001");
  EXPECT_EQ(Value(t, 0.00001), "1e-05");
  EXPECT_EQ(Value(t, 0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Value(t, -2.5), "-2.5");
  EXPECT_EQ(Value(t, 123456.5), "123456.5");
  EXPECT_EQ(Value(t, 0.00012), "0.00012");
  EXPECT_EQ(Value(t, -0.000012), "-1.2e-05");
  EXPECT_EQ(Value(t, 1.5e300), "1.5e+300");
  EXPECT_EQ(Value(t, 5e-324), "5e-324");
  EXPECT_EQ(Value(t, 9.007199254740993e15), "9.007199254740992e+15");
  EXPECT_EQ(Value(t, std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Value(t, -std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Value(t, std::nan("")), "NaN");
}

TEST(ExpositionTest, OpenMetricsValuesAlwaysLookLikeFloats) {
  const Format om = Format::kOpenMetrics;
  EXPECT_EQ(Value(om, 0), "0.0");
  EXPECT_EQ(Value(om, 1), "1.0");
  EXPECT_EQ(Value(om, -7), "-7.0");
  EXPECT_EQ(Value(om, 0.5), "0.5");
  EXPECT_EQ(Value(om, 1e6), "1e+06");
  EXPECT_EQ(Value(om, 1e21), "1e+21");
  EXPECT_EQ(Value(om, std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Value(om, std::nan("")), "NaN");
}

TEST(ExpositionTest, CountsAreIntegersWhenWhole) {
  EXPECT_EQ(Count(Format::kText, 0), "0");
  EXPECT_EQ(Count(Format::kOpenMetrics, 0), "0");
  EXPECT_EQ(Count(Format::kOpenMetrics, 12), "12");
  EXPECT_EQ(Count(Format::kText, 3000000), "3000000");
  EXPECT_EQ(Count(Format::kText, 2.5), "2.5");
}

TEST(ExpositionTest, LabelValuesAreEscaped) {
  std::string out;
  AppendLabelValue("a\\b\"c\nd", out);
  EXPECT_EQ(out, "a\\\\b\\\"c\\nd");
}

TEST(ExpositionTest, HeadersAndCounterNames) {
  std::string text, om;
  AppendHeader(Format::kText, FamilyType::kCounter, "req_total", "say \"hi\"\\\n", text);
  EXPECT_EQ(text, "# HELP req_total say \"hi\"\\\\\\n\n# TYPE req_total counter\n");
  AppendHeader(Format::kOpenMetrics, FamilyType::kCounter, "req_total", "say \"hi\"", om);
  EXPECT_EQ(om, "# HELP req say \\\"hi\\\"\n# TYPE req counter\n");

  std::string plain;
  AppendHeader(Format::kOpenMetrics, FamilyType::kCounter, "req", "h", plain);
  EXPECT_EQ(plain, "# HELP req h\n# TYPE req counter\n");

  std::string a, b, c;
  AppendCounterSampleName(Format::kText, "req", a);
  AppendCounterSampleName(Format::kOpenMetrics, "req", b);
  AppendCounterSampleName(Format::kOpenMetrics, "req_total", c);
  EXPECT_EQ(a, "req");
  EXPECT_EQ(b, "req_total");
  EXPECT_EQ(c, "req_total");
  EXPECT_EQ(FamilyName(Format::kOpenMetrics, FamilyType::kGauge, "x_total"), "x_total");
}

TEST(ExpositionTest, SampleLines) {
  std::string out;
  AppendSampleStart("m", "", "", "", "", out);
  AppendSampleStart("m", "_bucket", "", "le", "+Inf", out);
  AppendSampleStart("m", "_bucket", "a=\"b\"", "le", "0.5", out);
  AppendSampleStart("m", "_sum", "a=\"b\"", "", "", out);
  EXPECT_EQ(out, "m m_bucket{le=\"+Inf\"} m_bucket{a=\"b\",le=\"0.5\"} m_sum{a=\"b\"} ");
  std::string end;
  AppendEnd(Format::kText, end);
  EXPECT_EQ(end, "");
  AppendEnd(Format::kOpenMetrics, end);
  EXPECT_EQ(end, "# EOF\n");
}

}  // namespace
}  // namespace cstatsd::prometheus
