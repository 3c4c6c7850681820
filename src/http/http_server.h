// HttpServer: one [http.<name>] server (spec §4.4) on cpp-httplib — health checks, /expvar,
// what a C++ process can offer of /debug/pprof, and ingestion (§5). Built and bound on the
// main thread; Run() is the body of one thread that server/ creates, and serves each connection
// on a thread of its own (started on demand, up to max-connections); Stop() may be called from
// any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"
#include "http/health_checks.h"
#include "http/http_options.h"
#include "http/ingestion.h"
#include "http/routes.h"
#include "stats/rate_limiter.h"

namespace httplib {
class Server;
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace cstatsd::http {

// What the servers of one cstatsd share. Shared pointers: an HttpServer that did not stop in
// time is abandoned with its thread, and must not outlive what it refers to.
struct HttpServerDeps {
  std::shared_ptr<IngestTarget> ingest;  // required with enable-ingestion
  std::shared_ptr<HealthChecks> health;  // required with enable-healthcheck
  std::function<nlohmann::json()> vars;  // /expvar: the server's counters and settings
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
  // Request threads started so far (connections served at once, at the peak). Any thread.
  size_t request_threads() const { return request_threads_.load(std::memory_order_relaxed); }

 private:
  void Serve(const httplib::Request& req, httplib::Response& res);
  void ServeWithBody(const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader);
  void Ingest(IngestKind kind, const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader);
  void Prof(Route route, httplib::Response& res);

  HttpServerOptions options_;
  HttpServerDeps deps_;
  IngestCounters counters_;
  std::atomic<size_t> request_threads_{0};
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  int listen_fd_ = -1;  // httplib's listening socket, seen by its socket-options callback

  std::mutex log_mu_;
  stats::RateLimiter failure_log_{60, 10};  // failed requests logged, per minute; guarded

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  bool finished_ = false;
  bool stop_requested_ = false;
};

}  // namespace cstatsd::http
