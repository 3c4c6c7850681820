// InternalStats: builds the internal metrics of one flush (docs/internal-metrics.md) from the
// counters the components keep, and turns them into what the statser type asks for: metrics fed
// into the aggregator (internal), log lines (logging), or nothing (null). Owned by the flusher
// thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/options.h"
#include "core/metric_map.h"
#include "pipeline/pipeline.h"
#include "stats/internal_metrics.h"

namespace cstatsd::server {

class InternalStats {
 public:
  explicit InternalStats(const config::Options& options, const pipeline::PipelineOptions* pipeline);

  void Gauge(std::string name, double value, std::vector<std::string> tags = {});
  void Counter(std::string name, double value, std::vector<std::string> tags = {});
  // gostatsd's "reported" metric (docs/internal-metrics.md): a cumulative count sent as a gauge of
  // its value in standalone mode, as a counter of the change since the previous flush in forwarder
  // mode.
  void Report(const std::string& name, uint64_t cumulative, std::vector<std::string> tags = {});
  // A cumulative value reported only after it changes (gostatsd's sparse gauge).
  void SparseGauge(const std::string& name, uint64_t value, std::vector<std::string> tags = {});

  // Emits what was collected since the last call according to statser-type: into `out`
  // (internal) or the log (logging). Clears the collection.
  void Emit(MetricMap& out);

 private:
  std::string prefix_;  // "<namespace>.<internal-namespace>." (parts omitted when empty)
  std::string statser_type_;
  std::string hostname_;
  std::vector<std::string> base_tags_;  // internal-tags + host:<hostname>
  pipeline::Pipeline pipeline_;
  std::vector<stats::InternalMetric> pending_;
  std::map<std::string, stats::SparseGauge> sparse_;
  bool forwarder_ = false;                    // server-mode = forwarder
  std::map<std::string, uint64_t> reported_;  // last cumulative value per name+tags
};

}  // namespace cstatsd::server
