#include "lambda/extension_options.h"

#include <algorithm>

#include "lambda/runtime_api.h"

namespace cstatsd::lambda {

SplitArgs TakeEntrypointName(int argc, const char* const* argv) {
  SplitArgs out;
  const std::string flag = "--" + std::string(kEntrypointNameFlag);
  const std::string flag_eq = flag + "=";
  bool flags_ended = false;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (i == 0 || flags_ended) {
      out.args.emplace_back(arg);
      continue;
    }
    if (arg == "--") flags_ended = true;
    if (arg == flag) {
      if (i + 1 >= argc) {
        out.error = flag + ": flag needs an argument";
        continue;
      }
      out.entrypoint_name = argv[++i];
    } else if (arg.rfind(flag_eq, 0) == 0) {
      out.entrypoint_name = std::string(arg.substr(flag_eq.size()));
    } else {
      out.args.emplace_back(arg);
    }
  }
  return out;
}

std::string ExtensionName(const std::optional<std::string>& flag, const config::Config& config,
                          std::string_view argv0) {
  if (flag) return *flag;
  if (auto it = config.env.find("GSD_LAMBDA_ENTRYPOINT_NAME"); it != config.env.end()) {
    return it->second;
  }
  if (auto it = config.file.find(kEntrypointNameFlag); it != config.file.end() && it->is_string()) {
    return it->get<std::string>();
  }
  const size_t slash = argv0.find_last_of('/');
  return std::string(slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1));
}

Result<ExtensionOptions> PrepareConfig(config::Config& config, const config::Environment& env,
                                       std::string extension_name) {
  config::Options& o = config.options;
  std::vector<std::string> errors;

  // lambda-entrypoint-name is this binary's key: not unknown here.
  std::erase_if(config.warnings, [](const std::string& w) {
    return w.rfind(std::string(kEntrypointNameFlag) + ":", 0) == 0;
  });
  if (o.server_mode != "forwarder" &&
      (config.file.contains("server-mode") || env.contains("GSD_SERVER_MODE"))) {
    config.warnings.push_back(
        "server-mode: the Lambda extension always runs in forwarder mode; \"" + o.server_mode +
        "\" ignored");
  }
  o.server_mode = "forwarder";

  ExtensionOptions out;
  out.extension_name = std::move(extension_name);
  if (auto it = env.find(kRuntimeApiEnv); it != env.end()) out.runtime_api = it->second;
  out.manual_flush = o.lambda_extension_manual_flush;
  if (out.manual_flush) {
    // Each runtimeDone flush is one request whose delivery the extension waits for; gostatsd
    // does not support dynamic headers here either (it drops them silently).
    auto dynamic = config.GetSection("http-transport").GetStringList("dynamic-headers", {});
    if (!dynamic.ok()) {
      errors.push_back(dynamic.error());
    } else if (!dynamic->empty()) {
      errors.push_back(
          "http-transport.dynamic-headers: not supported by the Lambda extension with "
          "lambda-extension-manual-flush = true; remove it, or set "
          "lambda-extension-manual-flush = false");
    }
    auto address = ParseTelemetryAddress(o.lambda_extension_telemetry_address);
    if (address.ok()) {
      out.telemetry = std::move(*address);
    } else {
      errors.push_back(address.error());
    }
  }
  if (out.extension_name.empty()) {
    errors.push_back(std::string(kEntrypointNameFlag) + ": must not be empty");
  }
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    return Status::Error(message);
  }
  return out;
}

}  // namespace cstatsd::lambda
