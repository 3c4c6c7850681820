// Fuzz target for the aws cloud provider's EC2 XML (an EC2 response is network input): runs
// ParseDescribeInstances and ParseEc2Error over the input and traps on any broken invariant.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cloud/aws/ec2_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto page = cstatsd::cloud::aws::ParseDescribeInstances(xml);
  if (page.ok()) {
    for (const auto& instance : page->instances) {
      if (instance.id.empty()) std::abort();  // an instance without an id is refused
      const auto tags = cstatsd::cloud::aws::InstanceTags(instance);
      if (tags.size() < instance.tags.size()) std::abort();
      for (size_t i = tags.size() - instance.tags.size(); i < tags.size(); ++i) {
        const std::string_view t = tags[i];
        const std::string_view key = instance.tags[i - (tags.size() - instance.tags.size())].first;
        if (t.substr(0, key.size()).find(':') != std::string_view::npos) std::abort();
      }
    }
  }
  auto error = cstatsd::cloud::aws::ParseEc2Error(xml);
  if (error.ok() && error->code.empty()) std::abort();
  return 0;
}
