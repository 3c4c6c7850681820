#include "backends/backend.h"
#include "backends/cloudwatch/cloudwatch_backend.h"
#include "backends/datadog/datadog_backend.h"
#include "backends/graphite/graphite_backend.h"
#include "backends/influxdb/influxdb_backend.h"
#include "backends/newrelic/newrelic_backend.h"
#include "backends/null/null_backend.h"
#include "backends/otlp/otlp_backend.h"
#include "backends/prometheus/prometheus_backend.h"
#include "backends/prometheus_remote_write/prometheus_remote_write_backend.h"
#include "backends/statsdaemon/statsdaemon_backend.h"
#include "backends/stdout/stdout_backend.h"

namespace cstatsd::backends {

void BackendRegistry::Register(std::string name, BackendFactory factory) {
  factories_[std::move(name)] = std::move(factory);
}

bool BackendRegistry::Has(std::string_view name) const {
  return factories_.find(name) != factories_.end();
}

std::vector<std::string> BackendRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, f] : factories_) names.push_back(name);
  return names;
}

Result<std::unique_ptr<Backend>> BackendRegistry::Create(std::string_view name,
                                                         const BackendContext& ctx) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    return Status::Error("backends: unknown backend \"" + std::string(name) + "\"");
  }
  return it->second(ctx);
}

BackendRegistry BackendRegistry::WithBuiltins() {
  BackendRegistry r;
  r.Register(std::string(stdout::StdoutBackend::kName), stdout::StdoutBackend::Create);
  r.Register(std::string(null::NullBackend::kName), null::NullBackend::Create);
  r.Register(std::string(graphite::GraphiteBackend::kName), graphite::GraphiteBackend::Create);
  r.Register(std::string(statsdaemon::StatsdaemonBackend::kName),
             statsdaemon::StatsdaemonBackend::Create);
  r.Register(std::string(influxdb::InfluxdbBackend::kName), influxdb::InfluxdbBackend::Create);
  r.Register(std::string(datadog::DatadogBackend::kName), datadog::DatadogBackend::Create);
  r.Register(std::string(newrelic::NewrelicBackend::kName), newrelic::NewrelicBackend::Create);
  r.Register(std::string(cloudwatch::CloudwatchBackend::kName),
             cloudwatch::CloudwatchBackend::Create);
  r.Register(std::string(otlp::OtlpBackend::kName), otlp::OtlpBackend::Create);
  r.Register(std::string(prometheus::PrometheusBackend::kName),
             prometheus::PrometheusBackend::Create);
  r.Register(std::string(prometheus_remote_write::PrometheusRemoteWriteBackend::kName),
             prometheus_remote_write::PrometheusRemoteWriteBackend::Create);
  return r;
}

}  // namespace cstatsd::backends
