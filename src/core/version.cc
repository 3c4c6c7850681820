#include "core/version.h"

namespace cstatsd {

std::string_view Version() { return CSTATSD_VERSION; }
std::string_view GitCommit() { return CSTATSD_GIT_COMMIT; }
std::string_view BuildDate() { return CSTATSD_BUILD_DATE; }

}  // namespace cstatsd
