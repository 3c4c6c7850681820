// The extension's own flag, its name, and the checks a configuration must pass in Lambda
// (docs/lambda.md): forwarder mode forced, dynamic-headers refused with the manual flush, the
// telemetry address validated.
#include "lambda/extension_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cstatsd::lambda {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

SplitArgs Split(std::vector<const char*> argv) {
  return TakeEntrypointName(static_cast<int>(argv.size()), argv.data());
}

TEST(ExtensionOptionsTest, TakesTheEntrypointFlagOut) {
  auto s =
      Split({"ext", "--verbose", "--lambda-entrypoint-name", "my-ext", "--flush-interval", "1s"});
  EXPECT_THAT(s.args, ElementsAre("ext", "--verbose", "--flush-interval", "1s"));
  EXPECT_EQ(s.entrypoint_name, "my-ext");
  EXPECT_TRUE(s.error.empty());

  s = Split({"ext", "--lambda-entrypoint-name=other"});
  EXPECT_THAT(s.args, ElementsAre("ext"));
  EXPECT_EQ(s.entrypoint_name, "other");
}

TEST(ExtensionOptionsTest, EntrypointFlagWithoutValue) {
  auto s = Split({"ext", "--lambda-entrypoint-name"});
  EXPECT_FALSE(s.entrypoint_name.has_value());
  EXPECT_THAT(s.error, HasSubstr("--lambda-entrypoint-name"));
}

TEST(ExtensionOptionsTest, AfterDoubleDashNothingIsTaken) {
  auto s = Split({"ext", "--", "--lambda-entrypoint-name=x"});
  EXPECT_THAT(s.args, ElementsAre("ext", "--", "--lambda-entrypoint-name=x"));
  EXPECT_FALSE(s.entrypoint_name.has_value());
}

TEST(ExtensionOptionsTest, NamePrecedence) {
  config::Config c;
  EXPECT_EQ(ExtensionName(std::nullopt, c, "/opt/extensions/cstatsd"), "cstatsd");
  c.file = Json{{"lambda-entrypoint-name", "from-file"}};
  EXPECT_EQ(ExtensionName(std::nullopt, c, "/opt/extensions/cstatsd"), "from-file");
  c.env["GSD_LAMBDA_ENTRYPOINT_NAME"] = "from-env";
  EXPECT_EQ(ExtensionName(std::nullopt, c, "/opt/extensions/cstatsd"), "from-env");
  EXPECT_EQ(ExtensionName("from-flag", c, "/opt/extensions/cstatsd"), "from-flag");
}

TEST(ExtensionOptionsTest, ForcesForwarderModeAndReadsTheRuntimeApi) {
  config::Config c;
  c.file = Json{{"server-mode", "standalone"}};
  c.warnings = {"lambda-entrypoint-name: unknown option in config file x.toml; ignored",
                "other: unknown option in config file x.toml; ignored"};
  config::Environment env = {{"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"}};
  auto o = PrepareConfig(c, env, "ext");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(c.options.server_mode, "forwarder");
  EXPECT_EQ(o->runtime_api, "127.0.0.1:9001");
  EXPECT_EQ(o->extension_name, "ext");
  EXPECT_TRUE(o->manual_flush);
  EXPECT_EQ(o->telemetry.bind_host, "sandbox");
  EXPECT_EQ(o->telemetry.port, 8083);
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_THAT(c.warnings[0], HasSubstr("other:"));
  EXPECT_THAT(c.warnings[1], HasSubstr("always runs in forwarder mode"));
}

TEST(ExtensionOptionsTest, NoWarningWhenServerModeIsNotSet) {
  config::Config c;
  ASSERT_TRUE(PrepareConfig(c, {}, "ext").ok());
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(c.options.server_mode, "forwarder");
}

TEST(ExtensionOptionsTest, DynamicHeadersAreRefusedWithManualFlush) {
  config::Config c;
  c.file = Json{{"http-transport", {{"dynamic-headers", {"team"}}}}};
  auto o = PrepareConfig(c, {}, "ext");
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.error(), HasSubstr("http-transport.dynamic-headers"));
  EXPECT_THAT(o.error(), HasSubstr("lambda-extension-manual-flush"));
}

TEST(ExtensionOptionsTest, DynamicHeadersFromTheEnvironmentToo) {
  config::Config c;
  c.env["GSD_HTTP_TRANSPORT_DYNAMIC_HEADERS"] = "team service";
  auto o = PrepareConfig(c, c.env, "ext");
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.error(), HasSubstr("http-transport.dynamic-headers"));
}

TEST(ExtensionOptionsTest, DynamicHeadersAreFineWithTheTimedFlush) {
  config::Config c;
  c.file = Json{{"http-transport", {{"dynamic-headers", {"team"}}}}};
  c.options.lambda_extension_manual_flush = false;
  c.options.lambda_extension_telemetry_address = "not an address";  // unused without it
  auto o = PrepareConfig(c, {}, "ext");
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_FALSE(o->manual_flush);
}

TEST(ExtensionOptionsTest, EveryProblemIsListed) {
  config::Config c;
  c.file = Json{{"http-transport", {{"dynamic-headers", "team"}}}};
  c.options.lambda_extension_telemetry_address = "sandbox";
  auto o = PrepareConfig(c, {}, "");
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.error(), HasSubstr("http-transport.dynamic-headers"));
  EXPECT_THAT(o.error(), HasSubstr("lambda-extension-telemetry-address: \"sandbox\""));
  EXPECT_THAT(o.error(), HasSubstr("lambda-entrypoint-name: must not be empty"));
}

}  // namespace
}  // namespace cstatsd::lambda
