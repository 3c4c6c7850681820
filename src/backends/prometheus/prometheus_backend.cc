#include "backends/prometheus/prometheus_backend.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iterator>

#include "backends/common/tcp_client.h"
#include "config/section_reader.h"
#include "prometheus/naming.h"
#include "prometheus/process_metrics.h"

namespace cstatsd::backends::prometheus {
namespace {

namespace prom = cstatsd::prometheus;

// The backend's own metrics (docs/prometheus.md#backend-prometheus), written after the store's.
struct OwnMetric {
  const char* name;
  prom::FamilyType type;
  const char* help;
};
constexpr OwnMetric kOwnMetrics[] = {
    {"cstatsd_prometheus_series", prom::FamilyType::kGauge, "Series in the exposition."},
    {"cstatsd_prometheus_statsd_series", prom::FamilyType::kGauge,
     "statsd series the backend holds (dropped and refused ones included)."},
    {"cstatsd_prometheus_type_conflicts_total", prom::FamilyType::kCounter,
     "statsd series refused because their name is used with another type."},
    {"cstatsd_prometheus_dropped_series_total", prom::FamilyType::kCounter,
     "statsd series dropped by the mapping file."},
    {"cstatsd_prometheus_tag_errors_total", prom::FamilyType::kCounter,
     "Tags left out: no value, or an empty key or value."},
    {"cstatsd_prometheus_invalid_labels_total", prom::FamilyType::kCounter,
     "Labels left out: an invalid or reserved name."},
    {"cstatsd_prometheus_negative_counts_total", prom::FamilyType::kCounter,
     "Negative counter increments ignored."},
    {"cstatsd_prometheus_expired_series_total", prom::FamilyType::kCounter,
     "Series removed after their expiry interval."},
    {"cstatsd_prometheus_update_seconds", prom::FamilyType::kGauge,
     "Seconds the previous flush took to update the series and render the exposition."},
};

void ParseNumbers(config::SectionReader& r, std::string_view key, std::vector<double>& out) {
  if (!r.section().Has(key)) return;
  std::vector<std::string> items;
  r.List(key, items);
  std::vector<double> values;
  for (const std::string& item : items) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(v)) {
      r.Problem(key, "\"" + item + "\" is not a number");
      return;
    }
    values.push_back(v);
  }
  out = std::move(values);
}

}  // namespace

Result<PrometheusOptions> PrometheusOptions::From(const config::Config& config) {
  PrometheusOptions o;
  o.expiry_interval = config.options.expiry_interval;  // gostatsd's expiry-interval by default
  config::SectionReader r(config.GetSection("prometheus"));
  r.Str("listen-address", o.listen_address);
  r.Str("telemetry-path", o.telemetry_path);
  r.Str("mapping-config", o.mapping_config);
  r.Dur("expiry-interval", o.expiry_interval);
  r.Str("source-label", o.source_label);
  r.Bool("openmetrics", o.openmetrics);
  std::string observer = "summary";
  r.Str("observer-type", observer);
  ParseNumbers(r, "histogram-buckets", o.histogram_buckets);
  ParseNumbers(r, "summary-quantiles", o.summary_quantiles);

  std::string host, port;
  int port_number = -1;
  if (SplitHostPort(o.listen_address, host, port)) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
    if (ec != std::errc() || p != port.data() + port.size()) port_number = -1;
  }
  if (port_number < 0 || port_number > 65535) {
    r.Problem("listen-address", "\"" + o.listen_address + "\" is not host:port or :port");
  }
  if (o.telemetry_path.empty() || o.telemetry_path.front() != '/') {
    r.Problem("telemetry-path", "must start with '/'");
  }
  if (observer == "summary") {
    o.observer_type = prom::ObserverType::kSummary;
  } else if (observer == "histogram") {
    o.observer_type = prom::ObserverType::kHistogram;
  } else {
    r.Problem("observer-type", "must be \"summary\" or \"histogram\", not \"" + observer + "\"");
  }
  for (size_t i = 1; i < o.histogram_buckets.size(); ++i) {
    if (o.histogram_buckets[i] <= o.histogram_buckets[i - 1]) {
      r.Problem("histogram-buckets", "bounds must increase");
      break;
    }
  }
  if (o.histogram_buckets.empty()) r.Problem("histogram-buckets", "needs at least one bound");
  for (const double q : o.summary_quantiles) {
    if (!(q > 0 && q < 1)) {
      r.Problem("summary-quantiles", "each quantile must be above 0 and below 1");
      break;
    }
  }
  if (!o.source_label.empty() && !prom::IsValidLabelName(o.source_label)) {
    r.Problem("source-label", "\"" + o.source_label + "\" is not a valid label name");
  }
  if (auto s = r.Finish(); !s.ok()) return s;
  return o;
}

Result<std::unique_ptr<PrometheusBackend>> PrometheusBackend::Make(const PrometheusOptions& o) {
  auto mapping = std::make_shared<prom::MappingConfig>();
  if (!o.mapping_config.empty()) {
    auto loaded = prom::MappingConfig::Load(o.mapping_config);
    if (!loaded.ok()) return Status::Error("prometheus.mapping-config: " + loaded.error());
    *mapping = std::move(*loaded);
  }
  prom::StoreOptions so;
  so.observer = o.observer_type;
  so.buckets = o.histogram_buckets;
  so.quantiles.clear();
  const std::vector<prom::Quantile> defaults = prom::DefaultQuantiles();
  for (const double q : o.summary_quantiles) {
    prom::Quantile quantile{q, 0.01};
    for (const prom::Quantile& d : defaults) {
      if (d.quantile == q) quantile.error = d.error;
    }
    so.quantiles.push_back(quantile);
  }
  so.expiry = o.expiry_interval;
  so.source_label = o.source_label;
  for (const char* name : prom::kProcessMetricNames) so.reserved_names.emplace_back(name);
  for (const OwnMetric& m : kOwnMetrics) so.reserved_names.emplace_back(m.name);
  so.reserved_names.emplace_back("cstatsd_prometheus_scrapes_total");
  auto store = std::make_unique<prom::SeriesStore>(std::move(so), std::move(mapping));

  ScrapeListenerOptions lo;
  std::string port;
  SplitHostPort(o.listen_address, lo.host, port);
  lo.port = static_cast<uint16_t>(std::atoi(port.c_str()));
  lo.path = o.telemetry_path;
  lo.openmetrics = o.openmetrics;
  auto listener = ScrapeListener::Start(std::move(lo));
  if (!listener.ok()) return listener.status();
  spdlog::info("prometheus backend listening address={} port={} path={} mappings={} openmetrics={}",
               o.listen_address, (*listener)->port(), o.telemetry_path,
               o.mapping_config.empty() ? "none" : o.mapping_config, o.openmetrics);
  return std::unique_ptr<PrometheusBackend>(
      new PrometheusBackend(std::move(store), std::move(*listener), o.openmetrics));
}

Result<std::unique_ptr<Backend>> PrometheusBackend::Create(const BackendContext& ctx) {
  auto options = PrometheusOptions::From(ctx.config);
  if (!options.ok()) return options.status();
  auto backend = Make(*options);
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<Backend>(std::move(*backend));
}

void PrometheusBackend::Render(Format f, std::string& out, const prom::Drain& drain) const {
  store_->Render(f, out, drain);
  const prom::StoreStats& st = store_->stats();
  const double values[] = {static_cast<double>(store_->series()),
                           static_cast<double>(store_->statsd_series()),
                           static_cast<double>(st.type_conflicts),
                           static_cast<double>(st.dropped),
                           static_cast<double>(st.tag_errors),
                           static_cast<double>(st.invalid_labels),
                           static_cast<double>(st.negative_counts),
                           static_cast<double>(st.expired),
                           update_seconds_};
  static_assert(std::size(values) == std::size(kOwnMetrics));
  for (size_t i = 0; i < std::size(kOwnMetrics); ++i) {
    const OwnMetric& m = kOwnMetrics[i];
    prom::AppendHeader(f, m.type, m.name, m.help, out);
    if (m.type == prom::FamilyType::kCounter) {
      prom::AppendCounterSampleName(f, m.name, out);
      out += ' ';
    } else {
      prom::AppendSampleStart(m.name, "", "", "", "", out);
    }
    prom::AppendValue(f, values[i], out);
    out += '\n';
  }
}

Status PrometheusBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  const auto start = std::chrono::steady_clock::now();
  store_->Update(snapshot);
  // Rendered in slices of about kRenderSlice bytes, each deflated as soon as it is written: the
  // exposition is only ever held compressed (docs/prometheus.md#memory).
  GzipPrefix gzipped[kFormatCount];
  for (size_t i = 0; i < kFormatCount; ++i) {
    const auto f = static_cast<Format>(i);
    if (f == Format::kOpenMetrics && !openmetrics_) continue;
    GzipWriter writer;
    slice_.clear();
    Render(f, slice_, [&](std::string& slice) {
      writer.Append(slice);
      slice.clear();
    });
    writer.Append(slice_);
    gzipped[i] = writer.Finish();
  }
  slice_.clear();
  listener_->Publish(std::make_shared<const Exposition>(
      std::move(gzipped[static_cast<size_t>(Format::kText)]),
      std::move(gzipped[static_cast<size_t>(Format::kOpenMetrics)])));
  update_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const prom::StoreStats& st = store_->stats();
  if (st.type_conflicts > conflicts_logged_ && conflict_log_.Allow()) {
    spdlog::warn(
        "prometheus: a name used with two types keeps its first; series of the other type are "
        "left out name={} conflicts={}",
        st.last_conflict, st.type_conflicts);
    conflicts_logged_ = st.type_conflicts;
  }
  return {};
}

}  // namespace cstatsd::backends::prometheus
