// main() of cstatsd-lambda-extension: cstatsd as an AWS Lambda extension (docs/lambda.md).
// Loads the configuration as cstatsd does (plus --lambda-entrypoint-name), then hands over to
// lambda::Extension, which registers, runs the forwarder and the event loop on this thread.
// SIGTERM/SIGINT end it like a SHUTDOWN event: a final flush, exit 0.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "lambda/extension.h"
#include "lambda/extension_options.h"
#include "lambda/runtime_api.h"
#include "server/logging.h"

namespace {

std::string HelpWithEntrypoint(std::string help) {
  const std::string line =
      "  --lambda-entrypoint-name <string>              Name sent as Lambda-Extension-Name "
      "(default the binary's file name)\n";
  const size_t at = help.find("  --version");
  help.insert(at == std::string::npos ? help.size() : at, line);
  return help;
}

bool VerboseFlag(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--verbose" || a == "--verbose=true" || a == "--verbose=1") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cstatsd;
  const auto process_start = std::chrono::steady_clock::now();
  transport::InitHttpClients();  // before any thread

  // Signals are taken by one watcher thread; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // the watcher's own "exit now"
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  lambda::SplitArgs split = lambda::TakeEntrypointName(argc, argv);
  std::vector<const char*> args;
  for (const auto& a : split.args) args.push_back(a.c_str());
  const config::Environment env = config::ProcessEnvironment();
  auto loaded = config::Load(static_cast<int>(args.size()), args.data(), env);
  if (loaded.ok() && loaded->exit_now) {
    std::fputs(loaded->message.rfind("Usage:", 0) == 0 ? HelpWithEntrypoint(loaded->message).c_str()
                                                       : loaded->message.c_str(),
               stdout);
    return 0;
  }

  // JSON log lines, as gostatsd's extension (CloudWatch Logs keeps them whole).
  server::SetupLogging(true,
                       loaded.ok() ? loaded->config.options.verbose : VerboseFlag(split.args));

  std::optional<config::Config> cfg;
  std::string startup_error = split.error;
  lambda::ExtensionOptions options;
  if (loaded.ok()) {
    cfg = std::move(loaded->config);
    const std::string name =
        lambda::ExtensionName(split.entrypoint_name, *cfg, argc > 0 ? argv[0] : "");
    auto prepared = lambda::PrepareConfig(*cfg, env, name);
    for (const auto& w : cfg->warnings) spdlog::warn("{}", w);
    if (prepared.ok()) {
      options = std::move(*prepared);
    } else {
      startup_error += (startup_error.empty() ? "" : "\n") + prepared.error();
      options.extension_name = name;
    }
  } else {
    startup_error += (startup_error.empty() ? "" : "\n") + std::string("invalid configuration:\n") +
                     loaded.error();
    config::Config bare;
    bare.env = env;
    options.extension_name =
        lambda::ExtensionName(split.entrypoint_name, bare, argc > 0 ? argv[0] : "");
  }
  if (options.runtime_api.empty()) {
    if (auto it = env.find(lambda::kRuntimeApiEnv); it != env.end())
      options.runtime_api = it->second;
  }
  if (!startup_error.empty()) cfg.reset();

  lambda::Extension extension(options, process_start);
  std::thread watcher([&extension, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1) return;
    spdlog::info("signal received, flushing and stopping signal={}",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    extension.RequestStop();
  });
  const int code = extension.Run(std::move(cfg), startup_error);
  pthread_kill(watcher.native_handle(), SIGUSR1);
  watcher.join();
  return code;
}
