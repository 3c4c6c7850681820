// The influxdb backend (docs/backends.md#influxdb, docs/compatibility.md#decision-7): line protocol
// POSTed to InfluxDB's v1 `/write` (db=, rp=, consistency=) or v2 `/api/v2/write` (bucket=, org=),
// gzip-compressed, in batches of metrics-per-batch lines sent concurrently (max-requests) with
// retries up to max-request-elapsed-time; events as `events` lines. Runs on its backend thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "backends/common/http_backend.h"
#include "config/options.h"

namespace cstatsd::backends::influxdb {

struct InfluxdbOptions {
  std::string api_endpoint;  // required
  int api_version = 2;       // 1 | 2
  bool compress_payload = true;
  std::string credentials;  // Authorization: Token <credentials>
  std::chrono::nanoseconds max_request_elapsed_time = std::chrono::seconds(15);
  int max_requests = 0;  // default 10 × CPUs
  int metrics_per_batch = 5000;
  std::string transport = "default";
  std::string database, retention_policy, consistency;  // v1
  std::string bucket, org;                              // v2
  config::DisabledSubMetrics disabled;

  // Reads [influxdb]; errors name "influxdb.<key>"; settings of the other API version are
  // warned about (in `warnings`) and ignored.
  static Result<InfluxdbOptions> From(const config::Config& config,
                                      std::vector<std::string>* warnings);
  // The write URL: endpoint + path + query.
  std::string WriteUrl() const;
};

class InfluxdbBackend : public HttpBackend {
 public:
  using Options = InfluxdbOptions;
  static constexpr std::string_view kName = "influxdb";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx) {
    return CreateHttpBackend<InfluxdbBackend>(ctx);
  }
  static std::string Describe(const Options& o);

  InfluxdbBackend(InfluxdbOptions options, std::unique_ptr<HttpSender> sender);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event& event) override;
  bool TakesTimestamps() const override { return true; }

 private:
  transport::HttpRequest Request(std::string body) const;

  InfluxdbOptions options_;
  std::string url_;
};

}  // namespace cstatsd::backends::influxdb
