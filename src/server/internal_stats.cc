#include "server/internal_stats.h"

#include <spdlog/spdlog.h>

namespace cstatsd::server {

InternalStats::InternalStats(const config::Options& options,
                             const pipeline::PipelineOptions* pipeline)
    : statser_type_(options.statser_type), hostname_(options.hostname), pipeline_(pipeline) {
  if (!options.namespace_.empty()) prefix_ = options.namespace_ + ".";
  if (!options.internal_namespace.empty()) prefix_ += options.internal_namespace + ".";
  base_tags_ = options.internal_tags;
  if (!hostname_.empty()) base_tags_.push_back("host:" + hostname_);
}

void InternalStats::Gauge(std::string name, double value, std::vector<std::string> tags) {
  pending_.push_back({std::move(name), MetricType::kGauge, value, std::move(tags)});
}

void InternalStats::Counter(std::string name, uint64_t delta, std::vector<std::string> tags) {
  pending_.push_back(
      {std::move(name), MetricType::kCounter, static_cast<double>(delta), std::move(tags)});
}

void InternalStats::SparseGauge(const std::string& name, uint64_t value,
                                std::vector<std::string> tags) {
  std::string key = name;
  for (const auto& t : tags) key += "," + t;
  if (sparse_[key].ShouldReport(value)) Gauge(name, static_cast<double>(value), std::move(tags));
}

void InternalStats::Emit(MetricMap& out) {
  if (statser_type_ == "internal") {
    ParsedMetric m;
    std::string name;
    for (const auto& im : pending_) {
      name = prefix_ + im.name;
      m.Clear();
      m.type = im.type;
      m.name = name;
      m.values.push_back(im.value);
      for (const auto& t : im.tags) m.tags.push_back(t);
      for (const auto& t : base_tags_) m.tags.push_back(t);
      // Timestamp 0: internal metrics expire right after their flush (as gostatsd's).
      pipeline_.ReceiveWithSource(m, hostname_, 0, out);
    }
  } else if (statser_type_ == "logging") {
    for (const auto& im : pending_) {
      std::string tags;
      for (const auto& t : im.tags) tags += (tags.empty() ? "" : ",") + t;
      spdlog::info("{} name={}{} value={} tags=[{}]",
                   im.type == MetricType::kCounter ? "count" : "gauge", prefix_, im.name, im.value,
                   tags);
    }
  }
  pending_.clear();
}

}  // namespace cstatsd::server
