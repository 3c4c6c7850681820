// main() of the cstatsd binary: load the configuration, start the server, and on SIGTERM,
// SIGINT or SIGHUP stop receiving, flush once more and exit 0 (docs/compatibility.md#decision-10;
// SIGHUP, which ends gostatsd without a flush, is a stop with a flush here: docs/compatibility.md).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "config/config.h"
#include "server/logging.h"
#include "server/server.h"
#include "transport/http_client.h"

int main(int argc, char** argv) {
  using namespace cstatsd;

  // Signals are taken synchronously by this thread only; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  transport::InitHttpClients();  // before any thread

  auto loaded = config::Load(argc, argv, config::ProcessEnvironment());
  if (!loaded.ok()) {
    std::fprintf(stderr, "cstatsd: invalid configuration:\n%s\n", loaded.error().c_str());
    return 2;
  }
  if (loaded->exit_now) {
    std::fputs(loaded->message.c_str(), stdout);
    return 0;
  }
  config::Config& cfg = loaded->config;
  server::SetupLogging(cfg.options.json_logs, cfg.options.verbose);
  for (const auto& w : cfg.warnings) spdlog::warn("{}", w);

  auto srv = server::Server::Create(std::move(cfg));
  if (!srv.ok()) {
    spdlog::error("cannot start: {}", srv.error());
    return 2;
  }
  Status started = (*srv)->Start();
  if (!started.ok()) {
    spdlog::error("cannot start: {}", started.message());
    return 1;
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal received, flushing and stopping signal={}", sig == SIGINT   ? "SIGINT"
                                                                   : sig == SIGHUP ? "SIGHUP"
                                                                                   : "SIGTERM");
  (*srv)->Stop();
  return 0;
}
