// The example config files in examples/configs/ load without errors or warnings, and all three
// formats say the same thing.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "config/config.h"
#include "config_test_util.h"

namespace cstatsd::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::filesystem::path ExamplesDir() {
  if (const char* root = std::getenv("CSTATSD_SOURCE_DIR")) {
    return std::filesystem::path(root) / "examples" / "configs";
  }
  // tests/unit/config/examples_test.cc -> <root>/examples/configs
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
         "examples" / "configs";
}

class ExampleConfig : public ::testing::TestWithParam<const char*> {};

TEST_P(ExampleConfig, Loads) {
  std::filesystem::path path = ExamplesDir() / GetParam();
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  auto r = testing::LoadWith({"--config-path", path.string()});
  ASSERT_TRUE(r.ok()) << r.error();
  const Config& c = r->config;
  EXPECT_THAT(c.warnings, IsEmpty());
  const Options& o = c.options;
  EXPECT_EQ(o.server_mode, "standalone");
  EXPECT_THAT(o.backends, ElementsAre("stdout"));
  EXPECT_EQ(o.metrics_addr, ":8125");
  EXPECT_EQ(o.flush_interval, 10s);
  EXPECT_EQ(o.expiry_interval, 5min);
  EXPECT_THAT(o.percent_threshold, ElementsAre(90, 99));
  EXPECT_THAT(o.default_tags, ElementsAre("env:example"));
  EXPECT_TRUE(o.heartbeat_enabled);
  EXPECT_TRUE(o.disabled_sub_metrics.sum_squares);
  EXPECT_TRUE(o.disabled_sub_metrics.sum_squares_pct);
  EXPECT_FALSE(o.disabled_sub_metrics.mean);
  EXPECT_EQ(*c.GetSection("graphite").GetString("address", ""), "localhost:2003");
  EXPECT_EQ(*c.GetSection("graphite").GetString("mode", ""), "tags");
}

INSTANTIATE_TEST_SUITE_P(AllFormats, ExampleConfig,
                         ::testing::Values("cstatsd.toml", "cstatsd.yaml", "cstatsd.json"));

}  // namespace
}  // namespace cstatsd::config
