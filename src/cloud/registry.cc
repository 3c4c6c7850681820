#include "cloud/registry.h"

#include "cloud/aws/aws_provider.h"

namespace cstatsd::cloud {

Result<std::unique_ptr<Provider>> CreateProvider(const config::Config& config) {
  const std::string& name = config.options.cloud_provider;
  if (name.empty()) return std::unique_ptr<Provider>();
  if (name == "aws") return aws::CreateAwsProvider(config);
  return Status::Error("cloud-provider: \"" + name + "\" is not available in this build");
}

}  // namespace cstatsd::cloud
