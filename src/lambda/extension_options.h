// What the Lambda extension binary reads besides cstatsd's own options (docs/lambda.md): the
// extension name (--lambda-entrypoint-name), the Runtime API host (AWS_LAMBDA_RUNTIME_API), and the
// checks a configuration must pass in Lambda (forwarder mode, no dynamic-headers with the
// manual flush, a telemetry address that parses). Pure functions; main thread at startup.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "lambda/telemetry.h"

namespace cstatsd::lambda {

inline constexpr std::string_view kEntrypointNameFlag = "lambda-entrypoint-name";

struct ExtensionOptions {
  std::string runtime_api;     // AWS_LAMBDA_RUNTIME_API: host:port of the Runtime API
  std::string extension_name;  // Lambda-Extension-Name: the file name under /opt/extensions
  bool manual_flush = true;    // lambda-extension-manual-flush
  TelemetryAddress telemetry;  // lambda-extension-telemetry-address (manual flush only)
};

// The command line without --lambda-entrypoint-name (`--name value` or `--name=value`), which
// config::Load does not know, and the value given, if any.
struct SplitArgs {
  std::vector<std::string> args;  // argv[0] and the rest, for config::Load
  std::optional<std::string> entrypoint_name;
  std::string error;  // "--lambda-entrypoint-name: ..." when the flag has no value
};
SplitArgs TakeEntrypointName(int argc, const char* const* argv);

// The extension name: the flag, else GSD_LAMBDA_ENTRYPOINT_NAME, else the config file's
// lambda-entrypoint-name, else the binary's file name (what Lambda expects: the name of the file
// in the layer's extensions/ folder).
std::string ExtensionName(const std::optional<std::string>& flag, const config::Config& config,
                          std::string_view argv0);

// Adapts a loaded configuration to the extension: server-mode becomes forwarder (a warning if
// the file or environment said otherwise), the config file's lambda-entrypoint-name is no
// longer warned about as unknown; then checks it, listing every problem with the key it names:
// dynamic-headers with the manual flush, the telemetry address.
Result<ExtensionOptions> PrepareConfig(config::Config& config, const config::Environment& env,
                                       std::string extension_name);

}  // namespace cstatsd::lambda
