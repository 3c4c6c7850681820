#include "backends/cloudwatch/cloudwatch_backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "aws/sigv4.h"
#include "backends/cloudwatch/cloudwatch_format.h"
#include "backends/cloudwatch/cloudwatch_retry.h"
#include "config/section_reader.h"

namespace cstatsd::backends::cloudwatch {

Result<CloudwatchOptions> CloudwatchOptions::From(const config::Config& config) {
  CloudwatchOptions o;
  o.disabled = config.options.disabled_sub_metrics;
  o.env = aws::Environment(config.env.begin(), config.env.end());
  config::SectionReader r(config.GetSection("cloudwatch"));
  r.Str("namespace", o.namespace_name);
  r.Str("transport", o.transport);
  r.Str("region", o.region);
  r.Str("endpoint", o.endpoint);
  if (o.namespace_name.empty()) r.Problem("namespace", "must not be empty");
  if (Status s = r.Finish(); !s.ok()) return s;
  return o;
}

std::string CloudwatchBackend::Describe(const CloudwatchOptions& o) {
  return fmt::format("namespace={} region={} endpoint={}", o.namespace_name,
                     o.region.empty() ? "(default chain)" : o.region,
                     o.endpoint.empty() ? "(regional)" : o.endpoint);
}

// The AWS SDK's default retryer: 3 retries with backoff, of 5xx and throttling answers only.
// One request at a time (the options have no max_requests).
CloudwatchBackend::CloudwatchBackend(CloudwatchOptions options, std::unique_ptr<HttpSender> sender)
    : HttpBackend(std::move(sender), cloudwatch::RetryPolicy()),
      options_(std::move(options)),
      chain_(&client(), options_.env) {}

Status CloudwatchBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  cloudwatch::Bodies bodies = cloudwatch::FormatRequests(
      snapshot, options_.disabled, options_.namespace_name, snapshot.flush_unix_seconds());
  if (bodies.non_finite_skipped > 0) {
    spdlog::warn("cloudwatch takes no NaN or infinite values; skipped datums={}",
                 bodies.non_finite_skipped);
  }
  if (bodies.truncated_dimensions > 0) {
    spdlog::warn("too many dimensions, truncated to {} series={}", cloudwatch::kMaxDimensions,
                 bodies.truncated_dimensions);
  }
  if (bodies.requests.empty()) return {};
  // Credentials and region are resolved at send time (instance-role credentials expire).
  auto region = chain_.Region(options_.region);
  auto creds = chain_.Get();
  if (!region.ok() || !creds.ok()) {
    BackendStats::Add(stats().created, bodies.requests.size());
    BackendStats::Add(stats().dropped, bodies.requests.size());
    return Status::Error(!region.ok() ? region.error() : creds.error());
  }
  const std::string url = options_.endpoint.empty()
                              ? "https://monitoring." + *region + ".amazonaws.com/"
                              : options_.endpoint;
  std::string host, path;
  aws::SplitUrl(url, host, path);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<HttpSender::Batch> batches;
  const size_t per = cloudwatch::kDatumsPerRequest;
  for (size_t i = 0; i < bodies.requests.size(); ++i) {
    aws::SigningRequest sr;
    sr.method = "POST";
    sr.path = path;
    sr.headers = {{"Host", host},
                  {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    sr.payload = std::move(bodies.requests[i]);
    const aws::Signature sig = aws::Sign(sr, *creds, *region, "monitoring", now);
    transport::HttpRequest req;
    req.url = url;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    req.headers.emplace_back("X-Amz-Date", sig.amz_date);
    if (!creds->session_token.empty()) {
      req.headers.emplace_back("X-Amz-Security-Token", creds->session_token);
    }
    req.headers.emplace_back("Authorization", sig.authorization);
    req.body = std::move(sr.payload);
    const size_t datums = std::min(per, bodies.datums - i * per);
    batches.push_back({std::move(req), datums});
  }
  return SendBatches(std::move(batches));
}

}  // namespace cstatsd::backends::cloudwatch
