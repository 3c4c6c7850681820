// TransportOptions: one `[transport.<name>]` section (docs/forwarder.md#transport, gostatsd's
// TRANSPORT.md), the settings of an HTTP client shared by the forwarder and the HTTP backends.
// Loaded once on the main thread at startup; read-only afterwards.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"

namespace cstatsd::transport {

using Duration = std::chrono::nanoseconds;

struct TransportOptions {
  std::string name = "default";  // the <name> of [transport.<name>] actually used
  std::string type = "http";     // type: only "http"
  Duration client_timeout = std::chrono::seconds(10);  // client-timeout: whole round trip, 0 none
  // dialer-keep-alive: TCP keep-alive period; -1 disabled, 0 enabled with the default period.
  Duration dialer_keep_alive = std::chrono::seconds(30);
  Duration dialer_timeout = std::chrono::seconds(5);  // dialer-timeout: TCP connect, 0 none
  bool enable_http2 = false;                          // enable-http2
  Duration idle_connection_timeout = std::chrono::minutes(1);  // idle-connection-timeout
  int max_idle_connections = 50;                               // max-idle-connections: 0 unlimited
  std::string network = "tcp";                                 // network: tcp, tcp4, tcp6
  Duration tls_handshake_timeout = std::chrono::seconds(3);    // tls-handshake-timeout
  Duration response_header_timeout{0};                         // response-header-timeout: 0 none
};

// Reads `[transport.<name>]`. A name that is not configured falls back to `default` (with a
// warning appended to `warnings`, as gostatsd logs one); `default` itself may be absent and then
// has the defaults above. Errors name every bad key ("transport.<name>.<key>: ...").
Result<TransportOptions> LoadTransportOptions(const config::Config& config, std::string_view name,
                                              std::vector<std::string>* warnings);

// Validates and reads one section (the part of LoadTransportOptions after the name lookup).
Result<TransportOptions> ParseTransportSection(const config::Section& section,
                                               std::string_view name);

}  // namespace cstatsd::transport
