// Section getters: file values, GSD_<SECTION>_<KEY> overrides, defaults and type errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "config/config.h"
#include "config_test_util.h"

namespace cstatsd::config {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

Config MakeConfig(json file, Environment env = {}) {
  Config c;
  c.file = std::move(file);
  c.env = std::move(env);
  return c;
}

const json kFile = json::parse(R"({
  "graphite": {"address": "carbon:2003", "dial_timeout": "2s", "write_timeout": 1000,
               "mode": 7, "enabled": true, "ratio": 0.25, "tags": ["a", "b"],
               "words": "x y  z", "count": "12", "flag": "0", "float_int": 3.0},
  "http": {"main": {"address": "127.0.0.1:8080", "enable-ingestion": true,
                    "custom-headers": {"x-team": "metrics", "x-n": 1}}},
  "scalar": 5
})");

TEST(Section, GettersReadTheFile) {
  Config c = MakeConfig(kFile);
  Section g = c.GetSection("graphite");
  EXPECT_TRUE(g.exists());
  EXPECT_EQ(g.path(), "graphite");
  EXPECT_EQ(*g.GetString("address", "localhost:2003"), "carbon:2003");
  EXPECT_EQ(*g.GetString("mode", "tags"), "7");  // numbers read as strings, as cast does
  EXPECT_EQ(*g.GetString("enabled", ""), "true");
  EXPECT_EQ(*g.GetDuration("dial_timeout", 5s), 2s);
  EXPECT_EQ(*g.GetDuration("write_timeout", 30s), 1us);  // a bare number is nanoseconds
  EXPECT_TRUE(*g.GetBool("enabled", false));
  EXPECT_FALSE(*g.GetBool("flag", true));
  EXPECT_EQ(*g.GetInt("count", 0), 12);
  EXPECT_EQ(*g.GetInt("float_int", 0), 3);
  EXPECT_DOUBLE_EQ(*g.GetDouble("ratio", 1), 0.25);
  EXPECT_DOUBLE_EQ(*g.GetDouble("count", 1), 12);
  EXPECT_THAT(*g.GetStringList("tags", {}), ElementsAre("a", "b"));
  EXPECT_THAT(*g.GetStringList("words", {}), ElementsAre("x", "y", "z"));
}

TEST(Section, DefaultsWhenAbsent) {
  Config c = MakeConfig(kFile);
  Section g = c.GetSection("graphite");
  EXPECT_EQ(*g.GetString("global_prefix", "stats"), "stats");
  EXPECT_EQ(*g.GetDuration("nothing", 30s), 30s);
  EXPECT_TRUE(*g.GetBool("nothing", true));
  EXPECT_EQ(*g.GetInt("nothing", 9), 9);
  EXPECT_THAT(*g.GetStringList("nothing", {"d"}), ElementsAre("d"));
  EXPECT_THAT(*g.GetStringMap("nothing"), IsEmpty());

  Section missing = c.GetSection("datadog");
  EXPECT_FALSE(missing.exists());
  EXPECT_EQ(*missing.GetString("api_key", "none"), "none");
  EXPECT_THAT(missing.Keys(), IsEmpty());
  EXPECT_FALSE(missing.Has("api_key"));

  Section not_a_table = c.GetSection("scalar");
  EXPECT_FALSE(not_a_table.exists());
}

TEST(Section, EnvironmentOverridesTheFile) {
  Config c = MakeConfig(kFile, {{"GSD_GRAPHITE_ADDRESS", "env:1"},
                                {"GSD_GRAPHITE_DIAL_TIMEOUT", "7s"},
                                {"GSD_GRAPHITE_ENABLED", "false"},
                                {"GSD_GRAPHITE_TAGS", "p q"},
                                {"GSD_GRAPHITE_COUNT", ""},  // empty: ignored
                                {"GSD_HTTP_MAIN_ADDRESS", "0.0.0.0:1"},
                                {"GSD_HTTP_MAIN_CUSTOM_HEADERS", R"({"X-A":"b"})"},
                                {"GSD_DATADOG_API_KEY", "secret"}});
  Section g = c.GetSection("graphite");
  EXPECT_EQ(*g.GetString("address", ""), "env:1");
  EXPECT_EQ(*g.GetDuration("dial_timeout", 0s), 7s);
  EXPECT_FALSE(*g.GetBool("enabled", true));
  EXPECT_THAT(*g.GetStringList("tags", {}), ElementsAre("p", "q"));
  EXPECT_EQ(*g.GetInt("count", 0), 12);

  Section main = c.GetSection("http").Sub("main");
  EXPECT_EQ(main.path(), "http.main");
  EXPECT_EQ(*main.GetString("address", ""), "0.0.0.0:1");
  EXPECT_THAT(*main.GetStringMap("custom-headers"),
              ElementsAre(std::pair<const std::string, std::string>("X-A", "b")));
  EXPECT_EQ(*c.GetSection("http.main").GetString("address", ""), "0.0.0.0:1");

  // cstatsd keeps the section path even when the section is absent from the file.
  Section dd = c.GetSection("datadog");
  EXPECT_FALSE(dd.exists());
  EXPECT_TRUE(dd.Has("api_key"));
  EXPECT_EQ(*dd.GetString("api_key", ""), "secret");
}

TEST(Section, EnvironmentNamesReplaceDashesAndDots) {
  Config c = MakeConfig(json::object(), {{"GSD_HTTP_TRANSPORT_MAX_REQUESTS", "5"},
                                         {"GSD_TRANSPORT_DEFAULT_CLIENT_TIMEOUT", "3s"}});
  EXPECT_EQ(*c.GetSection("http-transport").GetInt("max-requests", 1000), 5);
  EXPECT_EQ(*c.GetSection("transport").Sub("default").GetDuration("client-timeout", 10s), 3s);
}

TEST(Section, StringMapFromTheFile) {
  Config c = MakeConfig(kFile);
  auto headers = c.GetSection("http.main").GetStringMap("custom-headers");
  ASSERT_TRUE(headers.ok()) << headers.error();
  EXPECT_EQ(headers->size(), 2u);
  EXPECT_EQ(headers->at("x-team"), "metrics");
  EXPECT_EQ(headers->at("x-n"), "1");
}

TEST(Section, KeysAndHas) {
  Config c = MakeConfig(kFile);
  Section main = c.GetSection("http").Sub("main");
  EXPECT_TRUE(main.exists());
  EXPECT_THAT(main.Keys(), UnorderedElementsAre("address", "enable-ingestion", "custom-headers"));
  EXPECT_TRUE(main.Has("address"));
  EXPECT_TRUE(main.Has("ADDRESS"));  // keys are case-insensitive, as in viper
  EXPECT_FALSE(main.Has("enable-prof"));
  EXPECT_THAT(c.GetSection("http").Keys(), ElementsAre("main"));
}

TEST(Section, TypeErrorsNameSectionAndKey) {
  Config c = MakeConfig(kFile, {{"GSD_HTTP_MAIN_ENABLE_PROF", "sure"}});
  Section g = c.GetSection("graphite");
  auto b = g.GetBool("address", false);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.error(), HasSubstr("graphite.address: invalid boolean \"carbon:2003\""));
  auto d = g.GetDuration("address", 1s);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.error(), HasSubstr("graphite.address: invalid duration"));
  auto i = g.GetInt("ratio", 0);
  ASSERT_FALSE(i.ok());
  EXPECT_THAT(i.error(), HasSubstr("graphite.ratio: invalid integer 0.25"));
  auto s = g.GetString("tags", "");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error(), HasSubstr("graphite.tags: expected a string, got an array"));
  auto m = g.GetStringMap("address");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error(), HasSubstr("graphite.address:"));
  auto l = c.GetSection("http").GetStringList("main", {});
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.error(), HasSubstr("http.main: expected a list"));
  auto e = c.GetSection("http.main").GetBool("enable-prof", false);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.error(), HasSubstr("http.main.enable-prof: invalid boolean \"sure\""));
  EXPECT_THAT(e.error(), HasSubstr("GSD_HTTP_MAIN_ENABLE_PROF"));
}

TEST(Section, FromALoadedConfig) {
  testing::TempDir dir;
  std::string path = dir.Write("c.toml", R"(
[k8s]
watch-cluster = false
[filter.drop-host]
drop-host = true
match-metrics = "a. b."
)");
  auto r = testing::LoadWith({"--config-path", path}, {{"GSD_K8S_NODE_NAME", "node-1"}});
  ASSERT_TRUE(r.ok()) << r.error();
  const Config& c = r->config;
  EXPECT_EQ(*c.GetSection("k8s").GetString("node-name", ""), "node-1");
  EXPECT_FALSE(*c.GetSection("k8s").GetBool("watch-cluster", true));
  Section f = c.GetSection("filter").Sub("drop-host");
  EXPECT_TRUE(*f.GetBool("drop-host", false));
  EXPECT_THAT(*f.GetStringList("match-metrics", {}), ElementsAre("a.", "b."));
}

}  // namespace
}  // namespace cstatsd::config
