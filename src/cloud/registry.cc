#include "cloud/registry.h"

#include "cloud/aws/aws_provider.h"
#include "cloud/k8s/k8s_provider.h"

namespace cstatsd::cloud {

Result<std::unique_ptr<Provider>> CreateProvider(const config::Config& config) {
  const std::string& name = config.options.cloud_provider;
  if (name.empty()) return std::unique_ptr<Provider>();
  if (name == "aws") return aws::CreateAwsProvider(config);
  if (name == "k8s") return k8s::CreateK8sProvider(config);
  return Status::Error("cloud-provider: unknown provider \"" + name + "\" (known: aws, k8s)");
}

}  // namespace cstatsd::cloud
