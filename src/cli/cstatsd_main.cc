// main() of the cstatsd binary: load the configuration, start the server, and on SIGTERM,
// SIGINT or SIGHUP stop receiving, flush once more and exit 0 (docs/compatibility.md#decision-10;
// SIGHUP, which ends gostatsd without a flush, is a stop with a flush here: docs/compatibility.md).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "backends/null/null_backend.h"
#include "backends/prometheus/prometheus_backend.h"
#include "config/config.h"
#include "prometheus/mapping.h"
#include "server/logging.h"
#include "server/server.h"
#include "transport/http_client.h"

namespace {

// --check-config: builds what startup builds (options, filters, cloud provider, every backend
// from its section, HTTP servers) without binding a socket, starting a thread or connecting, and
// loads the mapping files of [prometheus] and [prometheus-remote-write]. Exit 0 and
// "configuration OK", or exit 1 with every problem.
int CheckConfig(cstatsd::config::Config cfg) {
  using namespace cstatsd;
  std::vector<std::string> problems;
  for (const char* section : {"prometheus", "prometheus-remote-write"}) {
    auto path = cfg.GetSection(section).GetString("mapping-config", "");
    if (!path.ok()) {
      problems.push_back(path.error());
    } else if (!path->empty()) {
      auto mapping = prometheus::MappingConfig::Load(*path);
      if (!mapping.ok() &&
          std::find(problems.begin(), problems.end(), mapping.error()) == problems.end()) {
        problems.push_back(mapping.error());  // once, when both sections name the same file
      }
    }
  }
  // The prometheus backend binds its listening socket when it is created: here its section is
  // read and checked, and a null backend stands in for it.
  backends::BackendRegistry registry = backends::BackendRegistry::WithBuiltins();
  registry.Register(
      std::string(backends::prometheus::PrometheusBackend::kName),
      [](const backends::BackendContext& ctx) -> Result<std::unique_ptr<backends::Backend>> {
        auto options = backends::prometheus::PrometheusOptions::From(ctx.config);
        if (!options.ok()) return options.status();
        return backends::null::NullBackend::Create(ctx);
      });
  auto srv = server::Server::Create(std::move(cfg), std::move(registry));
  if (!srv.ok()) {
    std::string_view rest = srv.error();
    while (!rest.empty()) {  // a backend that loads the same mapping file reports it again
      const size_t nl = rest.find('\n');
      const std::string line(rest.substr(0, nl));
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      bool seen = false;
      for (const auto& p : problems) seen = seen || line.find(p) != std::string::npos;
      if (!seen) problems.push_back(line);
    }
  }
  if (problems.empty()) {
    std::puts("configuration OK");
    return 0;
  }
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  std::fprintf(stderr, "cstatsd: invalid configuration:\n%s", all.c_str());
  return 1;
}

bool HasCheckConfigFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") break;
    if (a == "--check-config" || a == "--check-config=true") return true;
  }
  return false;
}

}  // namespace

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
    return HasCheckConfigFlag(argc, argv) ? 1 : 2;
  }
  if (loaded->exit_now) {
    std::fputs(loaded->message.c_str(), stdout);
    return 0;
  }
  config::Config& cfg = loaded->config;
  server::SetupLogging(cfg.options.json_logs, cfg.options.verbose);
  for (const auto& w : cfg.warnings) spdlog::warn("{}", w);
  if (loaded->check_only) return CheckConfig(std::move(cfg));

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
