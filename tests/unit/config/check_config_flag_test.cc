// --check-config (docs/prometheus.md#mapping): a flag that steers Load like --version does, but
// still loads and checks everything; main then builds the server without starting it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace cstatsd::config {
namespace {

using ::testing::HasSubstr;
using testing::LoadWith;

TEST(CheckConfigFlag, SetsCheckOnlyAndStillLoads) {
  auto r = LoadWith({"--check-config", "--flush-interval", "5s"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->check_only);
  EXPECT_FALSE(r->exit_now);
  EXPECT_EQ(r->config.options.flush_interval, std::chrono::seconds(5));

  r = LoadWith({"--check-config=false"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(r->check_only);
  r = LoadWith({});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(r->check_only);
}

TEST(CheckConfigFlag, ErrorsAreStillErrors) {
  auto r = LoadWith({"--check-config", "--flush-interval", "soon"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("flush-interval"));
}

TEST(CheckConfigFlag, InHelp) {
  auto r = LoadWith({"--help"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_THAT(r->message, HasSubstr("--check-config"));
}

}  // namespace
}  // namespace cstatsd::config
