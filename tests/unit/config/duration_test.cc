// Go duration syntax: the cases of Go's time package tests that matter for config values.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/config.h"

namespace cstatsd::config {
namespace {

using namespace std::chrono_literals;

struct ParseCase {
  std::string text;
  Duration want;
};

TEST(ParseGoDuration, ValidTable) {
  const ParseCase cases[] = {
      {"0", 0ns},
      {"-0", 0ns},
      {"+0", 0ns},
      {"5s", 5s},
      {"30s", 30s},
      {"1478s", 1478s},
      {"-5s", -5s},
      {"+5s", 5s},
      {"-0s", 0ns},
      {"+0s", 0ns},
      {"5.0s", 5s},
      {"5.6s", 5600ms},
      {"5.s", 5s},
      {".5s", 500ms},
      {"1.0s", 1s},
      {"1.00s", 1s},
      {"1.004s", 1004ms},
      {"1.0040s", 1004ms},
      {"100.00100s", 100001ms},
      {"1.5s", 1500ms},
      {"300ms", 300ms},
      {"10ns", 10ns},
      {"11us", 11us},
      {"12\xC2\xB5s", 12us},  // U+00B5
      {"12\xCE\xBCs", 12us},  // U+03BC
      {"13ms", 13ms},
      {"14s", 14s},
      {"15m", 15min},
      {"16h", 16h},
      {"3h30m", 3h + 30min},
      {"1h30m", 90min},
      {"10.5s4m", 4min + 10500ms},
      {"-2m3.4s", -(2min + 3400ms)},
      {"1h2m3s4ms5us6ns", 1h + 2min + 3s + 4ms + 5us + 6ns},
      {"39h9m14.425s", 39h + 9min + 14425ms},
      {"52763797000ns", 52763797000ns},
      {"0.3333333333333333333h", 20min},
      {"9007199254740993ns", Duration{9007199254740993}},
      {"9223372036854775807ns", Duration{INT64_MAX}},
      {"9223372036854775.807us", Duration{INT64_MAX}},
      {"-9223372036854775808ns", Duration{INT64_MIN}},
      {"0.100000000000000000000h", 6min},
      {"0.830103483285477580700h", Duration{2988372539827}},
  };
  for (const auto& c : cases) {
    auto got = ParseGoDuration(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.error();
    EXPECT_EQ(got->count(), c.want.count()) << c.text;
  }
}

TEST(ParseGoDuration, InvalidTable) {
  const std::string cases[] = {"",
                               "3",
                               "-",
                               "s",
                               ".",
                               "-.",
                               ".s",
                               "+.s",
                               "1d",
                               "5x",
                               "1.2.3s",
                               "x5s",
                               "1s ",
                               " 1s",
                               "9223372036854775808ns",
                               "3000000h",
                               "-9223372036854775809ns",
                               "1s5"};
  for (const auto& text : cases) {
    auto got = ParseGoDuration(text, /*allow_bare_number=*/false);
    EXPECT_FALSE(got.ok()) << "\"" << text << "\" parsed as " << got->count();
  }
}

TEST(ParseGoDuration, ErrorsQuoteTheText) {
  auto got = ParseGoDuration("5x");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().find("invalid duration \"5x\""), std::string::npos) << got.error();
  EXPECT_NE(got.error().find("unknown unit \"x\""), std::string::npos) << got.error();
}

TEST(ParseGoDuration, BareNumberIsNanosecondsOnlyWhenAllowed) {
  EXPECT_EQ(ParseGoDuration("1000000000")->count(), 1'000'000'000);
  EXPECT_EQ(ParseGoDuration("-1")->count(), -1);
  EXPECT_EQ(ParseGoDuration("1.5")->count(), 1);       // cast appends "ns": 1.5ns truncates to 1ns
  EXPECT_EQ(ParseGoDuration("0", false)->count(), 0);  // Go accepts a bare 0 everywhere
  auto cli = ParseGoDuration("5", false);
  ASSERT_FALSE(cli.ok());
  EXPECT_NE(cli.error().find("missing unit"), std::string::npos) << cli.error();
  EXPECT_NE(cli.error().find("bare number"), std::string::npos) << cli.error();
}

struct FormatCase {
  Duration d;
  std::string want;
};

TEST(FormatGoDuration, Table) {
  const FormatCase cases[] = {
      {0ns, "0s"},
      {1ns, "1ns"},
      {1100ns, "1.1\xC2\xB5s"},
      {2200us, "2.2ms"},
      {3300ms, "3.3s"},
      {4min + 5s, "4m5s"},
      {4min + 5001ms, "4m5.001s"},
      {5h + 6min + 7001ms, "5h6m7.001s"},
      {8min + 1ns, "8m0.000000001s"},
      {Duration{INT64_MAX}, "2562047h47m16.854775807s"},
      {Duration{INT64_MIN}, "-2562047h47m16.854775808s"},
      {1s, "1s"},
      {5min, "5m0s"},
      {300ms, "300ms"},
      {90min, "1h30m0s"},
      {-1ns, "-1ns"},
      {-5s, "-5s"},
      {10min, "10m0s"},
      {30min, "30m0s"},
  };
  for (const auto& c : cases) EXPECT_EQ(FormatGoDuration(c.d), c.want) << c.d.count();
}

TEST(FormatGoDuration, RoundTrips) {
  for (const char* text : {"1h2m3.5s", "250ms", "-1ns", "12\xC2\xB5s", "0s", "72h0m0s"}) {
    auto parsed = ParseGoDuration(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(FormatGoDuration(*parsed), text);
  }
}

}  // namespace
}  // namespace cstatsd::config
