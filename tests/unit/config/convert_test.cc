// Go's strconv rules for booleans, integers and floats, and the file-value conversions.

#include "config/convert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "config/file_loader.h"

namespace cstatsd::config::internal {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseGoBool, AcceptsStrconvSpellings) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_TRUE(*ParseGoBool(t)) << t;
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_FALSE(*ParseGoBool(f)) << f;
  }
  for (const char* bad : {"", "yes", "on", "tRUE", " true", "2"}) {
    EXPECT_FALSE(ParseGoBool(bad).ok()) << bad;
  }
}

TEST(ParseGoInt, BaseZeroLikeStrconv) {
  EXPECT_EQ(*ParseGoInt("42"), 42);
  EXPECT_EQ(*ParseGoInt("-42"), -42);
  EXPECT_EQ(*ParseGoInt("+7"), 7);
  EXPECT_EQ(*ParseGoInt("0"), 0);
  EXPECT_EQ(*ParseGoInt("0x1F"), 31);
  EXPECT_EQ(*ParseGoInt("0o17"), 15);
  EXPECT_EQ(*ParseGoInt("017"), 15);  // Go: a leading zero means octal
  EXPECT_EQ(*ParseGoInt("0b101"), 5);
  EXPECT_EQ(*ParseGoInt("1_000"), 1000);
  EXPECT_EQ(*ParseGoInt("5.0"), 5);  // cast trims a zero decimal part
  EXPECT_EQ(*ParseGoInt("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(*ParseGoInt("-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", "-", "abc", "1.5", "08", "0x", "1_", "_1", "1__0", "12a", " 1"}) {
    EXPECT_FALSE(ParseGoInt(bad).ok()) << bad;
  }
  auto big = ParseGoInt("9223372036854775808");
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.error(), HasSubstr("out of range"));
}

TEST(ParseGoFloat, Forms) {
  EXPECT_DOUBLE_EQ(*ParseGoFloat("99.9"), 99.9);
  EXPECT_DOUBLE_EQ(*ParseGoFloat("-10"), -10);
  EXPECT_DOUBLE_EQ(*ParseGoFloat("+5"), 5);
  EXPECT_DOUBLE_EQ(*ParseGoFloat("1e2"), 100);
  EXPECT_TRUE(std::isinf(*ParseGoFloat("inf")));
  EXPECT_TRUE(std::isinf(*ParseGoFloat("+Inf")));
  EXPECT_TRUE(std::isnan(*ParseGoFloat("NaN")));
  for (const char* bad : {"", "x", "1.2.3", "1e", "+-1", "90 99"}) {
    EXPECT_FALSE(ParseGoFloat(bad).ok()) << bad;
  }
}

TEST(FormatGoFloat, ShortestWithoutExponent) {
  EXPECT_EQ(FormatGoFloat(90), "90");
  EXPECT_EQ(FormatGoFloat(99.9), "99.9");
  EXPECT_EQ(FormatGoFloat(-10), "-10");
  EXPECT_EQ(FormatGoFloat(1e6), "1000000");
  EXPECT_EQ(FormatGoFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatGoFloat(std::nan("")), "NaN");
  EXPECT_EQ(FormatGoFloat(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(SplitFields, Whitespace) {
  EXPECT_THAT(SplitFields("  a b\tc\n d  "), ElementsAre("a", "b", "c", "d"));
  EXPECT_TRUE(SplitFields("   ").empty());
}

TEST(EnvVarName, UpperCaseAndUnderscores) {
  EXPECT_EQ(EnvVarName("metrics-addr"), "GSD_METRICS_ADDR");
  EXPECT_EQ(EnvVarName("http.main.enable-ingestion"), "GSD_HTTP_MAIN_ENABLE_INGESTION");
}

TEST(Convert, ListsFromArraysAndStrings) {
  json arr = json::array({"a", 1, true, 2.5});
  EXPECT_THAT(*ToStringList({&arr, "", false, "f"}), ElementsAre("a", "1", "true", "2.5"));
  json str = "x  y";
  EXPECT_THAT(*ToStringList({&str, "", false, "f"}), ElementsAre("x", "y"));
  json nested = json::array({json::array({"a"})});
  EXPECT_FALSE(ToStringList({&nested, "", false, "f"}).ok());
  json nums = json::array({90, "99.5", -1});
  EXPECT_THAT(*ToDoubleList({&nums, "", false, "f"}), ElementsAre(90, 99.5, -1));
  json one = 99;
  EXPECT_THAT(*ToDoubleList({&one, "", false, "f"}), ElementsAre(99));
  EXPECT_THAT(*ToDoubleList({nullptr, "90 99", true, "--x"}), ElementsAre(90, 99));
  json bad = json::array({true});
  EXPECT_FALSE(ToDoubleList({&bad, "", false, "f"}).ok());
}

TEST(Convert, Durations) {
  json n = 5000;
  EXPECT_EQ(ToDuration({&n, "", false, "f"})->count(), 5000);
  json f = 2.9;
  EXPECT_EQ(ToDuration({&f, "", false, "f"})->count(), 2);
  json s = "1m";
  EXPECT_EQ(ToDuration({&s, "", false, "f"})->count(), 60'000'000'000);
  EXPECT_EQ(ToDuration({nullptr, "7", false, "GSD_X"})->count(), 7);
  EXPECT_FALSE(ToDuration({nullptr, "7", true, "--x"}).ok());
  json b = true;
  EXPECT_FALSE(ToDuration({&b, "", false, "f"}).ok());
}

TEST(FileLoader, YamlScalarsAreTypedLikeGoYaml) {
  auto r = ParseConfigText(
      "a: 1\nb: true\nc: 1.5\nd: \"1\"\ne: ~\nf: hello\ng: 010\nh: 0x10\ni: 'true'\nj: -3\n"
      "k: 1e3\nl: .inf\nm:\n",
      FileFormat::kYaml, "x.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  const json& j = *r;
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"], true);
  EXPECT_EQ(j["c"], 1.5);
  EXPECT_EQ(j["d"], "1");
  EXPECT_TRUE(j["e"].is_null());
  EXPECT_EQ(j["f"], "hello");
  EXPECT_EQ(j["g"], 8);  // go-yaml v3 keeps YAML 1.1 octal
  EXPECT_EQ(j["h"], 16);
  EXPECT_EQ(j["i"], "true");
  EXPECT_EQ(j["j"], -3);
  EXPECT_EQ(j["k"], 1000.0);
  EXPECT_TRUE(std::isinf(j["l"].get<double>()));
  EXPECT_TRUE(j["m"].is_null());
}

TEST(FileLoader, TomlTypesAndLowerCaseKeys) {
  auto r =
      ParseConfigText("Top = 1\nf = 1.5\nd = 1979-05-27\narr = [1, \"a\"]\n[Sec.Sub]\nKey = true\n",
                      FileFormat::kToml, "x.toml");
  ASSERT_TRUE(r.ok()) << r.error();
  const json& j = *r;
  EXPECT_EQ(j["top"], 1);
  EXPECT_EQ(j["f"], 1.5);
  EXPECT_EQ(j["d"], "1979-05-27");
  EXPECT_EQ(j["arr"], json::array({1, "a"}));
  EXPECT_EQ(j["sec"]["sub"]["key"], true);
}

TEST(FileLoader, EmptyFilesAreEmptyTables) {
  for (auto [format, name] :
       {std::pair{FileFormat::kToml, "e.toml"}, std::pair{FileFormat::kYaml, "e.yaml"}}) {
    auto r = ParseConfigText("", format, name);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_TRUE(r->is_object());
    EXPECT_TRUE(r->empty());
  }
  auto j = ParseConfigText("{}", FileFormat::kJson, "e.json");
  ASSERT_TRUE(j.ok());
  EXPECT_TRUE(j->empty());
}

TEST(FileLoader, FormatByExtension) {
  EXPECT_EQ(*FormatForPath("/etc/a.TOML"), FileFormat::kToml);
  EXPECT_EQ(*FormatForPath("a.yml"), FileFormat::kYaml);
  EXPECT_EQ(*FormatForPath("a.yaml"), FileFormat::kYaml);
  EXPECT_EQ(*FormatForPath("a.json"), FileFormat::kJson);
  EXPECT_FALSE(FormatForPath("a.ini").ok());
  EXPECT_FALSE(FormatForPath("/etc.d/config").ok());
}

}  // namespace
}  // namespace cstatsd::config::internal
