// The Telemetry API side of the Lambda extension (docs/lambda.md): where the telemetry
// listener binds (`lambda-extension-telemetry-address`), the destination URI it subscribes with,
// and the parsing of a telemetry batch into the request ids of its `platform.runtimeDone` events
// (the end of an invocation: its metrics are flushed). Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cstatsd::lambda {

// The name Lambda gives the execution environment: a telemetry destination must use it.
inline constexpr std::string_view kSandboxHost = "sandbox";

struct TelemetryAddress {
  std::string bind_host;  // what the listener binds ("sandbox", "127.0.0.1", "0.0.0.0", "::1")
  int port = 0;           // 0 = any free port
  std::string uri_host;   // the host in the destination URI ("[::1]" for IPv6)
};

// "host:port", "[v6]:port" or ":port" (all interfaces; the URI then names "sandbox"). Errors
// name the key lambda-extension-telemetry-address.
Result<TelemetryAddress> ParseTelemetryAddress(std::string_view address);

// http://<uri_host>:<port>/telemetry, with the port actually bound.
std::string DestinationUri(const TelemetryAddress& address, int bound_port);

// A telemetry POST body is a JSON array of events; returns, for each event with
// "type": "platform.runtimeDone", its record's requestId ("" if it has none), in order. A body
// that is not a JSON array is an error.
Result<std::vector<std::string>> RuntimeDoneRequestIds(std::string_view body);

}  // namespace cstatsd::lambda
