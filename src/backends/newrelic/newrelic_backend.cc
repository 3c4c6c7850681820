#include "backends/newrelic/newrelic_backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/section_reader.h"
#include "wire/compression.h"

namespace cstatsd::backends::newrelic {

Result<NewrelicOptions> NewrelicOptions::From(const config::Config& config,
                                              std::vector<std::string>* warnings) {
  NewrelicOptions o;
  auto& f = o.format;
  f.disabled = config.options.disabled_sub_metrics;
  f.flush_interval_seconds = FlushIntervalSeconds(config);
  o.max_requests = DefaultMaxRequests(2);
  config::SectionReader r(config.GetSection("newrelic"));
  r.Str("address", o.address);
  r.Str("address-metrics", o.address_metrics);
  r.Str("api-key", o.api_key);
  r.Str("event-type", f.event_type);
  std::string flush_type;
  r.Str("flush-type", flush_type);
  r.Str("tag-prefix", f.tag_prefix);
  r.Str("metric-name", f.metric_name);
  r.Str("metric-type", f.metric_type);
  r.Str("per-second", f.per_second);
  r.Str("value", f.value);
  r.Str("timer-min", f.timer_min);
  r.Str("timer-max", f.timer_max);
  r.Str("timer-count", f.timer_count);
  r.Str("timer-mean", f.timer_mean);
  r.Str("timer-median", f.timer_median);
  r.Str("timer-stddev", f.timer_stddev);
  r.Str("timer-sum", f.timer_sum);
  r.Str("timer-sumsquare", f.timer_sumsquare);
  r.Integer("metrics-per-batch", o.metrics_per_batch);
  r.RetryBudget("max-request-elapsed-time", o.max_request_elapsed_time);
  r.Integer("max-requests", o.max_requests);
  r.Str("user-agent", o.user_agent);
  r.Str("transport", o.transport);
  // flush-type: explicit, else metrics / insights / infra from the addresses
  // (docs/backends.md#newrelic).
  if (flush_type.empty()) {
    if (o.address_metrics.find("metric-api.newrelic.com") != std::string::npos) {
      flush_type = "metrics";
    } else if (o.address.find("insights-collector.newrelic.com") != std::string::npos) {
      flush_type = "insights";
    } else {
      flush_type = "infra";
    }
  }
  if (flush_type == "infra") {
    f.flush_type = newrelic::FlushType::kInfra;
  } else if (flush_type == "insights") {
    f.flush_type = newrelic::FlushType::kInsights;
  } else if (flush_type == "metrics") {
    f.flush_type = newrelic::FlushType::kMetrics;
  } else {
    r.Problem("flush-type", "must be infra, insights or metrics, got \"" + flush_type + "\"");
  }
  const bool keyed = f.flush_type != newrelic::FlushType::kInfra;
  if (keyed && o.api_key.empty()) {
    r.Problem("api-key", "is required to flush to insights and metrics");
  }
  if (!keyed && !o.api_key.empty() && warnings != nullptr) {
    warnings->push_back("newrelic.api-key is not needed with flush-type infra");
  }
  if (f.flush_type == newrelic::FlushType::kMetrics && o.address_metrics.empty()) {
    r.Problem("address-metrics", "is required with flush-type metrics");
  }
  if (o.metrics_per_batch <= 0) r.Problem("metrics-per-batch", "must be positive");
  if (o.max_requests <= 0) r.Problem("max-requests", "must be positive");
  if (Status s = r.Finish(); !s.ok()) return s;
  return o;
}

std::string NewrelicBackend::Describe(const NewrelicOptions& o) {
  return fmt::format("address={} address_metrics={} max_requests={} metrics_per_batch={}",
                     o.address, o.address_metrics, o.max_requests, o.metrics_per_batch);
}

// A 429's Retry-After lengthens the wait.
NewrelicBackend::NewrelicBackend(NewrelicOptions options, std::unique_ptr<HttpSender> sender)
    : HttpBackend(std::move(sender),
                  RetryWithin(options.max_request_elapsed_time, /*honour_retry_after=*/true)),
      options_(std::move(options)) {}

transport::HttpRequest NewrelicBackend::Request(const std::string& url, std::string body) const {
  transport::HttpRequest req;
  req.url = url;
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("User-Agent", options_.user_agent);
  // The Event API and the Metric API take gzip with the insert key (as gostatsd, both).
  if (options_.format.flush_type != newrelic::FlushType::kInfra && !options_.api_key.empty()) {
    req.headers.emplace_back("X-Insert-Key", options_.api_key);
    SetCompressedBody(req, std::move(body), wire::Compression::kGzip, 6);
  } else {
    req.body = std::move(body);
  }
  return req;
}

Status NewrelicBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  const std::string& url = options_.format.flush_type == newrelic::FlushType::kMetrics
                               ? options_.address_metrics
                               : options_.address;
  std::vector<HttpSender::Batch> batches;
  newrelic::FormatMetrics(snapshot, options_.format, snapshot.flush_unix_seconds(),
                          static_cast<size_t>(options_.metrics_per_batch),
                          [&](std::string&& body, size_t n) {
                            batches.push_back({Request(url, std::move(body)), n});
                          });
  return SendBatches(std::move(batches));
}

Status NewrelicBackend::SendEvent(const Event& event) {
  if (options_.address.empty()) return {};  // events go to `address` only
  return SendRequest(Request(options_.address, newrelic::FormatEvent(event, options_.format)));
}

}  // namespace cstatsd::backends::newrelic
