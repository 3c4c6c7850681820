// The cloud providers by the name in `cloud-provider` (docs/cloud-providers.md), each built from
// its own section ([aws], [k8s]). Main thread, at startup.
#pragma once

#include <memory>

#include "cloud/provider.h"
#include "config/config.h"
#include "core/result.h"

namespace cstatsd::cloud {

// The provider `cloud-provider` names, or nullptr when it is empty. Errors name the key.
Result<std::unique_ptr<Provider>> CreateProvider(const config::Config& config);

}  // namespace cstatsd::cloud
