#include "cloud/aws/ec2_xml.h"

#include <algorithm>
#include <pugixml.hpp>

#include "aws/sigv4.h"

namespace cstatsd::cloud::aws {
namespace {

std::string Text(const pugi::xml_node& node, const char* child) {
  return node.child(child).text().as_string();
}

void AddAddress(std::vector<std::string>& out, std::string address) {
  if (address.empty()) return;
  if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(std::move(address));
}

Status Load(pugi::xml_document& doc, std::string_view xml) {
  const pugi::xml_parse_result r =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) {
    return Status::Error(std::string("malformed XML at offset ") + std::to_string(r.offset) + ": " +
                         r.description());
  }
  return {};
}

}  // namespace

Result<DescribeInstancesPage> ParseDescribeInstances(std::string_view xml) {
  pugi::xml_document doc;
  if (Status s = Load(doc, xml); !s.ok()) return s;
  const pugi::xml_node root = doc.document_element();
  if (std::string_view(root.name()) != "DescribeInstancesResponse") {
    return Status::Error("not a DescribeInstancesResponse: root element <" +
                         std::string(root.name()) + ">");
  }
  DescribeInstancesPage page;
  page.next_token = Text(root, "nextToken");
  for (const pugi::xml_node reservation : root.child("reservationSet").children("item")) {
    for (const pugi::xml_node item : reservation.child("instancesSet").children("item")) {
      Ec2Instance instance;
      instance.id = Text(item, "instanceId");
      instance.availability_zone = Text(item.child("placement"), "availabilityZone");
      AddAddress(instance.addresses, Text(item, "privateIpAddress"));
      AddAddress(instance.addresses, Text(item, "ipv6Address"));
      for (const pugi::xml_node nic : item.child("networkInterfaceSet").children("item")) {
        AddAddress(instance.addresses, Text(nic, "privateIpAddress"));
        for (const pugi::xml_node a : nic.child("privateIpAddressesSet").children("item")) {
          AddAddress(instance.addresses, Text(a, "privateIpAddress"));
        }
        for (const pugi::xml_node a : nic.child("ipv6AddressesSet").children("item")) {
          AddAddress(instance.addresses, Text(a, "ipv6Address"));
        }
      }
      for (const pugi::xml_node tag : item.child("tagSet").children("item")) {
        instance.tags.emplace_back(Text(tag, "key"), Text(tag, "value"));
      }
      if (instance.id.empty()) return Status::Error("an instance without an instanceId");
      page.instances.push_back(std::move(instance));
    }
  }
  return page;
}

Result<Ec2Error> ParseEc2Error(std::string_view xml) {
  pugi::xml_document doc;
  if (Status s = Load(doc, xml); !s.ok()) return s;
  const pugi::xml_node root = doc.document_element();
  // EC2 answers <Response><Errors><Error>; other Query APIs <ErrorResponse><Error>.
  pugi::xml_node error = root.child("Errors").child("Error");
  if (!error) error = root.child("Error");
  if (!error || Text(error, "Code").empty()) {
    return Status::Error("not an error response: root element <" + std::string(root.name()) + ">");
  }
  return Ec2Error{Text(error, "Code"), Text(error, "Message")};
}

bool IsThrottlingCode(std::string_view code) {
  for (std::string_view c :
       {"RequestLimitExceeded", "Throttling", "ThrottlingException", "ThrottledException",
        "RequestThrottledException", "TooManyRequestsException", "RequestThrottled", "SlowDown",
        "EC2ThrottledException", "ProvisionedThroughputExceededException"}) {
    if (code == c) return true;
  }
  return false;
}

std::string DescribeInstancesBody(const std::vector<std::string>& ips,
                                  std::string_view next_token) {
  std::string body = "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=private-ip-address";
  for (size_t i = 0; i < ips.size(); ++i) {
    body += "&Filter.1.Value." + std::to_string(i + 1) + "=" + cstatsd::aws::UriEncode(ips[i]);
  }
  if (!next_token.empty()) body += "&NextToken=" + cstatsd::aws::UriEncode(next_token);
  return body;
}

std::vector<std::string> InstanceTags(const Ec2Instance& instance) {
  std::vector<std::string> tags;
  tags.reserve(instance.tags.size() + 1);
  if (!instance.availability_zone.empty()) {
    const std::string& az = instance.availability_zone;
    tags.push_back("region:" + az.substr(0, az.size() - 1));
  }
  for (const auto& [key, value] : instance.tags) {
    std::string k = key;
    std::replace(k.begin(), k.end(), ':', '_');
    tags.push_back(k + ":" + value);
  }
  return tags;
}

}  // namespace cstatsd::cloud::aws
