// Process logging: spdlog to standard error (standard output belongs to the stdout backend),
// as text or as one JSON object per line (--json). Set up once by main() before any thread.
#pragma once

namespace cstatsd::server {

void SetupLogging(bool json, bool verbose);

}  // namespace cstatsd::server
