// HttpSender: the HTTP side of a backend (datadog, influxdb, newrelic, cloudwatch, otlp): an
// HttpClient on the backend's `[transport.<name>]`, batches sent concurrently (max_requests in
// flight; the rest wait for a slot) with the backend's retry policy, and the backend.* counting.
// Used from the backend's own thread, which blocks in SendAll until every batch is done (never
// the ingestion or flush threads: the flusher only enqueues snapshots to the BackendRunner);
// the client's event loop runs on a second thread that the BackendRunner (server/) gives it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "transport/http_client.h"

namespace cstatsd::backends {

class HttpSender {
 public:
  static Result<std::unique_ptr<HttpSender>> Create(const config::Config& config,
                                                    std::string_view backend,
                                                    std::string_view transport_name,
                                                    size_t max_requests);

  struct Batch {
    transport::HttpRequest request;
    size_t series = 0;
  };

  // Sends every batch and waits for all, at most max_requests at a time (the others wait on the
  // calling thread for a free slot, so none is lost to a full queue however many there are; a
  // batch is dropped only when its retry budget is spent or at shutdown). Counts created, sent,
  // series_sent, retried and dropped in `stats`. An error (naming how many were dropped and why)
  // when any was dropped. `accept` may reject a 2xx response (e.g. an OTLP partial success); a
  // rejected batch is dropped without retry.
  Status SendAll(std::vector<Batch> batches, const transport::RetryOptions& retry,
                 BackendStats& stats,
                 const std::function<Status(const transport::HttpResponse&)>& accept = nullptr);

  // One request (an event), waited for; retries counted in stats.retried.
  Status SendOne(transport::HttpRequest request, const transport::RetryOptions& retry,
                 BackendStats& stats);

  transport::HttpClient& client() { return *client_; }

 private:
  HttpSender(std::string backend, std::unique_ptr<transport::HttpClient> client, size_t limit)
      : backend_(std::move(backend)), client_(std::move(client)), limit_(limit) {}

  std::string backend_;
  std::unique_ptr<transport::HttpClient> client_;
  size_t limit_;  // batches handed to the client at once (max_requests)
};

// "status 500: <body>" or the transport error, for log lines.
std::string DescribeFailure(const transport::Outcome& o);

}  // namespace cstatsd::backends
