// Fuzz target for the Lambda extension's Telemetry API side: a telemetry POST body (network input
// from the Lambda platform, on a port any process in the sandbox can reach) through
// RuntimeDoneRequestIds, and the same bytes as a lambda-extension-telemetry-address. Traps
// unless a body that is read is a JSON array with at least one event per request id, and unless
// a parsed address has a port in 0-65535, a host to bind and a URI host.
#include <cstdint>
#include <string_view>

#include "lambda/telemetry.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cstatsd::lambda;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ids = RuntimeDoneRequestIds(text);
  if (ids.ok()) {
    Check(text.find('[') != std::string_view::npos);
    // Every id comes from an object ("{}" at least) of the array.
    Check(ids->size() * 2 <= size);
  } else {
    Check(!ids.error().empty());
  }
  if (size <= 300) {
    auto address = ParseTelemetryAddress(text);
    if (address.ok()) {
      Check(address->port >= 0 && address->port <= 65535);
      Check(!address->bind_host.empty() && !address->uri_host.empty());
      const std::string uri = DestinationUri(*address, address->port);
      Check(std::string_view(uri).starts_with("http://") && uri.ends_with("/telemetry"));
    } else {
      Check(std::string_view(address.error()).starts_with("lambda-extension-telemetry-address"));
    }
  }
  return 0;
}
