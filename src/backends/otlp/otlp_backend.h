// The otlp backend (docs/backends.md#otlp): ExportMetricsServiceRequest protobufs POSTed to
// metrics_endpoint (gzip optional) in batches sent concurrently, retried up to max_retries
// within max_request_elapsed_time; a partial success (rejected data points) is a drop without
// retry. Events become log records POSTed to logs_endpoint, not retried. Runs on its backend
// thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/common/http_backend.h"
#include "backends/otlp/otlp_format.h"

namespace cstatsd::backends::otlp {

struct OtlpOptions {
  std::string metrics_endpoint;  // required
  std::string logs_endpoint;     // required
  int max_requests = 0;          // default 2 × CPUs
  int max_retries = 3;
  std::chrono::nanoseconds max_request_elapsed_time = std::chrono::seconds(15);
  bool compress_payload = true;
  int metrics_per_batch = 1000;
  std::string transport = "default";
  std::string user_agent = "gostatsd";
  otlp::FormatOptions format;

  static Result<OtlpOptions> From(const config::Config& config);
};

class OtlpBackend : public HttpBackend {
 public:
  using Options = OtlpOptions;
  static constexpr std::string_view kName = "otlp";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx) {
    return CreateHttpBackend<OtlpBackend>(ctx);
  }
  static std::string Describe(const Options& o);

  OtlpBackend(OtlpOptions options, std::unique_ptr<HttpSender> sender);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event& event) override;
  // AsHistogram takes count, sum, min and max from the raw timer values, as gostatsd does.
  bool WantsRawValues() const override { return options_.format.as_histogram; }
  bool TakesTimestamps() const override { return true; }

 private:
  transport::HttpRequest Request(const std::string& url, std::string body) const;

  OtlpOptions options_;
};

}  // namespace cstatsd::backends::otlp
