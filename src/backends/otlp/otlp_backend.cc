#include "backends/otlp/otlp_backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/section_reader.h"
#include "core/version.h"
#include "wire/compression.h"

namespace cstatsd::backends::otlp {

Result<OtlpOptions> OtlpOptions::From(const config::Config& config) {
  OtlpOptions o;
  o.max_requests = DefaultMaxRequests(2);
  o.format.scope_version = std::string(Version());
  config::SectionReader r(config.GetSection("otlp"));
  r.Str("metrics_endpoint", o.metrics_endpoint);
  r.Str("logs_endpoint", o.logs_endpoint);
  r.Integer("max_requests", o.max_requests);
  r.Integer("max_retries", o.max_retries);
  r.Dur("max_request_elapsed_time", o.max_request_elapsed_time);
  r.Bool("compress_payload", o.compress_payload);
  r.Integer("metrics_per_batch", o.metrics_per_batch);
  r.List("resource_keys", o.format.resource_keys);
  std::string conversion = "AsGauge";
  r.Str("conversion", conversion);
  r.Str("transport", o.transport);
  r.Str("user_agent", o.user_agent);
  std::string unused;
  r.Str("event_title_attribute_key", unused);       // declared by gostatsd, unused
  r.Str("event_properties_attribute_key", unused);  // declared by gostatsd, unused
  if (conversion == "AsHistogram") {
    o.format.as_histogram = true;
  } else if (conversion != "AsGauge") {
    r.Problem("conversion", "must be AsGauge or AsHistogram, got \"" + conversion + "\"");
  }
  // [otlp.disabled_timer_aggregations]
  config::SectionReader d(r.section().Sub("disabled_timer_aggregations"));
  auto& x = o.format.disabled;
  const std::pair<const char*, bool*> keys[] = {{"lower", &x.lower},
                                                {"lowerpct", &x.lower_pct},
                                                {"upper", &x.upper},
                                                {"upperpct", &x.upper_pct},
                                                {"count", &x.count},
                                                {"countpct", &x.count_pct},
                                                {"countpersecond", &x.count_per_second},
                                                {"mean", &x.mean},
                                                {"meanpct", &x.mean_pct},
                                                {"median", &x.median},
                                                {"stddev", &x.stddev},
                                                {"sum", &x.sum},
                                                {"sumpct", &x.sum_pct},
                                                {"sumsquares", &x.sum_squares},
                                                {"sumsquarespct", &x.sum_squares_pct}};
  for (const auto& [key, field] : keys) d.Bool(key, *field);
  if (o.metrics_endpoint.empty()) r.Problem("metrics_endpoint", "is required");
  if (o.logs_endpoint.empty()) r.Problem("logs_endpoint", "is required");
  if (o.max_requests <= 0) r.Problem("max_requests", "must be positive");
  if (o.max_retries < 0) r.Problem("max_retries", "must not be negative");
  if (o.metrics_per_batch <= 0) r.Problem("metrics_per_batch", "must be positive");
  if (o.max_request_elapsed_time < std::chrono::nanoseconds::zero()) {
    r.Problem("max_request_elapsed_time", "must not be negative (0 = until retries run out)");
  }
  Status s1 = r.Finish(), s2 = d.Finish();
  if (!s1.ok() || !s2.ok()) {
    return Status::Error(s1.ok() ? s2.message()
                                 : (s2.ok() ? s1.message() : s1.message() + "\n" + s2.message()));
  }
  return o;
}

std::string OtlpBackend::Describe(const OtlpOptions& o) {
  return fmt::format("metrics_endpoint={} logs_endpoint={} conversion={} metrics_per_batch={}",
                     o.metrics_endpoint, o.logs_endpoint,
                     o.format.as_histogram ? "AsHistogram" : "AsGauge", o.metrics_per_batch);
}

// max_request_elapsed_time 0 = only the retry count limits (backoff's "no elapsed limit").
OtlpBackend::OtlpBackend(OtlpOptions options, std::unique_ptr<HttpSender> sender)
    : HttpBackend(std::move(sender), RetryWithin(options.max_request_elapsed_time,
                                                 /*honour_retry_after=*/true, options.max_retries)),
      options_(std::move(options)) {}

transport::HttpRequest OtlpBackend::Request(const std::string& url, std::string body) const {
  transport::HttpRequest req;
  req.url = url;
  req.headers.emplace_back("Content-Type", "application/x-protobuf");
  req.headers.emplace_back("User-Agent", options_.user_agent);
  if (options_.compress_payload) {
    SetCompressedBody(req, std::move(body), wire::Compression::kGzip, 6);
  } else {
    req.body = std::move(body);
  }
  return req;
}

Status OtlpBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  auto requests = otlp::FormatMetrics(snapshot, options_.format,
                                      static_cast<size_t>(options_.metrics_per_batch));
  std::vector<HttpSender::Batch> batches;
  for (const auto& r : requests) {
    size_t metrics = 0;
    for (const auto& rm : r.resource_metrics()) {
      for (const auto& sm : rm.scope_metrics()) metrics += static_cast<size_t>(sm.metrics_size());
    }
    batches.push_back({Request(options_.metrics_endpoint, r.SerializeAsString()), metrics});
  }
  if (batches.empty()) return {};
  // A 2xx with a partial success is data the collector rejected: dropped, not retried.
  auto accept = [](const transport::HttpResponse& resp) -> Status {
    ::otlp::ExportMetricsServiceResponse parsed;
    if (resp.body.empty() || !parsed.ParseFromString(resp.body)) return {};
    const auto& p = parsed.partial_success();
    if (p.rejected_data_points() > 0 || !p.error_message().empty()) {
      return Status::Error("the collector rejected " + std::to_string(p.rejected_data_points()) +
                           " data points: " + p.error_message());
    }
    return {};
  };
  return SendBatches(std::move(batches), accept);
}

Status OtlpBackend::SendEvent(const Event& event) {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  transport::RetryOptions once;
  once.max_elapsed_time = std::chrono::nanoseconds(-1);  // events are not retried
  return SendRequest(Request(options_.logs_endpoint,
                             otlp::FormatEvent(event, options_.format, now).SerializeAsString()),
                     once);
}

}  // namespace cstatsd::backends::otlp
