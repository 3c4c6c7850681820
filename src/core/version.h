// Build identity of this cstatsd binary (set by CMake). Constants; any thread.
#pragma once

#include <string_view>

namespace cstatsd {

std::string_view Version();    // e.g. "0.1.0"
std::string_view GitCommit();  // short commit hash, or "unknown"
std::string_view BuildDate();  // YYYY-MM-DD (UTC)

}  // namespace cstatsd
