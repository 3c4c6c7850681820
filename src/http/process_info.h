// What a C++ process can honestly say about itself for /expvar and /debug/pprof/cmdline:
// the command line and figures from /proc/self and getrusage. Any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cstatsd::http {

// The arguments the process was started with (/proc/self/cmdline).
std::vector<std::string> CommandLine();

// {"rss_bytes", "virtual_bytes", "max_rss_bytes", "threads", "open_fds",
//  "cpu_user_seconds", "cpu_system_seconds"}; a figure that cannot be read is left out.
nlohmann::json ProcessStats();

}  // namespace cstatsd::http
