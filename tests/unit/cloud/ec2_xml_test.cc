// The EC2 Query API pieces of the aws cloud provider as pure functions: DescribeInstances pages
// and error documents against golden XML (malformed input is an error, never a crash), the form
// body, and the tags an instance gets.
#include "cloud/aws/ec2_xml.h"

#include <gtest/gtest.h>

#include <string>

namespace cstatsd::cloud::aws {
namespace {

// Shaped like a real response (fields the provider ignores included, nested sets of <item>s
// that must not be confused with the instance's own).
constexpr char kPage[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1</reservationId>
      <ownerId>123456789012</ownerId>
      <groupSet><item><groupId>sg-1</groupId><groupName>web</groupName></item></groupSet>
      <instancesSet>
        <item>
          <instanceId>i-aaa</instanceId>
          <imageId>ami-1</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <placement><availabilityZone>eu-west-1c</availabilityZone><tenancy>default</tenancy></placement>
          <privateIpAddress>10.0.0.1</privateIpAddress>
          <ipAddress>54.1.2.3</ipAddress>
          <groupSet><item><groupId>sg-1</groupId></item></groupSet>
          <tagSet>
            <item><key>Name</key><value>web-1</value></item>
            <item><key>aws:autoscaling:groupName</key><value>web-asg</value></item>
            <item><key>empty</key><value></value></item>
          </tagSet>
          <networkInterfaceSet>
            <item>
              <networkInterfaceId>eni-1</networkInterfaceId>
              <privateIpAddress>10.0.0.1</privateIpAddress>
              <privateIpAddressesSet>
                <item><privateIpAddress>10.0.0.1</privateIpAddress><primary>true</primary></item>
                <item><privateIpAddress>10.0.0.11</privateIpAddress><primary>false</primary></item>
              </privateIpAddressesSet>
              <ipv6AddressesSet><item><ipv6Address>2001:db8::1</ipv6Address></item></ipv6AddressesSet>
            </item>
            <item>
              <networkInterfaceId>eni-2</networkInterfaceId>
              <privateIpAddress>10.0.1.7</privateIpAddress>
              <privateIpAddressesSet>
                <item><privateIpAddress>10.0.1.7</privateIpAddress><primary>true</primary></item>
              </privateIpAddressesSet>
            </item>
          </networkInterfaceSet>
        </item>
      </instancesSet>
    </item>
    <item>
      <reservationId>r-2</reservationId>
      <instancesSet>
        <item>
          <instanceId>i-bbb</instanceId>
          <placement><availabilityZone>us-east-1a</availabilityZone></placement>
          <privateIpAddress>10.0.0.2</privateIpAddress>
        </item>
        <item>
          <instanceId>i-ccc</instanceId>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
  <nextToken>eyJ2IjoiMiJ9</nextToken>
</DescribeInstancesResponse>)";

TEST(ParseDescribeInstancesTest, GoldenPage) {
  auto page = ParseDescribeInstances(kPage);
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(page->next_token, "eyJ2IjoiMiJ9");
  ASSERT_EQ(page->instances.size(), 3u);

  const Ec2Instance& a = page->instances[0];
  EXPECT_EQ(a.id, "i-aaa");
  EXPECT_EQ(a.availability_zone, "eu-west-1c");
  EXPECT_EQ(a.addresses,
            (std::vector<std::string>{"10.0.0.1", "10.0.0.11", "2001:db8::1", "10.0.1.7"}));
  ASSERT_EQ(a.tags.size(), 3u);
  EXPECT_EQ(a.tags[1],
            (std::pair<std::string, std::string>{"aws:autoscaling:groupName", "web-asg"}));
  EXPECT_EQ(a.tags[2].second, "");

  EXPECT_EQ(page->instances[1].id, "i-bbb");
  EXPECT_EQ(page->instances[1].addresses, std::vector<std::string>{"10.0.0.2"});
  EXPECT_TRUE(page->instances[1].tags.empty());
  EXPECT_EQ(page->instances[2].id, "i-ccc");
  EXPECT_TRUE(page->instances[2].addresses.empty());
  EXPECT_TRUE(page->instances[2].availability_zone.empty());
}

TEST(ParseDescribeInstancesTest, LastAndEmptyPages) {
  auto last = ParseDescribeInstances(
      R"(<DescribeInstancesResponse><reservationSet><item><instancesSet><item>)"
      R"(<instanceId>i-1</instanceId></item></instancesSet></item></reservationSet>)"
      R"(</DescribeInstancesResponse>)");
  ASSERT_TRUE(last.ok()) << last.error();
  EXPECT_EQ(last->next_token, "");
  ASSERT_EQ(last->instances.size(), 1u);

  auto empty = ParseDescribeInstances(
      R"(<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">)"
      R"(<requestId>x</requestId><reservationSet/></DescribeInstancesResponse>)");
  ASSERT_TRUE(empty.ok()) << empty.error();
  EXPECT_TRUE(empty->instances.empty());
  EXPECT_EQ(empty->next_token, "");
}

TEST(ParseDescribeInstancesTest, MalformedIsAnError) {
  const std::string page = kPage;
  for (const std::string& bad :
       {std::string(), std::string("garbage"), std::string("<DescribeInstancesResponse>"),
        page.substr(0, page.size() / 2), page.substr(0, page.size() - 3),
        std::string("<a><b></a></b>"), std::string("\0\0\0", 3),
        std::string("<DescribeInstancesResponse><reservationSet><item>"),
        std::string("<?xml version=\"1.0\"?><!-- only a comment -->")}) {
    auto r = ParseDescribeInstances(bad);
    EXPECT_FALSE(r.ok()) << "accepted: " << bad;
  }
}

TEST(ParseDescribeInstancesTest, AnotherDocumentIsAnError) {
  auto r = ParseDescribeInstances(
      "<Response><Errors><Error><Code>AuthFailure</Code></Error></Errors></Response>");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("<Response>"), std::string::npos) << r.error();
  // An instance without an id is of no use and means a broken document.
  EXPECT_FALSE(ParseDescribeInstances("<DescribeInstancesResponse><reservationSet><item>"
                                      "<instancesSet><item><privateIpAddress>10.0.0.1"
                                      "</privateIpAddress></item></instancesSet></item>"
                                      "</reservationSet></DescribeInstancesResponse>")
                   .ok());
}

TEST(ParseEc2ErrorTest, GoldenErrors) {
  auto e = ParseEc2Error(R"(<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>)");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->code, "InvalidInstanceID.NotFound");
  EXPECT_EQ(e->message, "The instance ID 'i-1' does not exist");

  auto throttled = ParseEc2Error(
      "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit "
      "exceeded.</Message></Error></Errors></Response>");
  ASSERT_TRUE(throttled.ok());
  EXPECT_TRUE(IsThrottlingCode(throttled->code));

  auto query = ParseEc2Error(
      "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate "
      "exceeded</Message></Error></ErrorResponse>");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->code, "Throttling");
}

TEST(ParseEc2ErrorTest, NotAnErrorDocument) {
  EXPECT_FALSE(ParseEc2Error("").ok());
  EXPECT_FALSE(ParseEc2Error("<html><body>502 Bad Gateway</body></html>").ok());
  EXPECT_FALSE(ParseEc2Error("<Response><Errors><Error><Code>X").ok());
  EXPECT_FALSE(ParseEc2Error("<Response><Errors><Error></Error></Errors></Response>").ok());
  EXPECT_FALSE(ParseEc2Error(kPage).ok());
}

TEST(IsThrottlingCodeTest, OnlyThrottling) {
  EXPECT_TRUE(IsThrottlingCode("RequestLimitExceeded"));
  EXPECT_TRUE(IsThrottlingCode("Throttling"));
  EXPECT_TRUE(IsThrottlingCode("ThrottlingException"));
  EXPECT_FALSE(IsThrottlingCode("InvalidInstanceID.NotFound"));
  EXPECT_FALSE(IsThrottlingCode("AuthFailure"));
  EXPECT_FALSE(IsThrottlingCode(""));
}

TEST(DescribeInstancesBodyTest, FiltersAndToken) {
  EXPECT_EQ(DescribeInstancesBody({"10.0.0.1", "2001:db8::1"}, ""),
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=private-ip-address"
            "&Filter.1.Value.1=10.0.0.1&Filter.1.Value.2=2001%3Adb8%3A%3A1");
  EXPECT_EQ(DescribeInstancesBody({"10.0.0.1"}, "a+b/c="),
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=private-ip-address"
            "&Filter.1.Value.1=10.0.0.1&NextToken=a%2Bb%2Fc%3D");
}

TEST(InstanceTagsTest, RegionFirstThenTagsWithColonsReplacedInKeysOnly) {
  Ec2Instance i;
  i.id = "i-1";
  i.availability_zone = "ap-southeast-2b";
  i.tags = {{"Name", "web:1"}, {"aws:cloudformation:stack-name", "s"}, {"e", ""}};
  EXPECT_EQ(InstanceTags(i), (std::vector<std::string>{"region:ap-southeast-2", "Name:web:1",
                                                       "aws_cloudformation_stack-name:s", "e:"}));
  i.availability_zone.clear();
  i.tags.clear();
  EXPECT_TRUE(InstanceTags(i).empty());
}

}  // namespace
}  // namespace cstatsd::cloud::aws
