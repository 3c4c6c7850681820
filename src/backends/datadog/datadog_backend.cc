#include "backends/datadog/datadog_backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "backends/datadog/datadog_format.h"
#include "config/section_reader.h"
#include "transport/url.h"
#include "wire/compression.h"

namespace cstatsd::backends::datadog {

Result<DatadogOptions> DatadogOptions::From(const config::Config& config) {
  DatadogOptions o;
  o.disabled = config.options.disabled_sub_metrics;
  o.flush_interval_seconds = FlushIntervalSeconds(config);
  o.max_requests = DefaultMaxRequests(2);
  config::SectionReader r(config.GetSection("datadog"));
  r.Str("api_key", o.api_key);
  r.Str("api_endpoint", o.api_endpoint);
  r.Integer("metrics_per_batch", o.metrics_per_batch);
  r.Bool("compress_payload", o.compress_payload);
  r.RetryBudget("max_request_elapsed_time", o.max_request_elapsed_time);
  r.Integer("max_requests", o.max_requests);
  r.Str("user-agent", o.user_agent);
  r.Str("transport", o.transport);
  if (o.api_key.empty()) r.Problem("api_key", "is required");
  if (o.api_endpoint.empty()) r.Problem("api_endpoint", "is required");
  if (o.metrics_per_batch <= 0) r.Problem("metrics_per_batch", "must be positive");
  if (o.max_requests <= 0) r.Problem("max_requests", "must be positive");
  if (Status s = r.Finish(); !s.ok()) return s;
  while (!o.api_endpoint.empty() && o.api_endpoint.back() == '/') o.api_endpoint.pop_back();
  return o;
}

std::string DatadogBackend::Describe(const DatadogOptions& o) {
  return fmt::format("api_endpoint={} metrics_per_batch={} max_requests={} compress_payload={}",
                     o.api_endpoint, o.metrics_per_batch, o.max_requests, o.compress_payload);
}

DatadogBackend::DatadogBackend(DatadogOptions options, std::unique_ptr<HttpSender> sender)
    : HttpBackend(std::move(sender), RetryWithin(options.max_request_elapsed_time)),
      options_(std::move(options)) {}

transport::HttpRequest DatadogBackend::Request(std::string_view path, std::string body,
                                               bool compress) const {
  transport::HttpRequest req;
  req.url = options_.api_endpoint + std::string(path) +
            "?api_key=" + transport::QueryEscape(options_.api_key);
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("DD-Dogstatsd-Version", "5.6.3");
  req.headers.emplace_back("User-Agent", options_.user_agent);
  if (compress) {
    SetCompressedBody(req, std::move(body), wire::Compression::kZlib, 9);
  } else {
    req.body = std::move(body);
  }
  return req;
}

Status DatadogBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  std::vector<HttpSender::Batch> batches;
  datadog::FormatSeries(
      snapshot, options_.disabled, snapshot.flush_unix_seconds(), options_.flush_interval_seconds,
      static_cast<size_t>(options_.metrics_per_batch), [&](std::string&& body, size_t n) {
        batches.push_back(
            {Request("/api/v1/series", std::move(body), options_.compress_payload), n});
      });
  return SendBatches(std::move(batches));
}

Status DatadogBackend::SendEvent(const Event& event) {
  // Events are never compressed (as gostatsd).
  return SendRequest(Request("/api/v1/events", datadog::FormatEvent(event), false));
}

Status DatadogBackend::SendServiceCheck(const ServiceCheck& check) {
  // As an event: one request, uncompressed, with the backend's retry policy.
  return SendRequest(Request("/api/v1/check_run", datadog::FormatServiceCheck(check), false));
}

}  // namespace cstatsd::backends::datadog
