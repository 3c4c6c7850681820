#include "cloud/registry.h"

namespace cstatsd::cloud {

Result<std::unique_ptr<Provider>> CreateProvider(const config::Config& config) {
  const std::string& name = config.options.cloud_provider;
  if (name.empty()) return std::unique_ptr<Provider>();
  return Status::Error("cloud-provider: \"" + name + "\" is not available in this build");
}

}  // namespace cstatsd::cloud
