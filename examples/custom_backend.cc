// A statsd server with a backend of its own, built on the cstatsd library.
//
//   custom_backend --metrics-addr 127.0.0.1:8125 --flush-interval 1s
//
// accepts every cstatsd flag and config file, registers a backend named "shout" next to the
// built-in ones, and uses it unless --backends says otherwise. "shout" prints each counter and
// gauge as `SHOUT <name> <value>`.
#include <signal.h>

#include <cstdio>
#include <string>

#include "backends/backend.h"
#include "config/config.h"
#include "server/logging.h"
#include "server/server.h"

namespace {

class ShoutBackend : public cstatsd::backends::Backend {
 public:
  std::string_view Name() const override { return "shout"; }

  cstatsd::Status SendMetrics(const cstatsd::aggregate::FlushSnapshot& snapshot) override {
    for (const auto& c : snapshot.counters) {
      std::printf("SHOUT %.*s %lld\n", static_cast<int>(c.key->name().size()), c.key->name().data(),
                  static_cast<long long>(c.value));
    }
    for (const auto& g : snapshot.gauges) {
      std::printf("SHOUT %.*s %g\n", static_cast<int>(g.key->name().size()), g.key->name().data(),
                  g.value);
    }
    std::fflush(stdout);
    return {};
  }

  cstatsd::Status SendEvent(const cstatsd::Event& event) override {
    std::printf("SHOUT event %s\n", event.title.c_str());
    std::fflush(stdout);
    return {};
  }
};

}  // namespace

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Default to our backend; a --backends flag still wins.
  cstatsd::config::Environment env = cstatsd::config::ProcessEnvironment();
  if (env.find("GSD_BACKENDS") == env.end()) env["GSD_BACKENDS"] = "shout";
  auto loaded = cstatsd::config::Load(argc, argv, env);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error().c_str());
    return 2;
  }
  if (loaded->exit_now) {
    std::fputs(loaded->message.c_str(), stdout);
    return 0;
  }
  cstatsd::server::SetupLogging(false, loaded->config.options.verbose);

  auto registry = cstatsd::backends::BackendRegistry::WithBuiltins();
  registry.Register("shout", [](const cstatsd::backends::BackendContext&) {
    return cstatsd::Result<std::unique_ptr<cstatsd::backends::Backend>>(
        std::make_unique<ShoutBackend>());
  });

  auto server = cstatsd::server::Server::Create(std::move(loaded->config), std::move(registry));
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.error().c_str());
    return 2;
  }
  if (auto s = (*server)->Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->Stop();
  return 0;
}
