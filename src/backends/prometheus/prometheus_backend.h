// The prometheus backend (docs/prometheus.md#backend-prometheus): the replacement for
// statsd_exporter that Prometheus scrapes. After each flush it updates the cumulative series
// store (src/prometheus/series_store.h) and renders the exposition once (in both formats with
// `openmetrics`), deflating it slice by slice as it is written, then publishes it, compressed, to
// its scrape listener; scrapes copy the latest rendering and
// never wait for a flush. SendMetrics runs on the backend's thread; the listener has its own
// (libmicrohttpd's).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/prometheus/scrape_listener.h"
#include "prometheus/mapping.h"
#include "prometheus/series_store.h"
#include "stats/rate_limiter.h"

namespace cstatsd::backends::prometheus {

struct PrometheusOptions {
  // host:port the scrape endpoint listens on (`listen-address`); no host: every address.
  std::string listen_address = ":9102";
  // The scrape path (`telemetry-path`); every other path is 404.
  std::string telemetry_path = "/metrics";
  // statsd_exporter's mapping file (`mapping-config`); empty: none (names escaped, tags as
  // labels).
  std::string mapping_config;
  // A series not received for this long leaves the exposition (`expiry-interval`); default: the
  // top-level expiry-interval (5m); 0 never (statsd_exporter's default ttl), below 0 after the
  // flush that received it. A mapping's `ttl` overrides it.
  std::chrono::nanoseconds expiry_interval = std::chrono::minutes(5);
  // How observers are exposed unless their mapping says (`observer-type`): "summary" (default,
  // as statsd_exporter) or "histogram".
  cstatsd::prometheus::ObserverType observer_type = cstatsd::prometheus::ObserverType::kSummary;
  // Default histogram bounds (`histogram-buckets`) and summary quantiles (`summary-quantiles`).
  std::vector<double> histogram_buckets = cstatsd::prometheus::DefaultBuckets();
  std::vector<double> summary_quantiles = {0.5, 0.9, 0.99};
  // Serve OpenMetrics 1.0 to scrapers that ask for it (`openmetrics`); false (default): always
  // text 0.0.4, as statsd_exporter, so Prometheus stores the same names (counters without
  // `_total`, `le="1"`) and migrated dashboards keep working.
  bool openmetrics = false;
  // A label that carries the series' source (`source-label`); empty (default): none, as
  // statsd_exporter.
  std::string source_label;

  // Reads [prometheus]; errors name "prometheus.<key>".
  static Result<PrometheusOptions> From(const config::Config& config);
};

class PrometheusBackend : public Backend {
 public:
  static constexpr std::string_view kName = "prometheus";
  // Reads the options and the mapping file and binds the listener: any failure stops startup.
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx);
  static Result<std::unique_ptr<PrometheusBackend>> Make(const PrometheusOptions& options);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot& snapshot) override;
  Status SendEvent(const Event&) override { return {}; }  // Prometheus has no events
  bool WantsRawValues() const override { return true; }

  uint16_t port() const { return listener_->port(); }
  const cstatsd::prometheus::SeriesStore& store() const { return *store_; }

  // The store's exposition and the backend's own metrics (no `# EOF`), as published; with a
  // drain, handed over in slices (SeriesStore::Render).
  void Render(Format f, std::string& out, const cstatsd::prometheus::Drain& drain = {}) const;

 private:
  PrometheusBackend(std::unique_ptr<cstatsd::prometheus::SeriesStore> store,
                    std::unique_ptr<ScrapeListener> listener, bool openmetrics)
      : store_(std::move(store)), listener_(std::move(listener)), openmetrics_(openmetrics) {}

  std::unique_ptr<cstatsd::prometheus::SeriesStore> store_;
  std::unique_ptr<ScrapeListener> listener_;
  bool openmetrics_ = false;   // render the OpenMetrics form too
  std::string slice_;          // the rendering's current slice, reused from flush to flush
  double update_seconds_ = 0;  // CPU of the last update and render
  uint64_t conflicts_logged_ = 0;
  stats::RateLimiter conflict_log_{6, 3};
};

}  // namespace cstatsd::backends::prometheus
