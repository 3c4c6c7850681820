#include "backends/otlp/otlp_format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include "backends/common/timer_stats.h"
#include "core/go_format.h"
#include "core/utf8.h"

namespace cstatsd::backends::otlp {
namespace {

using Attributes = std::map<std::string, std::set<std::string>>;

// Protobuf strings must be UTF-8 (a collector may reject a whole export for one bad byte).
void AddTag(Attributes& attrs, std::string_view tag) {
  const size_t colon = tag.find(':');
  if (colon == std::string_view::npos) {
    attrs[ToValidUtf8(tag)].insert("");
  } else {
    attrs[ToValidUtf8(tag.substr(0, colon))].insert(ToValidUtf8(tag.substr(colon + 1)));
  }
}

// Tags as attributes: one value → a string; repeated keys → a sorted array of unique strings.
void Fill(google::protobuf::RepeatedPtrField<::otlp::KeyValue>* out, const Attributes& attrs) {
  for (const auto& [k, values] : attrs) {
    ::otlp::KeyValue* kv = out->Add();
    kv->set_key(k);
    if (values.size() == 1) {
      kv->mutable_value()->set_string_value(*values.begin());
      continue;
    }
    auto* arr = kv->mutable_value()->mutable_array_value();
    for (const std::string& v : values) arr->add_values()->set_string_value(v);
  }
}

// The series' attributes and resource attributes (tags whose key is a resource key), with
// host:<source> added when there is no host tag.
void Split(const SeriesKey& key, const FormatOptions& o, Attributes& attrs, Attributes& resource) {
  bool has_host = false;
  auto add = [&](std::string_view tag) {
    const std::string_view k = tag.substr(0, tag.find(':'));
    if (k == "host") has_host = true;
    const bool is_resource =
        std::find(o.resource_keys.begin(), o.resource_keys.end(), k) != o.resource_keys.end();
    AddTag(is_resource ? resource : attrs, tag);
  };
  key.ForEachTag(add);
  if (!has_host && !key.source().empty()) add("host:" + std::string(key.source()));
}

std::string Signature(const Attributes& a) {
  std::string s;
  for (const auto& [k, values] : a) {
    s += k;
    for (const auto& v : values) {
      s += '\x1f';
      s += v;
    }
    s += '\x1e';
  }
  return s;
}

class Batcher {
 public:
  Batcher(const FormatOptions& o, size_t per_batch, int64_t now_ns)
      : o_(o), per_batch_(std::max<size_t>(per_batch, 1)), now_ns_(now_ns) {}

  // Starts a series: its attributes are used by the data points added until the next Begin.
  void Begin(const SeriesKey& key, std::string_view extra_tag = {}) {
    attrs_.clear();
    resource_.clear();
    Split(key, o_, attrs_, resource_);
    if (!extra_tag.empty()) AddTag(attrs_, extra_tag);
  }

  ::otlp::NumberDataPoint* Gauge(const std::string& name) {
    ::otlp::Metric* m = NewMetric(name);
    return Point(m->mutable_gauge()->add_data_points());
  }

  ::otlp::NumberDataPoint* DeltaSum(const std::string& name) {
    ::otlp::Metric* m = NewMetric(name);
    auto* sum = m->mutable_sum();
    sum->set_aggregation_temporality(::otlp::AGGREGATION_TEMPORALITY_DELTA);
    sum->set_is_monotonic(false);
    return Point(sum->add_data_points());
  }

  ::otlp::HistogramDataPoint* DeltaHistogram(const std::string& name) {
    ::otlp::Metric* m = NewMetric(name);
    auto* h = m->mutable_histogram();
    h->set_aggregation_temporality(::otlp::AGGREGATION_TEMPORALITY_DELTA);
    ::otlp::HistogramDataPoint* p = h->add_data_points();
    p->set_time_unix_nano(static_cast<uint64_t>(now_ns_));
    Fill(p->mutable_attributes(), attrs_);
    return p;
  }

  std::vector<::otlp::ExportMetricsServiceRequest> Finish() {
    if (in_batch_ > 0) requests_.push_back(std::move(current_));
    return std::move(requests_);
  }

 private:
  ::otlp::NumberDataPoint* Point(::otlp::NumberDataPoint* p) {
    p->set_time_unix_nano(static_cast<uint64_t>(now_ns_));
    Fill(p->mutable_attributes(), attrs_);
    return p;
  }

  ::otlp::Metric* NewMetric(const std::string& name) {
    if (in_batch_ == per_batch_) {
      requests_.push_back(std::move(current_));
      current_.Clear();
      by_resource_.clear();
      in_batch_ = 0;
    }
    ++in_batch_;
    const std::string sig = Signature(resource_);
    auto it = by_resource_.find(sig);
    ::otlp::ScopeMetrics* scope;
    if (it == by_resource_.end()) {
      ::otlp::ResourceMetrics* rm = current_.add_resource_metrics();
      Fill(rm->mutable_resource()->mutable_attributes(), resource_);
      scope = rm->add_scope_metrics();
      scope->mutable_scope()->set_name(std::string(kScopeName));
      scope->mutable_scope()->set_version(o_.scope_version);
      by_resource_.emplace(sig, current_.resource_metrics_size() - 1);
    } else {
      scope = current_.mutable_resource_metrics(it->second)->mutable_scope_metrics(0);
    }
    ::otlp::Metric* m = scope->add_metrics();
    m->set_name(ToValidUtf8(name));
    return m;
  }

  const FormatOptions& o_;
  size_t per_batch_;
  int64_t now_ns_;
  Attributes attrs_, resource_;
  ::otlp::ExportMetricsServiceRequest current_;
  std::map<std::string, int> by_resource_;
  size_t in_batch_ = 0;
  std::vector<::otlp::ExportMetricsServiceRequest> requests_;
};

}  // namespace

std::vector<::otlp::ExportMetricsServiceRequest> FormatMetrics(const snapshot::FlushSnapshot& s,
                                                               const FormatOptions& o,
                                                               size_t metrics_per_batch) {
  Batcher b(o, metrics_per_batch, s.flush_time_ns);
  std::string name;
  for (const auto& c : s.counters) {
    b.Begin(*c.key);
    name = c.key->name();
    b.Gauge(name)->set_as_double(c.per_second);
    if (s.float_counters) {  // docs/aggregation.md#float-counters
      b.DeltaSum(name + ".count")->set_as_double(c.float_value);
    } else {
      b.DeltaSum(name + ".count")->set_as_int(c.value);
    }
  }
  for (const auto& g : s.gauges) {
    b.Begin(*g.key);
    b.Gauge(std::string(g.key->name()))->set_as_double(g.value);
  }
  for (const auto& set : s.sets) {
    b.Begin(*set.key);
    b.Gauge(std::string(set.key->name()))->set_as_int(static_cast<int64_t>(set.cardinality));
  }
  // Timestamped samples: the same metrics, each point at its own time
  // (docs/backends.md#timestamps).
  for (const auto& c : s.timed_counters) {
    const auto at = static_cast<uint64_t>(c.timestamp) * 1000000000u;
    b.Begin(*c.key);
    name = c.key->name();
    ::otlp::NumberDataPoint* rate = b.Gauge(name);
    rate->set_as_double(c.per_second);
    rate->set_time_unix_nano(at);
    ::otlp::NumberDataPoint* count = b.DeltaSum(name + ".count");
    count->set_as_int(c.value);
    count->set_time_unix_nano(at);
  }
  for (const auto& g : s.timed_gauges) {
    b.Begin(*g.key);
    ::otlp::NumberDataPoint* p = b.Gauge(std::string(g.key->name()));
    p->set_as_double(g.value);
    p->set_time_unix_nano(static_cast<uint64_t>(g.timestamp) * 1000000000u);
  }
  std::string le;
  const auto& d = o.disabled;
  for (const auto& t : s.timers) {
    name = t.key->name();
    if (o.as_histogram) {
      b.Begin(*t.key);
      ::otlp::HistogramDataPoint* p = b.DeltaHistogram(name);
      if (s.has_raw_values) {
        // As gostatsd: count, sum, min and max of the values received, so a sampled timer's
        // count is how many values arrived (len(Values)), not the sample-rate-scaled count.
        uint64_t n = 0;
        double sum = 0, min = 0, max = 0;
        for (double v : s.ValuesOf(t)) {
          min = n == 0 ? v : std::min(min, v);
          max = n == 0 ? v : std::max(max, v);
          sum += v;
          ++n;
        }
        p->set_count(n);
        p->set_sum(sum);
        if (n > 0) {  // an idle timer has no min or max (gostatsd panics here)
          p->set_min(min);
          p->set_max(max);
        }
      } else {  // a snapshot without raw values: the computed aggregates
        p->set_count(static_cast<uint64_t>(std::max<int64_t>(t.count, 0)));
        p->set_sum(t.sum);
        if (t.count > 0) {
          p->set_min(t.min);
          p->set_max(t.max);
        }
      }
      uint64_t below = 0;
      for (const auto& bucket : s.BucketsOf(t)) {
        if (!std::isinf(bucket.le)) p->add_explicit_bounds(bucket.le);
        p->add_bucket_counts(bucket.count - below);  // cumulative → per bucket
        below = bucket.count;
      }
      continue;
    }
    if (t.histogram) {
      for (const auto& bucket : s.BucketsOf(t)) {
        AssignBucketTag(le, bucket.le);
        b.Begin(*t.key, le);
        b.Gauge(name + ".histogram")->set_as_int(static_cast<int64_t>(bucket.count));
      }
      continue;
    }
    b.Begin(*t.key);
    ForEachTimerStat(s, t, d, [&](TimerStat stat, std::string_view sub, double v) {
      std::string metric = name + "." + std::string(sub);
      if (stat == TimerStat::kCount) {
        b.Gauge(metric)->set_as_int(t.count);
      } else {
        b.Gauge(metric)->set_as_double(v);
      }
    });
  }
  return b.Finish();
}

::otlp::ExportLogsServiceRequest FormatEvent(const Event& e, const FormatOptions& o,
                                             int64_t now_ns) {
  Attributes resource, tags;
  for (const std::string& t : e.tags) {
    const std::string_view k = std::string_view(t).substr(0, t.find(':'));
    const bool is_resource =
        std::find(o.resource_keys.begin(), o.resource_keys.end(), k) != o.resource_keys.end();
    AddTag(is_resource ? resource : tags, t);
  }
  ::otlp::ExportLogsServiceRequest req;
  ::otlp::ResourceLogs* rl = req.add_resource_logs();
  Fill(rl->mutable_resource()->mutable_attributes(), resource);
  ::otlp::ScopeLogs* sl = rl->add_scope_logs();
  sl->mutable_scope()->set_name(std::string(kScopeName));
  sl->mutable_scope()->set_version(o.scope_version);
  ::otlp::LogRecord* r = sl->add_log_records();
  const int64_t t = e.date_happened != 0 ? e.date_happened * 1000000000 : now_ns;
  r->set_time_unix_nano(static_cast<uint64_t>(t));
  r->set_observed_time_unix_nano(static_cast<uint64_t>(now_ns));
  auto attr = [&](std::string_view k, std::string_view v) {
    ::otlp::KeyValue* kv = r->add_attributes();
    kv->set_key(std::string(k));
    kv->mutable_value()->set_string_value(ToValidUtf8(v));
  };
  attr("title", e.title);
  attr("text", e.text);
  attr("source", e.source);
  attr("priority", EventPriorityName(e.priority));
  attr("alert_type", EventAlertTypeName(e.alert_type));
  attr("aggregation_key", e.aggregation_key);
  attr("source_type_name", e.source_type_name);
  ::otlp::KeyValue* kv = r->add_attributes();
  kv->set_key("tags");
  Fill(kv->mutable_value()->mutable_kvlist_value()->mutable_values(), tags);
  return req;
}

}  // namespace cstatsd::backends::otlp
