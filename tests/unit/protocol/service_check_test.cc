#include "protocol/service_check.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cstatsd::protocol {
namespace {

ServiceCheck Parse(std::string_view line) {
  ServiceCheck c;
  ParseError err = ParseError::kNone;
  EXPECT_TRUE(ParseServiceCheck(line, c, err)) << line;
  EXPECT_EQ(err, ParseError::kNone);
  return c;
}

ParseError Refused(std::string_view line) {
  ServiceCheck c;
  ParseError err = ParseError::kNone;
  EXPECT_FALSE(ParseServiceCheck(line, c, err)) << line;
  return err;
}

TEST(ServiceCheckTest, NameAndStatusOnly) {
  const ServiceCheck c = Parse("_sc|db.up|0");
  EXPECT_EQ(c.name, "db.up");
  EXPECT_EQ(c.status, ServiceCheckStatus::kOk);
  EXPECT_EQ(c.timestamp, 0);
  EXPECT_TRUE(c.source.empty());
  EXPECT_TRUE(c.message.empty());
  EXPECT_TRUE(c.tags.empty());
  EXPECT_TRUE(c.container_id.empty());
}

TEST(ServiceCheckTest, EveryStatus) {
  EXPECT_EQ(Parse("_sc|x|0").status, ServiceCheckStatus::kOk);
  EXPECT_EQ(Parse("_sc|x|1").status, ServiceCheckStatus::kWarning);
  EXPECT_EQ(Parse("_sc|x|2").status, ServiceCheckStatus::kCritical);
  EXPECT_EQ(Parse("_sc|x|3").status, ServiceCheckStatus::kUnknown);
}

TEST(ServiceCheckTest, StatusOutsideZeroToThreeIsRefused) {
  EXPECT_EQ(Refused("_sc|x|4"), ParseError::kInvalidValue);
  EXPECT_EQ(Refused("_sc|x|-1"), ParseError::kInvalidValue);
  EXPECT_EQ(Refused("_sc|x|00"), ParseError::kInvalidValue);
  EXPECT_EQ(Refused("_sc|x|ok"), ParseError::kInvalidValue);
  EXPECT_EQ(Refused("_sc|x|"), ParseError::kInvalidValue);
  EXPECT_EQ(Refused("_sc|x||d:1"), ParseError::kInvalidValue);
}

TEST(ServiceCheckTest, EmptyNameOrNoStatusIsRefused) {
  EXPECT_EQ(Refused("_sc||0"), ParseError::kInvalidFormat);
  EXPECT_EQ(Refused("_sc|"), ParseError::kInvalidFormat);
  EXPECT_EQ(Refused("_sc|name"), ParseError::kInvalidFormat);
  EXPECT_EQ(Refused("_sc:x|0"), ParseError::kInvalidFormat);
  EXPECT_EQ(Refused("_e{1,1}:a|b"), ParseError::kInvalidFormat);
}

TEST(ServiceCheckTest, EveryField) {
  const ServiceCheck c = Parse(
      "_sc|redis.can_connect|2|d:1700000000|h:db-1|#env:prod,role:cache|c:ci-abc123|"
      "e:it-false,cn-redis|card:high|m:connection refused");
  EXPECT_EQ(c.name, "redis.can_connect");
  EXPECT_EQ(c.status, ServiceCheckStatus::kCritical);
  EXPECT_EQ(c.timestamp, 1700000000);
  EXPECT_EQ(c.source, "db-1");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"env:prod", "role:cache"}));
  EXPECT_EQ(c.container_id, "ci-abc123");
  EXPECT_EQ(c.message, "connection refused");
}

TEST(ServiceCheckTest, FieldsInAnyOrderBeforeTheMessage) {
  const ServiceCheck c = Parse("_sc|x|1|#a:b|h:web|d:5");
  EXPECT_EQ(c.timestamp, 5);
  EXPECT_EQ(c.source, "web");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"a:b"}));
}

TEST(ServiceCheckTest, MessageTakesTheRestOfTheLinePipesIncluded) {
  EXPECT_EQ(Parse("_sc|x|0|m:a|b||c").message, "a|b||c");
  EXPECT_EQ(Parse("_sc|x|0|m:").message, "");
  EXPECT_EQ(Parse("_sc|x|0|m:m:nested").message, "m:nested");
}

TEST(ServiceCheckTest, FieldsAfterTheMessageArePartOfIt) {
  // m: must be the last field: what follows it is message text, not tags.
  const ServiceCheck c = Parse("_sc|x|0|m:down|#env:prod|h:web");
  EXPECT_EQ(c.message, "down|#env:prod|h:web");
  EXPECT_TRUE(c.tags.empty());
  EXPECT_TRUE(c.source.empty());
}

TEST(ServiceCheckTest, BadTimestampIsRefused) {
  EXPECT_EQ(Refused("_sc|x|0|d:"), ParseError::kInvalidFormat);
  EXPECT_EQ(Refused("_sc|x|0|d:12a"), ParseError::kInvalidFormat);
  EXPECT_EQ(Refused("_sc|x|0|d:-5"), ParseError::kInvalidFormat);
  EXPECT_EQ(Refused("_sc|x|0|d:1.5"), ParseError::kInvalidFormat);
  EXPECT_EQ(Refused("_sc|x|0|d:9223372036854775808"), ParseError::kInvalidFormat);
  EXPECT_EQ(Parse("_sc|x|0|d:9223372036854775807").timestamp, INT64_MAX);
}

TEST(ServiceCheckTest, TagsDropEmptyElementsAndKeepColons) {
  EXPECT_EQ(Parse("_sc|x|0|#,a,,b:c:d,").tags, (std::vector<std::string>{"a", "b:c:d"}));
  EXPECT_TRUE(Parse("_sc|x|0|#").tags.empty());
  // Two tag fields add up.
  EXPECT_EQ(Parse("_sc|x|0|#a|#b").tags, (std::vector<std::string>{"a", "b"}));
}

TEST(ServiceCheckTest, OriginFieldsAreAccepted) {
  EXPECT_EQ(Parse("_sc|x|0|c:in-12345").container_id, "in-12345");
  EXPECT_EQ(Parse("_sc|x|0|c:ci-abc,in-1").container_id, "ci-abc,in-1");
  EXPECT_EQ(Parse("_sc|x|3|e:it-true,pu-uid|card:low").status, ServiceCheckStatus::kUnknown);
}

TEST(ServiceCheckTest, EmptyAndUnknownFieldsAreSkipped) {
  const ServiceCheck c = Parse("_sc|x|0||zz:1|k:key|h:web|");
  EXPECT_EQ(c.source, "web");
}

TEST(ServiceCheckTest, LastValueOfARepeatedFieldWins) {
  const ServiceCheck c = Parse("_sc|x|0|h:a|h:b|d:1|d:2");
  EXPECT_EQ(c.source, "b");
  EXPECT_EQ(c.timestamp, 2);
}

TEST(ServiceCheckTest, AReusedCheckIsCleared) {
  ServiceCheck c;
  ParseError err = ParseError::kNone;
  ASSERT_TRUE(ParseServiceCheck("_sc|a|2|d:1|h:h|#t|c:ci-1|m:msg", c, err));
  ASSERT_TRUE(ParseServiceCheck("_sc|b|0", c, err));
  ServiceCheck want;
  want.name = "b";
  EXPECT_EQ(c, want);
}

}  // namespace
}  // namespace cstatsd::protocol
