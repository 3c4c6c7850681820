// The aws cloud provider's options ([aws] and GSD_AWS_*): defaults, values, every bad key named.
// No network (the provider's requests are in aws_provider_loopback_test.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "cloud/aws/aws_provider.h"

namespace cstatsd::cloud::aws {
namespace {

using std::chrono::milliseconds;

config::Config WithFile(const char* json) {
  config::Config c;
  c.file = nlohmann::json::parse(json);
  return c;
}

TEST(AwsOptionsTest, Defaults) {
  auto o = AwsOptions::From(WithFile("{}"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->max_retries, 3);
  EXPECT_EQ(o->client_timeout, std::chrono::seconds(9));
  EXPECT_EQ(o->max_instances_batch, 32);
}

TEST(AwsOptionsTest, ReadsTheSection) {
  auto o = AwsOptions::From(WithFile(
      R"({"aws": {"max_retries": 0, "client_timeout": "1500ms", "max_instances_batch": 5}})"));
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->max_retries, 0);
  EXPECT_EQ(o->client_timeout, milliseconds(1500));
  EXPECT_EQ(o->max_instances_batch, 5);
  auto p = CreateAwsProvider(WithFile(R"({"aws": {"max_instances_batch": 7}})"));
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ((*p)->name(), "aws");
  EXPECT_TRUE((*p)->answers_lookups());
  EXPECT_EQ((*p)->max_batch(), 7u);
}

TEST(AwsOptionsTest, EveryBadKeyIsNamed) {
  auto p = CreateAwsProvider(WithFile(
      R"({"aws": {"max_retries": -1, "client_timeout": "0s", "max_instances_batch": 0}})"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("aws.max_retries: must be >= 0"), std::string::npos) << p.error();
  EXPECT_NE(p.error().find("aws.client_timeout: must be positive"), std::string::npos) << p.error();
  EXPECT_NE(p.error().find("aws.max_instances_batch: must be positive"), std::string::npos)
      << p.error();

  auto types = AwsOptions::From(WithFile(
      R"({"aws": {"max_retries": "x", "client_timeout": "soon", "max_instances_batch": true}})"));
  ASSERT_FALSE(types.ok());
  for (const char* key : {"aws.max_retries", "aws.client_timeout", "aws.max_instances_batch"}) {
    EXPECT_NE(types.error().find(key), std::string::npos) << key << ": " << types.error();
  }
  auto negative = AwsOptions::From(WithFile(R"({"aws": {"client_timeout": "-1s"}})"));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().find("aws.client_timeout"), std::string::npos);
}

TEST(AwsOptionsTest, EnvironmentOverridesTheFile) {
  config::Config c = WithFile(R"({"aws": {"max_instances_batch": 5}})");
  c.env = {{"GSD_AWS_MAX_INSTANCES_BATCH", "9"}};
  auto o = AwsOptions::From(c);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->max_instances_batch, 9);
}

}  // namespace
}  // namespace cstatsd::cloud::aws
