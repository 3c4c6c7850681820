#include "core/go_format.h"

#include <gtest/gtest.h>

#include <limits>

namespace cstatsd {
namespace {

std::string F(double v) {
  std::string s;
  AppendGoF(s, v);
  return s;
}
std::string G(double v) {
  std::string s;
  AppendGoG(s, v);
  return s;
}
std::string Short(double v) {
  std::string s;
  AppendGoShortestFixed(s, v);
  return s;
}

TEST(GoFormatTest, PercentF) {
  EXPECT_EQ(F(1.1), "1.100000");
  EXPECT_EQ(F(0), "0.000000");
  EXPECT_EQ(F(-2.5), "-2.500000");
  EXPECT_EQ(F(4.320493798938574), "4.320494");
  EXPECT_EQ(F(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(F(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(F(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(GoFormatTest, PercentG) {
  EXPECT_EQ(G(1.1), "1.1");
  EXPECT_EQ(G(0.5), "0.5");
  EXPECT_EQ(G(5), "5");
  EXPECT_EQ(G(999999), "999999");
  EXPECT_EQ(G(1e6), "1e+06");
  EXPECT_EQ(G(1234567), "1.234567e+06");
  EXPECT_EQ(G(0.0001), "0.0001");
  EXPECT_EQ(G(0.00001), "1e-05");
  EXPECT_EQ(G(-3), "-3");
  EXPECT_EQ(G(1e21), "1e+21");
  EXPECT_EQ(G(1.5e-300), "1.5e-300");
  EXPECT_EQ(G(0), "0");
}

TEST(GoFormatTest, ShortestFixed) {
  EXPECT_EQ(Short(2.5), "2.5");
  EXPECT_EQ(Short(5000), "5000");
  EXPECT_EQ(Short(-10), "-10");
  EXPECT_EQ(Short(1e21), "1000000000000000000000");
  EXPECT_EQ(Short(std::numeric_limits<double>::infinity()), "+Inf");
}

}  // namespace
}  // namespace cstatsd
