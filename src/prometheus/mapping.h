// MappingConfig: statsd_exporter's mapping file (YAML), read unchanged
// (docs/prometheus.md#mapping): `defaults`, then `mappings` with `match` (a glob with `*`, or
// `match_type: regex`), `name` and `labels` with `$1` / `${1}` captures, `match_metric_type`,
// `action: drop`, `observer_type` (and the older `timer_type`), `histogram_options.buckets`,
// `summary_options.quantiles`, `ttl` and `honor_labels`. Loaded once on the main thread and
// immutable after; Resolve() is const and may be called from any thread. A backend resolves a
// series once, when the series first appears, and keeps the result: never per line.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cstatsd::prometheus {

// What a statsd line's type is for matching (`match_metric_type`): sets count as gauges, every
// timer kind (ms, h, d) as an observer.
enum class StatsdKind : uint8_t { kCounter, kGauge, kObserver };

// How an observer is exposed: kDefault leaves it to the backend's default key.
enum class ObserverType : uint8_t { kDefault, kHistogram, kSummary };

struct Quantile {
  double quantile = 0;  // 0.5, 0.9, 0.99 ...
  double error = 0;     // statsd_exporter's allowed error; read, kept for the exposition's sake
};

// What one statsd name (of one kind) resolves to.
struct Mapping {
  bool matched = false;  // a `mappings` entry matched (else defaults applied to the escaped name)
  bool drop = false;     // `action: drop`
  std::string name;      // the Prometheus metric name, valid (escaped) even when not matched
  std::vector<std::pair<std::string, std::string>> labels;  // the mapping's, captures expanded
  ObserverType observer = ObserverType::kDefault;
  std::vector<double> buckets;      // sorted, without +Inf; empty: the backend's default
  std::vector<Quantile> quantiles;  // empty: the backend's default
  std::chrono::nanoseconds ttl{0};  // 0: the backend's expiry-interval
  bool honor_labels = false;        // DogStatsD tags override the mapping's labels of that name
};

class MappingConfig {
 public:
  // An empty configuration: every name escaped, no labels, defaults only.
  MappingConfig();
  ~MappingConfig();
  MappingConfig(MappingConfig&&) noexcept;
  MappingConfig& operator=(MappingConfig&&) noexcept;

  // Reads and checks a mapping file; an error names the file, the line and what is wrong.
  static Result<MappingConfig> Load(const std::string& path);
  // The same from text; `origin` names it in errors.
  static Result<MappingConfig> Parse(std::string_view yaml, std::string_view origin);

  // The mapping that matches, in statsd_exporter's order (docs/prometheus.md#mapping), else the
  // defaults applied to the escaped name.
  Mapping Resolve(std::string_view statsd_name, StatsdKind kind) const;

  size_t size() const;  // number of mappings

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cstatsd::prometheus
