#include "backends/newrelic/newrelic_format.h"

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "backends/common/go_json.h"
#include "backends/common/timer_stats.h"
#include "core/go_format.h"
#include "protocol/float_parse.h"

namespace cstatsd::backends::newrelic {
namespace {

bool ParseFloat(std::string_view s, double& out) {
  std::string scratch;
  return protocol::ParseGoFloat(s, out, scratch) == protocol::FloatParseStatus::kOk;
}

// A JSON object under construction: key → rendered value, written with sorted keys (Go's map
// marshalling); setting a key again replaces it, as assigning a Go map entry does.
class Object {
 public:
  void Str(std::string_view k, std::string_view v) {
    std::string& slot = fields_[std::string(k)];
    slot.clear();
    AppendJsonString(slot, v);
  }
  void Num(std::string_view k, double v) {
    std::string& slot = fields_[std::string(k)];
    slot.clear();
    AppendJsonFloat(slot, v);
  }
  void Int(std::string_view k, int64_t v) {
    std::string& slot = fields_[std::string(k)];
    slot.clear();
    AppendInt(slot, v);
  }
  void Raw(std::string_view k, std::string v) { fields_[std::string(k)] = std::move(v); }
  void AppendTo(std::string& out) const {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : fields_) {
      if (!first) out += ',';
      first = false;
      AppendJsonString(out, k);
      out += ':';
      out += v;
    }
    out += '}';
  }
  std::string Render() const {
    std::string out;
    AppendTo(out);
    return out;
  }

 private:
  std::map<std::string, std::string> fields_;
};

// Go's strconv.ParseFloat accepts what our Go-compatible parser accepts; gostatsd keeps
// "infinity" (any case) as a string, and Go's JSON cannot encode NaN or ±Inf, so those stay
// strings too.
void SetTag(Object& obj, std::string_view prefix, std::string_view tag) {
  const size_t colon = tag.find(':');
  if (colon == std::string_view::npos) {
    obj.Str(std::string(prefix) + std::string(tag), "true");
    return;
  }
  const std::string key = std::string(prefix) + std::string(tag.substr(0, colon));
  const std::string_view v = tag.substr(colon + 1);
  double parsed = 0;
  if (ParseFloat(v, parsed) && std::isfinite(parsed)) {
    obj.Num(key, parsed);
  } else {
    obj.Str(key, v);
  }
}

// Tags plus `statsdSource:<source>` when the series has a source and no such tag.
void SetTags(Object& obj, std::string_view prefix, const SeriesKey& key,
             std::string_view extra_tag = {}) {
  bool has_source_tag = false;
  key.ForEachTag([&](std::string_view t) {
    if (t.starts_with("statsdSource:")) has_source_tag = true;
    SetTag(obj, prefix, t);
  });
  if (!extra_tag.empty()) SetTag(obj, prefix, extra_tag);
  if (!key.source().empty() && !has_source_tag) {
    SetTag(obj, prefix, "statsdSource:" + std::string(key.source()));
  }
}

// The percentile sub-metric's aggregate and threshold: "upper_90" → ("upper", 90),
// "sum_squares_99_9" → ("sum_squares", 99.9), "lower_-10" → ("lower", -10).
bool SplitPercentile(std::string_view name, std::string& agg, double& threshold) {
  for (std::string_view a : {"sum_squares", "count", "mean", "sum", "upper", "lower"}) {
    if (name.size() > a.size() + 1 && name.starts_with(a) && name[a.size()] == '_') {
      agg = a;
      std::string t(name.substr(a.size() + 1));
      for (char& c : t) {
        if (c == '_') c = '.';
      }
      return ParseFloat(t, threshold);
    }
  }
  return false;
}

class Writer {
 public:
  Writer(const FormatOptions& o, int64_t now, size_t per_batch, const BatchFn& emit)
      : o_(o), now_(now), batch_(per_batch, BodyPrefix(o), BodySuffix(o.flush_type), emit) {}

  // gostatsd's newMetricSet: the common fields of one metric object.
  Object Base(std::string_view name, std::string_view type, double value, const SeriesKey& key,
              std::string_view extra_tag = {}) const {
    Object m;
    m.Int("timestamp", now_);
    if (o_.flush_type == FlushType::kMetrics) {
      m.Str("name", name);
      Object attrs;
      attrs.Str("statsdType", type);
      SetTags(attrs, o_.tag_prefix, key, extra_tag);
      m.Raw("attributes", attrs.Render());
      if (type == "timer") {
        m.Str("type", "summary");
        m.Str("name", std::string(name) + ".summary");
      } else if (type == "counter") {
        m.Str("type", "count");
        m.Num("value", value);
      } else if (type == "gauge") {
        m.Str("type", "gauge");
        m.Num("value", value);
      }  // sets: no type or value (as gostatsd)
      return m;
    }
    m.Num("interval", o_.flush_interval_seconds);
    m.Str("integration_version", kIntegrationVersion);
    m.Str(o_.flush_type == FlushType::kInsights ? "eventType" : "event_type", o_.event_type);
    m.Str(o_.metric_type, type);
    m.Str(o_.metric_name, name);
    m.Num(o_.value, value);
    SetTags(m, o_.tag_prefix, key, extra_tag);
    return m;
  }

  void Add(const Object& m) { m.AppendTo(batch_.Next()); }

  // A plain metric (gostatsd's addMetric).
  void AddMetric(std::string_view type, double value, double per_second, const SeriesKey& key,
                 std::string_view name, std::string_view extra_tag = {}) {
    if (o_.flush_type == FlushType::kMetrics) {
      if (type == "counter") {
        Add(Base(std::string(name) + ".per_second", "gauge", per_second, key, extra_tag));
      }
      Add(Base(name, type, value, key, extra_tag));
      return;
    }
    Object m = Base(name, type, value, key, extra_tag);
    if (type == "counter") m.Num(o_.per_second, per_second);
    Add(m);
  }

  void AddTimer(const snapshot::FlushSnapshot& s, const snapshot::TimerPoint& t) {
    const SeriesKey& key = *t.key;
    const std::string name(key.name());
    const auto& d = o_.disabled;
    Object timer = Base(name, "timer", static_cast<double>(t.count), key);
    if (o_.flush_type == FlushType::kMetrics) {
      Object summary;
      summary.Num("count", static_cast<double>(t.count));
      summary.Num("sum", t.sum);
      summary.Num("min", t.min);
      summary.Num("max", t.max);
      timer.Raw("value", summary.Render());
      // lower, upper, count and sum are in the summary; the rest are gauges.
      std::string agg;
      ForEachTimerStat(s, t, d, [&](TimerStat stat, std::string_view sub, double v) {
        switch (stat) {
          case TimerStat::kLower:
          case TimerStat::kUpper:
          case TimerStat::kCount:
          case TimerStat::kSum:
            return;
          case TimerStat::kCountPerSecond:
            sub = "per_second";
            break;
          case TimerStat::kStddev:
            sub = "std_dev";
            break;
          case TimerStat::kPercentile: {
            double threshold = 0;
            if (!SplitPercentile(sub, agg, threshold)) return;
            Object g = Base(name + "." + agg + ".percentiles", "gauge", v, key);
            Object attrs;
            attrs.Str("statsdType", "gauge");
            SetTags(attrs, o_.tag_prefix, key);
            attrs.Num("percentile", threshold);
            g.Raw("attributes", attrs.Render());
            Add(g);
            return;
          }
          default:
            break;
        }
        Add(Base(name + "." + std::string(sub), "gauge", v, key));
      });
    } else {
      // The insights/infra field names are options; gostatsd puts sum before the rate.
      for (TimerStat stat : {TimerStat::kLower, TimerStat::kUpper, TimerStat::kCount,
                             TimerStat::kSum, TimerStat::kCountPerSecond, TimerStat::kMean,
                             TimerStat::kMedian, TimerStat::kStddev, TimerStat::kSumSquares}) {
        if (TimerStatEnabled(d, stat)) timer.Num(FieldName(stat), TimerStatValue(t, stat));
      }
      for (const auto& p : s.PercentilesOf(t)) {
        if (PercentileEnabled(p.name, d)) timer.Num(p.name, p.value);
      }
    }
    Add(timer);
  }

  // The option that names a timer statistic's field (insights and infra).
  const std::string& FieldName(TimerStat stat) const {
    switch (stat) {
      case TimerStat::kLower:
        return o_.timer_min;
      case TimerStat::kUpper:
        return o_.timer_max;
      case TimerStat::kCount:
        return o_.timer_count;
      case TimerStat::kSum:
        return o_.timer_sum;
      case TimerStat::kCountPerSecond:
        return o_.per_second;
      case TimerStat::kMean:
        return o_.timer_mean;
      case TimerStat::kMedian:
        return o_.timer_median;
      case TimerStat::kStddev:
        return o_.timer_stddev;
      default:
        return o_.timer_sumsquare;
    }
  }

  void MaybeEmit() { batch_.MaybeEmit(); }
  size_t Finish() { return batch_.Finish(); }

 private:
  // What surrounds the metric objects of a body, by flush type.
  static std::string BodyPrefix(const FormatOptions& o) {
    std::string p;
    switch (o.flush_type) {
      case FlushType::kInsights:
        p = "[";
        break;
      case FlushType::kMetrics:
        p = "[{\"common\":{\"attributes\":{\"integration.name\":\"GoStatsD\",";
        p += "\"integration.version\":";
        AppendJsonString(p, kIntegrationVersion);
        p += "},\"interval.ms\":";
        AppendJsonFloat(p, o.flush_interval_seconds * 1000);
        p += "},\"metrics\":[";
        break;
      case FlushType::kInfra:
        p = "{\"name\":";
        AppendJsonString(p, kIntegrationName);
        p += ",\"protocol_version\":\"2\",\"integration_version\":";
        AppendJsonString(p, kIntegrationVersion);
        p += ",\"data\":[{\"metrics\":[";
        break;
    }
    return p;
  }
  static std::string BodySuffix(FlushType t) {
    switch (t) {
      case FlushType::kInsights:
        return "]";
      case FlushType::kMetrics:
        return "]}]";
      case FlushType::kInfra:
        return "]}]}";
    }
    return "]";
  }

  const FormatOptions& o_;
  int64_t now_;
  ItemBatcher batch_;
};

}  // namespace

size_t FormatMetrics(const snapshot::FlushSnapshot& s, const FormatOptions& o, int64_t now_seconds,
                     size_t metrics_per_batch, const BatchFn& emit) {
  Writer w(o, now_seconds, metrics_per_batch, emit);
  for (const auto& g : s.gauges) {
    w.AddMetric("gauge", g.value, 0, *g.key, g.key->name());
    w.MaybeEmit();
  }
  for (const auto& c : s.counters) {
    w.AddMetric("counter", s.Count(c), c.per_second, *c.key, c.key->name());
    w.MaybeEmit();
  }
  for (const auto& set : s.sets) {
    w.AddMetric("set", static_cast<double>(set.cardinality), 0, *set.key, set.key->name());
    w.MaybeEmit();
  }
  std::string le, name;
  for (const auto& t : s.timers) {
    if (t.histogram) {
      name = std::string(t.key->name()) + ".histogram";
      for (const auto& b : s.BucketsOf(t)) {
        AssignBucketTag(le, b.le, "infinity");
        w.AddMetric("counter", static_cast<double>(b.count), 0, *t.key, name, le);
      }
    } else {
      w.AddTimer(s, t);
    }
    w.MaybeEmit();
  }
  return w.Finish();
}

std::string FormatEvent(const Event& e, const FormatOptions& o) {
  Object ev;
  ev.Str("name", "event");
  ev.Str("Title", e.title);
  ev.Str("Text", e.text);
  ev.Int("DateHappened", e.date_happened);
  ev.Str("Hostname", e.source);
  ev.Str("AggregationKey", e.aggregation_key);
  ev.Str("SourceTypeName", e.source_type_name);
  ev.Str("Priority", e.priority == EventPriority::kLow ? "low" : "");
  const std::string_view alert =
      e.alert_type == EventAlertType::kInfo ? "" : EventAlertTypeName(e.alert_type);
  ev.Str("AlertType", alert);
  for (const std::string& t : e.tags) SetTag(ev, o.tag_prefix, t);
  if (o.flush_type == FlushType::kInfra) {
    ev.Str("event_type", o.event_type);
    std::string body = "{\"name\":";
    AppendJsonString(body, kIntegrationName);
    body += ",\"protocol_version\":\"2\",\"integration_version\":";
    AppendJsonString(body, kIntegrationVersion);
    body += ",\"data\":[{\"metrics\":[" + ev.Render() + "]}]}";
    return body;
  }
  ev.Str("eventType", o.event_type);
  return "[" + ev.Render() + "]";
}

}  // namespace cstatsd::backends::newrelic
