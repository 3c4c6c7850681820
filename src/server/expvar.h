// The contents of /expvar (docs/http.md): version, settings, the receive and parse counters,
// per-backend and per-HTTP-server counts, and in forwarder mode [http-transport] as in effect
// with the forwarder's totals. Reads only atomics and immutable settings: any thread (an HTTP
// server's event loop calls it).
#pragma once

#include <nlohmann/json.hpp>

#include "config/options.h"
#include "server/components.h"

namespace cstatsd::server {

// `timed_flush`: false when forwarder mode flushes only on demand (Server::DisableTimedFlush).
nlohmann::json ExpvarVars(const config::Options& options, const Components& parts,
                          bool timed_flush);

}  // namespace cstatsd::server
