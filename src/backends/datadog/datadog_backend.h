// The datadog backend (docs/backends.md#datadog): the series API v1 (`/api/v1/series?api_key=`),
// deflate- compressed JSON in batches sent concurrently (max_requests) with retries up to
// max_request_elapsed_time; events to `/api/v1/events`, service checks to `/api/v1/check_run`. Runs
// on its backend thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "backends/common/http_backend.h"
#include "config/options.h"

namespace cstatsd::backends::datadog {

struct DatadogOptions {
  std::string api_key;  // required
  std::string api_endpoint = "https://app.datadoghq.com";
  int metrics_per_batch = 1000;
  bool compress_payload = true;
  std::chrono::nanoseconds max_request_elapsed_time = std::chrono::seconds(15);
  int max_requests = 0;  // default 2 × CPUs
  std::string user_agent = "gostatsd";
  std::string transport = "default";
  double flush_interval_seconds = 1;  // the top-level flush-interval: each series' "interval"
  config::DisabledSubMetrics disabled;

  static Result<DatadogOptions> From(const config::Config& config);
};

class DatadogBackend : public HttpBackend {
 public:
  using Options = DatadogOptions;
  static constexpr std::string_view kName = "datadog";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx) {
    return CreateHttpBackend<DatadogBackend>(ctx);
  }
  static std::string Describe(const DatadogOptions& o);

  DatadogBackend(DatadogOptions options, std::unique_ptr<HttpSender> sender);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event& event) override;
  bool CarriesServiceChecks() const override { return true; }
  Status SendServiceCheck(const ServiceCheck& check) override;
  bool TakesTimestamps() const override { return true; }

 private:
  transport::HttpRequest Request(std::string_view path, std::string body, bool compress) const;

  DatadogOptions options_;
};

}  // namespace cstatsd::backends::datadog
