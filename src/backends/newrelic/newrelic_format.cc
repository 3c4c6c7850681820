#include "backends/newrelic/newrelic_format.h"

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "backends/json/go_json.h"
#include "core/go_format.h"
#include "protocol/float_parse.h"

namespace cstatsd::backends::newrelic {
namespace {

using json::AppendJsonFloat;
using json::AppendJsonString;

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
      : o_(o), now_(now), per_batch_(per_batch), emit_(emit) {}

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

  void Add(const Object& m) {
    if (count_ > 0) items_ += ',';
    m.AppendTo(items_);
    ++count_;
    ++total_;
  }

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
      auto gauge = [&](bool enabled, std::string_view suffix, double v) {
        if (enabled) Add(Base(name + std::string(suffix), "gauge", v, key));
      };
      gauge(!d.count_per_second, ".per_second", t.count_per_second);
      gauge(!d.mean, ".mean", t.mean);
      gauge(!d.median, ".median", t.median);
      gauge(!d.stddev, ".std_dev", t.stddev);
      gauge(!d.sum_squares, ".sum_squares", t.sum_squares);
      std::string agg;
      for (const auto& p : s.PercentilesOf(t)) {
        double threshold = 0;
        if (!SplitPercentile(p.name, agg, threshold)) continue;
        Object g = Base(name + "." + agg + ".percentiles", "gauge", p.value, key);
        Object attrs;
        attrs.Str("statsdType", "gauge");
        SetTags(attrs, o_.tag_prefix, key);
        attrs.Num("percentile", threshold);
        g.Raw("attributes", attrs.Render());
        Add(g);
      }
    } else {
      if (!d.lower) timer.Num(o_.timer_min, t.min);
      if (!d.upper) timer.Num(o_.timer_max, t.max);
      if (!d.count) timer.Num(o_.timer_count, static_cast<double>(t.count));
      if (!d.sum) timer.Num(o_.timer_sum, t.sum);
      if (!d.count_per_second) timer.Num(o_.per_second, t.count_per_second);
      if (!d.mean) timer.Num(o_.timer_mean, t.mean);
      if (!d.median) timer.Num(o_.timer_median, t.median);
      if (!d.stddev) timer.Num(o_.timer_stddev, t.stddev);
      if (!d.sum_squares) timer.Num(o_.timer_sumsquare, t.sum_squares);
      for (const auto& p : s.PercentilesOf(t)) timer.Num(p.name, p.value);
    }
    Add(timer);
  }

  void MaybeEmit() {
    if (count_ + 20 >= per_batch_) Emit();
  }
  size_t Finish() {
    if (count_ > 0) Emit();
    return total_;
  }

 private:
  void Emit() {
    std::string body;
    switch (o_.flush_type) {
      case FlushType::kInsights:
        body = "[" + items_ + "]";
        break;
      case FlushType::kMetrics: {
        body = "[{\"common\":{\"attributes\":{\"integration.name\":\"GoStatsD\",";
        body += "\"integration.version\":";
        AppendJsonString(body, kIntegrationVersion);
        body += "},\"interval.ms\":";
        AppendJsonFloat(body, o_.flush_interval_seconds * 1000);
        body += "},\"metrics\":[" + items_ + "]}]";
        break;
      }
      case FlushType::kInfra:
        body = "{\"name\":";
        AppendJsonString(body, kIntegrationName);
        body += ",\"protocol_version\":\"2\",\"integration_version\":";
        AppendJsonString(body, kIntegrationVersion);
        body += ",\"data\":[{\"metrics\":[" + items_ + "]}]}";
        break;
    }
    emit_(std::move(body), count_);
    items_.clear();
    count_ = 0;
  }

  const FormatOptions& o_;
  int64_t now_;
  size_t per_batch_;
  const BatchFn& emit_;
  std::string items_;
  size_t count_ = 0;
  size_t total_ = 0;
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
    w.AddMetric("counter", static_cast<double>(c.value), c.per_second, *c.key, c.key->name());
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
        le = "le:";
        if (std::isinf(b.le) && b.le > 0) {
          le += "infinity";
        } else {
          AppendGoShortestFixed(le, b.le);
        }
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
