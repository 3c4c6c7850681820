// HttpSender: the HTTP side of a backend (datadog, influxdb, newrelic, cloudwatch, otlp): an
// HttpClient on the backend's `[transport.<name>]`, batches sent concurrently (the client keeps
// max_requests in flight) with the backend's retry policy, and the backend.* counting. Used from
// the backend's own thread, which blocks in SendAll until every batch is done; the client's
// event loop runs on a second thread that the BackendRunner (server/) gives it.
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

  // Sends every batch and waits for all. Counts created, sent, series_sent, retried and
  // dropped in `stats`. An error (naming how many were dropped and why) when any was dropped.
  // `accept` may reject a 2xx response (e.g. an OTLP partial success); a rejected batch is
  // dropped without retry.
  Status SendAll(std::vector<Batch> batches, const transport::RetryOptions& retry,
                 BackendStats& stats,
                 const std::function<Status(const transport::HttpResponse&)>& accept = nullptr);

  // One request (an event), waited for; retries counted in stats.retried.
  Status SendOne(transport::HttpRequest request, const transport::RetryOptions& retry,
                 BackendStats& stats);

  transport::HttpClient& client() { return *client_; }

 private:
  HttpSender(std::string backend, std::unique_ptr<transport::HttpClient> client)
      : backend_(std::move(backend)), client_(std::move(client)) {}

  std::string backend_;
  std::unique_ptr<transport::HttpClient> client_;
};

// "status 500: <body>" or the transport error, for log lines.
std::string DescribeFailure(const transport::Outcome& o);

}  // namespace cstatsd::backends
