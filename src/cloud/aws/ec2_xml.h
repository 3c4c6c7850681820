// The EC2 Query API as the aws cloud provider uses it (docs/cloud-providers.md): the
// DescribeInstances form body, its XML response (one page: the instances' ids, zones, addresses and
// tags, and the next page's token), EC2's error XML, and an instance's cstatsd tags. Pure
// functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cstatsd::cloud::aws {

// What one instance of a DescribeInstances page says that the provider needs.
struct Ec2Instance {
  std::string id;                 // instanceId
  std::string availability_zone;  // placement/availabilityZone, e.g. "us-east-1a"
  // Every address the instance answers to: privateIpAddress, then each network interface's
  // private IPv4 (privateIpAddressesSet) and IPv6 (ipv6AddressesSet) addresses.
  std::vector<std::string> addresses;
  std::vector<std::pair<std::string, std::string>> tags;  // tagSet: key, value
};

struct DescribeInstancesPage {
  std::vector<Ec2Instance> instances;  // of every reservation, in document order
  std::string next_token;              // empty on the last page
};

// Parses a DescribeInstancesResponse. Malformed XML, or another document, is an error.
Result<DescribeInstancesPage> ParseDescribeInstances(std::string_view xml);

// An EC2 error response (<Response><Errors><Error><Code>, <Message>).
struct Ec2Error {
  std::string code;  // e.g. "InvalidInstanceID.NotFound", "RequestLimitExceeded"
  std::string message;
};
// The first error of an error response; an error Result when the body is not one.
Result<Ec2Error> ParseEc2Error(std::string_view xml);

// Error codes that mean "slow down" (retried like a 5xx), as the AWS SDKs list them.
bool IsThrottlingCode(std::string_view code);

// The form body of DescribeInstances filtered on private-ip-address = `ips`, for the page
// after `next_token` (empty: the first page). Values are percent-encoded.
std::string DescribeInstancesBody(const std::vector<std::string>& ips, std::string_view next_token);

// cstatsd's tags for an instance, as gostatsd makes them: "region:<zone minus its last
// character>" first (omitted when the zone is unknown), then every EC2 tag as
// "<key with ':' replaced by '_'>:<value>".
std::vector<std::string> InstanceTags(const Ec2Instance& instance);

}  // namespace cstatsd::cloud::aws
