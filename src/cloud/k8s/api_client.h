// The k8s provider's HTTP client for the API server (on transport::BlockingHttpClient: one request
// at a time, the connection kept between requests): GETs for the pod lists and a line-streaming
// GET for watches, every request behind a client-side token bucket (kube-api-qps, kube-api-burst),
// every wait and transfer cut short by the StopSignal. Owned by the provider; used by one thread at
// a time (the main thread in Start(), then the provider's thread in Run()). StopSignal::Stop() may
// be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "cloud/k8s/kubeconfig.h"
#include "config/options.h"
#include "stats/token_bucket.h"
#include "transport/blocking_http_client.h"

namespace cstatsd::cloud::k8s {

using config::Duration;

// A flag set once by Stop(), with waits that it interrupts. Thread-safe.
class StopSignal {
 public:
  void Stop();
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }
  // Waits `d` or until stopped; false if stopped.
  bool WaitFor(Duration d);

 private:
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct ApiResponse {
  long status = 0;       // HTTP status; 0 = no response
  std::string error;     // transport error when status == 0 (or "stopped")
  std::string body;      // the body (Get), or the start of an error body (Stream)
  bool stopped = false;  // cut short by Stop()
  bool ok() const { return status >= 200 && status < 300 && error.empty(); }
  // The transport error (also one after a 2xx status), else "HTTP 403: <the start of the
  // body>", for messages.
  std::string Describe() const;
};

class ApiClient {
 public:
  ApiClient(Connection connection, std::string user_agent, double qps, double burst,
            StopSignal* stop);

  const std::string& server() const { return connection_.server; }
  const Connection& connection() const { return connection_; }

  // GET server + path_and_query; the whole body. Bounded by `timeout`, or Stop().
  ApiResponse Get(const std::string& path_and_query, Duration timeout);

  // GET a stream of lines: on_line for each complete line of a 2xx response (returning false
  // ends the stream), tick about every 100 ms and after each batch of data. Returns when the
  // server ends the stream, on an error (a line longer than max_line bytes is one), after
  // `timeout`, or soon after Stop().
  ApiResponse Stream(const std::string& path_and_query, Duration timeout, size_t max_line,
                     const std::function<bool(std::string_view)>& on_line,
                     const std::function<void()>& tick);

 private:
  ApiResponse Perform(const std::string& path_and_query, Duration timeout, bool stream,
                      size_t max_line, const std::function<bool(std::string_view)>* on_line,
                      const std::function<void()>* tick);

  Connection connection_;
  std::string user_agent_;
  stats::TokenBucket bucket_;
  StopSignal* stop_;
  transport::BlockingHttpClient http_;
};

}  // namespace cstatsd::cloud::k8s
