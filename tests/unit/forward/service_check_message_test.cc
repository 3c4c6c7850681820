// ServiceCheckV2 (docs/forwarder.md#service-checks): what the forwarder encodes decodes to the
// same check; the decoder stops at the first limit and refuses what is not the message.
#include "forward/service_check_message.h"

#include <gtest/gtest.h>

namespace cstatsd::forward {
namespace {

ServiceCheck Sample() {
  ServiceCheck c;
  c.name = "db.up";
  c.status = ServiceCheckStatus::kCritical;
  c.timestamp = 1700000000;
  c.source = "10.0.0.9";
  c.message = "down | since 5 min";
  c.tags = {"env:prod", "role:db"};
  c.container_id = "ci-abc";
  return c;
}

TEST(ServiceCheckMessageTest, RoundTrip) {
  ServiceCheck back;
  const DecodeStatus st =
      DecodeServiceCheck(ToServiceCheckV2(Sample()).SerializeAsString(), DecodeLimits{}, back);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(back, Sample());
}

TEST(ServiceCheckMessageTest, InvalidUtf8IsRepairedWhenEncoded) {
  ServiceCheck c = Sample();
  c.message = "bad \xff byte";
  ServiceCheck back;
  ASSERT_TRUE(
      DecodeServiceCheck(ToServiceCheckV2(c).SerializeAsString(), DecodeLimits{}, back).ok());
  EXPECT_EQ(back.message, "bad \xef\xbf\xbd byte");
}

TEST(ServiceCheckMessageTest, UnknownStatusReadsAsUnknownAndUnknownFieldsAreSkipped) {
  pb::ServiceCheckV2 m = ToServiceCheckV2(Sample());
  std::string wire = m.SerializeAsString();
  wire += std::string("\x10\x07", 2);        // Status = 7 (a newer sender), last one wins
  wire += std::string("\xa0\x06\x01", 3);    // field 100, varint: unknown
  wire += std::string("\xaa\x06\x02hi", 5);  // field 101, bytes: unknown
  ServiceCheck back;
  ASSERT_TRUE(DecodeServiceCheck(wire, DecodeLimits{}, back).ok());
  EXPECT_EQ(back.status, ServiceCheckStatus::kUnknown);
  EXPECT_EQ(back.name, "db.up");
}

TEST(ServiceCheckMessageTest, LimitsStopTheDecoding) {
  const std::string wire = ToServiceCheckV2(Sample()).SerializeAsString();
  ServiceCheck back;
  DecodeLimits l;
  l.max_tags = 1;
  EXPECT_EQ(DecodeServiceCheck(wire, l, back).error, DecodeError::kTags);
  l = DecodeLimits{};
  l.max_tag_length = 7;  // "role:db" fits, "env:prod" does not
  EXPECT_EQ(DecodeServiceCheck(wire, l, back).error, DecodeError::kTagLength);
  l = DecodeLimits{};
  l.max_name_length = 5;  // "db.up" fits, the hostname does not
  EXPECT_EQ(DecodeServiceCheck(wire, l, back).error, DecodeError::kNameLength);
}

TEST(ServiceCheckMessageTest, MalformedMessagesAreRefused) {
  ServiceCheck back;
  EXPECT_EQ(DecodeServiceCheck(std::string("\x0a\x05\x61", 3), {}, back).error,
            DecodeError::kMalformed);  // truncated string
  EXPECT_EQ(DecodeServiceCheck(std::string("\x00\x01", 2), {}, back).error,
            DecodeError::kMalformed);  // field 0
  EXPECT_EQ(DecodeServiceCheck(std::string("\x0a\x01\xff", 3), {}, back).error,
            DecodeError::kMalformed);                                          // not UTF-8
  EXPECT_EQ(DecodeServiceCheck("", {}, back).error, DecodeError::kMalformed);  // no name
  EXPECT_EQ(DecodeServiceCheck(std::string("\x0c", 1), {}, back).error,
            DecodeError::kMalformed);  // an end of group nobody opened
}

}  // namespace
}  // namespace cstatsd::forward
