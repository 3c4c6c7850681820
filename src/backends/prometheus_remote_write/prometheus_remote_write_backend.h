// The prometheus-remote-write backend (docs/prometheus.md#backend-prometheus-remote-write): after
// every flush, the cumulative value of every Prometheus series (the SeriesStore the scrape
// backend also uses: counters as totals, gauges, sets, observers as histograms) POSTed as
// snappy-compressed remote write 1.0 WriteRequests of at most max-samples-per-send samples,
// sent concurrently (max-requests); 5xx, 429 and transport errors retried with backoff and
// Retry-After within max-request-elapsed-time, other statuses never. Events are not sent.
// Runs on its backend thread, which alone owns the store.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/common/http_backend.h"
#include "backends/prometheus_remote_write/prometheus_remote_write_format.h"
#include "prometheus/mapping.h"

namespace cstatsd::prometheus {
class SeriesStore;
}

namespace cstatsd::backends::prometheus_remote_write {

struct PrometheusRemoteWriteOptions {
  std::string url;                             // required: the receiver's write endpoint
  std::map<std::string, std::string> headers;  // added to every request; reserved ones refused
  std::string bearer_token;                    // `Authorization: Bearer <token>`
  std::string basic_auth_username;             // `Authorization: Basic ...` with the password
  std::string basic_auth_password;
  int max_samples_per_send = 2000;  // Prometheus's queue_config default
  int max_requests = 0;             // default 2 × CPUs
  std::chrono::nanoseconds max_request_elapsed_time = std::chrono::seconds(15);  // -1: no retry
  std::string user_agent;  // default "cstatsd/<version>"
  std::string transport = "default";
  // statsd_exporter's mapping file (`mapping-config`, as the prometheus backend's), loaded once.
  std::string mapping_config;
  std::shared_ptr<const cstatsd::prometheus::MappingConfig> mapping;  // null: no mapping file
  // A series not received for this long stops being sent (`expiry-interval`); default the
  // top-level expiry-interval (5m); 0 never, < 0 as soon as a flush does not receive it. A
  // mapping's `ttl` overrides it.
  std::chrono::nanoseconds expiry_interval{0};
  // A label that carries a series' source (`source-label`); empty (default): none, as the
  // prometheus backend.
  std::string source_label;

  // The headers every request carries, in order: the protocol's, then authorization, then
  // `headers`.
  std::vector<std::pair<std::string, std::string>> RequestHeaders() const;

  static Result<PrometheusRemoteWriteOptions> From(const config::Config& config);
};

// The retry policy (docs/prometheus.md#backend-prometheus-remote-write): transport errors, 429
// and every 5xx are retried (Retry-After honoured within the budget); 2xx done; anything else
// given up at once.
transport::RetryOptions RemoteWriteRetry(std::chrono::nanoseconds budget);

// Every series of `store` into `encoder`: counters (their totals) and gauges as one sample,
// histograms as buckets, `_sum` and `_count`, summaries as quantiles, `_sum` and `_count`.
void EncodeStore(const cstatsd::prometheus::SeriesStore& store, WriteRequestEncoder& encoder);

class PrometheusRemoteWriteBackend : public HttpBackend {
 public:
  using Options = PrometheusRemoteWriteOptions;
  static constexpr std::string_view kName = "prometheus-remote-write";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx) {
    return CreateHttpBackend<PrometheusRemoteWriteBackend>(ctx);
  }
  static std::string Describe(const Options& o);

  PrometheusRemoteWriteBackend(Options options, std::unique_ptr<HttpSender> sender);
  ~PrometheusRemoteWriteBackend() override;

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event&) override { return {}; }  // Prometheus has no events
  // The store turns each timer's values into buckets.
  bool WantsRawValues() const override { return true; }

 private:
  Options options_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::unique_ptr<cstatsd::prometheus::SeriesStore> store_;
};

}  // namespace cstatsd::backends::prometheus_remote_write
