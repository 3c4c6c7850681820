// HttpClient: the asynchronous face of the project's one HTTP client, for the forwarder and the
// HTTP backends (docs/forwarder.md#transport), on libcurl; BlockingHttpClient
// (transport/blocking_http_client.h) is the blocking face, with the same libcurl setup
// (transport/curl_easy.h). Requests are queued from any thread without blocking
// (a short mutex) and run by one event loop, `Run()`, on a thread the owner creates (server/ makes
// threads): a curl multi handle drives up to `max_in_flight` transfers at once and waits out the
// retry backoffs as timers. Why a multi handle on one thread rather than a pool of threads with
// easy handles: the forwarder allows 1000 concurrent requests by default (max-requests), most of
// them idle in a backoff wait when the far end is down; one thread with timers holds them all at no
// cost, and the multi handle's connection cache gives keep-alive reuse across requests for free.
// Completion callbacks run on the loop thread (or, for a request dropped from a full queue, on
// the caller of Send): they must be short and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "transport/retry.h"
#include "transport/transport_options.h"

namespace cstatsd::transport {

struct HttpRequest {
  std::string method = "POST";  // POST, PUT or GET
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value (sent as given)
  std::string body;
};

// One attempt's result.
struct HttpResponse {
  long status = 0;          // HTTP status; 0 = no response (see error)
  std::string error;        // transport error (connect, timeout, TLS, ...) when status == 0
  std::string body;         // the first kMaxBodyKept bytes of the response body
  std::string retry_after;  // the Retry-After header, if any
  Duration latency{0};      // of this attempt

  static constexpr size_t kMaxBodyKept = 4096;
};

enum class Completion {
  kSent,     // a 2xx response
  kGaveUp,   // the retry policy gave up (budget spent, or a non-retryable failure fast-failed)
  kDropped,  // pushed out of a full queue before it was tried
  kAborted,  // still pending when the client was shut down
};
std::string_view CompletionName(Completion c);

// The no-proxy list for libcurl: NO_PROXY / no_proxy from the environment, plus loopback (Go's
// http.ProxyFromEnvironment never proxies loopback addresses; libcurl would). Any thread.
std::string NoProxyList();

// libcurl's process-wide setup, once per process. Not thread-safe in libcurl itself, so a program
// calls it on its main thread before it starts any other thread (each client calls it too, which
// is then a no-op).
void InitHttpClients();

struct Outcome {
  Completion completion = Completion::kSent;
  HttpResponse last;  // the last attempt (empty if never tried)
  int attempts = 0;
};

struct RequestCallbacks {
  // Called once when the request is finished, whatever the outcome.
  std::function<void(const Outcome&)> done;
  // Called after a failed attempt that will be retried after `wait` (count retries, log).
  std::function<void(const HttpResponse&, Duration wait)> retrying;
};

struct ClientOptions {
  size_t max_in_flight = 1000;  // concurrent requests, a backoff wait included (max-requests)
  size_t max_queued = 1000;     // requests waiting for a slot; beyond, the oldest is dropped
};

class HttpClient {
 public:
  static Result<std::unique_ptr<HttpClient>> Create(const TransportOptions& transport,
                                                    ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Queues a request; never waits for the network. Any thread.
  void Send(HttpRequest request, const RetryOptions& retry, RequestCallbacks callbacks);

  // Sends and waits for the outcome (for a backend on its own thread). Needs Run() running.
  Outcome SendAndWait(HttpRequest request, const RetryOptions& retry,
                      std::function<void(const HttpResponse&, Duration)> retrying = nullptr);

  // The event loop; returns after Shutdown(). Call from exactly one thread.
  void Run();
  // Waits until nothing is queued or in flight, or until `deadline`; true if idle.
  bool Drain(SteadyClock::time_point deadline);
  // Stops the loop; whatever is still queued or in flight completes as kAborted. Any thread.
  void Shutdown();

  size_t outstanding() const;  // queued + in flight
  const TransportOptions& transport() const { return transport_; }

 private:
  struct Job;
  HttpClient(TransportOptions transport, ClientOptions options);

  void StartAttempt(Job& job);
  void FinishAttempt(Job& job, int curl_code);
  void Complete(std::unique_ptr<Job> job, Completion completion);

  TransportOptions transport_;
  ClientOptions options_;
  std::string no_proxy_;   // NO_PROXY + loopback (docs/compatibility.md#decision-11)
  void* multi_ = nullptr;  // CURLM*

  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::deque<std::unique_ptr<Job>> queued_;  // guarded by mu_
  size_t outstanding_ = 0;                   // guarded by mu_: queued + active
  bool shutdown_ = false;                    // guarded by mu_

  // Loop thread only.
  std::map<Job*, std::unique_ptr<Job>> active_;
  std::multimap<SteadyClock::time_point, Job*> waiting_;  // backoff timers
};

}  // namespace cstatsd::transport
