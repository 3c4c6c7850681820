// The graphite backend (docs/backends.md): Carbon's plaintext protocol over TCP, one
// connection per flush ended by a half-close whose answer tells whether Carbon read it all
// (docs/backends.md), in the `tags`, `basic` or `legacy` naming mode. Runs on its backend
// thread; Format() is pure and used by the golden tests.
#pragma once

#include <chrono>
#include <string>

#include "backends/backend.h"
#include "backends/common/tcp_client.h"
#include "config/options.h"
#include "stats/rate_limiter.h"

namespace cstatsd::backends::graphite {

struct GraphiteOptions {
  std::string address = "localhost:2003";
  std::chrono::nanoseconds dial_timeout = std::chrono::seconds(5);
  std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
  std::string mode = "tags";  // tags | basic | legacy
  std::string global_prefix = "stats";
  std::string global_suffix;
  std::string prefix_counter = "counters";
  std::string prefix_timer = "timers";
  std::string prefix_gauge = "gauges";
  std::string prefix_set = "sets";
  config::DisabledSubMetrics disabled;

  // Reads [graphite]; errors name "graphite.<key>".
  static Result<GraphiteOptions> From(const config::Config& config);
};

class GraphiteBackend : public Backend {
 public:
  static constexpr std::string_view kName = "graphite";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx);

  explicit GraphiteBackend(GraphiteOptions options);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event&) override { return {}; }  // Carbon has no events
  void Interrupt() override { client_.Interrupt(); }
  bool TakesTimestamps() const override { return true; }

  // The payload for a snapshot (no I/O).
  static void Format(const snapshot::FlushSnapshot& s, const GraphiteOptions& o, std::string& out);

 private:
  GraphiteOptions options_;
  TcpClient client_;
  // One attempt: dial, write the payload, half-close and wait for the peer's answer.
  Status SendOnce(bool wait_for_backoff);

  std::string payload_;
  stats::RateLimiter retry_log_{6, 1};      // at most ~6 retry messages a minute
  stats::RateLimiter no_answer_log_{1, 1};  // receivers that never close: one line a minute
};

// Graphite's name normalisation: whitespace runs → '_', '/' → '-', then every byte outside
// [A-Za-z0-9_.-] deleted.
std::string GraphiteNormalise(std::string_view s);

}  // namespace cstatsd::backends::graphite
