// The otlp backend (spec §6.9): ExportMetricsServiceRequest protobufs POSTed to
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
#include "backends/http/http_sender.h"
#include "backends/otlp/otlp_format.h"

namespace cstatsd::backends {

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
  otlp_format::FormatOptions format;

  static Result<OtlpOptions> From(const config::Config& config);
};

class OtlpBackend : public Backend {
 public:
  static constexpr std::string_view kName = "otlp";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx);

  OtlpBackend(OtlpOptions options, std::unique_ptr<HttpSender> sender);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event& event) override;
  bool CountsOwnBatches() const override { return true; }
  // AsHistogram takes count, sum, min and max from the raw timer values, as gostatsd does.
  bool WantsRawValues() const override { return options_.format.as_histogram; }
  transport::HttpClient* http_client() override { return &sender_->client(); }

 private:
  transport::HttpRequest Request(const std::string& url, std::string body) const;

  OtlpOptions options_;
  std::unique_ptr<HttpSender> sender_;
  transport::RetryOptions retry_;
};

}  // namespace cstatsd::backends
