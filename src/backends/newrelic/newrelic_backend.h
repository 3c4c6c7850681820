// The newrelic backend (docs/backends.md#newrelic): Infrastructure (`infra`), Event API
// (`insights`) or Metric API (`metrics`) payloads in batches sent concurrently with retries (a
// 429's Retry-After honoured); insights and metrics gzip-compressed with X-Insert-Key; events to
// `address`. Runs on its backend thread. Enabling it changes three global defaults
// (config/config.cc).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "backends/common/http_backend.h"
#include "backends/newrelic/newrelic_format.h"

namespace cstatsd::backends::newrelic {

struct NewrelicOptions {
  std::string address = "http://localhost:8001/v1/data";
  std::string address_metrics;
  std::string api_key;
  int metrics_per_batch = 1000;
  std::chrono::nanoseconds max_request_elapsed_time = std::chrono::seconds(15);
  int max_requests = 0;  // default 2 × CPUs
  std::string user_agent = "gostatsd";
  std::string transport = "default";
  newrelic::FormatOptions format;

  static Result<NewrelicOptions> From(const config::Config& config,
                                      std::vector<std::string>* warnings);
};

class NewrelicBackend : public HttpBackend {
 public:
  using Options = NewrelicOptions;
  static constexpr std::string_view kName = "newrelic";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx) {
    return CreateHttpBackend<NewrelicBackend>(ctx);
  }
  static std::string Describe(const Options& o);

  NewrelicBackend(NewrelicOptions options, std::unique_ptr<HttpSender> sender);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event& event) override;

 private:
  transport::HttpRequest Request(const std::string& url, std::string body) const;

  NewrelicOptions options_;
};

}  // namespace cstatsd::backends::newrelic
