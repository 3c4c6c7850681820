// The credential and region sources of the AWS default chain that need no network.
#include "aws/credentials.h"

#include <gtest/gtest.h>

namespace cstatsd::aws {
namespace {

TEST(CredentialsTest, EnvironmentNeedsBothKeysAndTakesTheToken) {
  EXPECT_FALSE(CredentialsFromEnvironment({{"AWS_ACCESS_KEY_ID", "AK"}}).has_value());
  auto c = CredentialsFromEnvironment(
      {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "T"}});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->access_key_id, "AK");
  EXPECT_EQ(c->secret_access_key, "SK");
  EXPECT_EQ(c->session_token, "T");
}

TEST(CredentialsTest, SharedFileProfiles) {
  const char* ini =
      "# comment\n[default]\naws_access_key_id = D1\naws_secret_access_key=D2\r\n\n"
      "[prod]\n aws_access_key_id = P1 \naws_secret_access_key = P2\naws_session_token = P3\n";
  auto d = CredentialsFromSharedFile(ini, "default");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->access_key_id, "D1");
  EXPECT_EQ(d->secret_access_key, "D2");
  EXPECT_EQ(d->session_token, "");
  auto p = CredentialsFromSharedFile(ini, "prod");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->access_key_id, "P1");
  EXPECT_EQ(p->session_token, "P3");
  EXPECT_FALSE(CredentialsFromSharedFile(ini, "missing").has_value());
}

TEST(CredentialsTest, PathsProfileAndRegion) {
  EXPECT_EQ(SharedCredentialsPath({{"HOME", "/home/u"}}), "/home/u/.aws/credentials");
  EXPECT_EQ(SharedCredentialsPath({{"HOME", "/h"}, {"AWS_SHARED_CREDENTIALS_FILE", "/c"}}), "/c");
  EXPECT_EQ(ProfileName({}), "default");
  EXPECT_EQ(ProfileName({{"AWS_PROFILE", "prod"}}), "prod");
  EXPECT_EQ(RegionFromEnvironment({{"AWS_DEFAULT_REGION", "eu-west-1"}}), "eu-west-1");
  EXPECT_EQ(RegionFromEnvironment({{"AWS_REGION", "us-east-2"}, {"AWS_DEFAULT_REGION", "x"}}),
            "us-east-2");
  EXPECT_FALSE(RegionFromEnvironment({}).has_value());
}

}  // namespace
}  // namespace cstatsd::aws
