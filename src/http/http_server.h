// HttpServer: one [http.<name>] server (docs/http.md) on libmicrohttpd — health checks, /expvar,
// what a C++ process can offer of /debug/pprof, and ingestion. Built and bound on the main
// thread; Run() is the body of one thread that server/ creates: an epoll event loop that serves
// every connection (reading requests, answering everything but ingestion itself) and enforces
// the connection limits and deadlines. Ingestion bodies, once read, are decompressed, decoded
// and ingested by a small pool of threads of the server's own while their connection is
// suspended, so the loop keeps answering /healthcheck. Stop() may be called from any thread.
// ADR docs/adr/0003-http-server-on-libmicrohttpd.md records the choice.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/connection_limits.h"
#include "http/health_checks.h"
#include "http/http_options.h"
#include "http/ingestion.h"
#include "http/routes.h"
#include "stats/rate_limiter.h"

namespace cstatsd::http {

// What the servers of one cstatsd share. Shared pointers: an HttpServer that did not stop in
// time is abandoned with its thread, and must not outlive what it refers to.
struct HttpServerDeps {
  std::shared_ptr<IngestTarget> ingest;  // required with enable-ingestion
  std::shared_ptr<HealthChecks> health;  // required with enable-healthcheck
  std::function<nlohmann::json()> vars;  // /expvar: the server's counters and settings
  std::function<std::string()> status;   // /status.json (docs/status-page.md)
};

// Counted by the event loop; read by /expvar and the flusher (any thread).
struct HttpServerCounters {
  std::array<std::atomic<uint64_t>, kRefusalCount> refused{};
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_peak{0};
  std::atomic<uint64_t> connections_accepted{0};
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpServerDeps deps);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket (connections wait in the backlog until Run).
  Status Bind();
  // Thread body: serves until Stop(), then waits for the requests in progress.
  void Run();
  // Stops accepting and ends the server; Run() returns when the requests in progress are done.
  void Stop();
  // Waits until Run() has returned; false if it did not within `timeout`.
  bool WaitStopped(std::chrono::milliseconds timeout);

  int port() const { return port_; }
  const HttpServerOptions& options() const { return options_; }
  const IngestCounters& counters() const { return counters_; }
  const HttpServerCounters& server_counters() const { return server_counters_; }
  // The refusals counted since the previous call, each with its reason (http.refused). The
  // flusher's thread only.
  void TakeRefusals(const std::function<void(std::string_view reason, uint64_t n)>& f);

  struct Loop;  // the event loop's state (libmicrohttpd's callbacks reach it)

 private:
  friend struct Loop;
  HttpServerOptions options_;
  HttpServerDeps deps_;
  IngestCounters counters_;
  HttpServerCounters server_counters_;
  std::array<uint64_t, kRefusalCount> refusals_reported_{};  // the flusher's
  std::unique_ptr<Loop> loop_;
  int port_ = 0;
  int listen_fd_ = -1;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  bool finished_ = false;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace cstatsd::http
