#include "backends/datadog/datadog_format.h"

#include <cmath>
#include <limits>
#include <utility>

#include "backends/json/go_json.h"
#include "core/go_format.h"

namespace cstatsd::backends::datadog {
namespace {

using json::AppendJsonFloat;
using json::AppendJsonString;

class SeriesWriter {
 public:
  SeriesWriter(int64_t now, double interval, size_t per_batch, const BatchFn& emit)
      : per_batch_(per_batch), emit_(emit) {
    AppendJsonFloat(point_prefix_, static_cast<double>(now));
    AppendJsonFloat(interval_, interval);
  }

  // One series: {"host":..,"interval":..,"metric":..,"points":[[ts,v]],"tags":[..],"type":..}
  void Add(const SeriesKey& key, std::string_view suffix, std::string_view type, double value,
           std::string_view extra_tag = {}) {
    body_ += count_ == 0 ? "{\"series\":[" : ",";
    body_ += '{';
    if (!key.source().empty()) {
      body_ += "\"host\":";
      AppendJsonString(body_, key.source());
      body_ += ',';
    }
    if (interval_ != "0") {
      body_ += "\"interval\":";
      body_ += interval_;
      body_ += ',';
    }
    body_ += "\"metric\":";
    name_.assign(key.name());
    name_ += suffix;
    AppendJsonString(body_, name_);
    body_ += ",\"points\":[[";
    body_ += point_prefix_;
    body_ += ',';
    AppendValue(body_, value);
    body_ += "]]";
    if (!key.tags().empty() || !extra_tag.empty()) {
      body_ += ",\"tags\":[";
      bool first = true;
      key.ForEachTag([&](std::string_view t) {
        if (!first) body_ += ',';
        first = false;
        AppendJsonString(body_, t);
      });
      if (!extra_tag.empty()) {
        if (!first) body_ += ',';
        AppendJsonString(body_, extra_tag);
      }
      body_ += ']';
    }
    body_ += ",\"type\":\"";
    body_ += type;
    body_ += "\"}";
    ++count_;
    ++total_;
  }

  // After each series' group, as gostatsd: flush before the batch could outgrow the limit.
  void MaybeEmit() {
    if (count_ + 20 >= per_batch_) Emit();
  }
  size_t Finish() {
    if (count_ > 0) Emit();
    return total_;
  }

 private:
  void Emit() {
    body_ += "]}";
    emit_(std::move(body_), count_);
    body_.clear();
    count_ = 0;
  }

  size_t per_batch_;
  const BatchFn& emit_;
  std::string point_prefix_;  // the timestamp
  std::string interval_;
  std::string body_;
  std::string name_;
  size_t count_ = 0;
  size_t total_ = 0;
};

}  // namespace

void AppendValue(std::string& out, double v) {
  constexpr double kMax = std::numeric_limits<double>::max();
  if (std::isnan(v)) v = -1;
  if (std::isinf(v)) v = v > 0 ? kMax : -kMax;
  AppendJsonFloat(out, v);
}

size_t FormatSeries(const snapshot::FlushSnapshot& s, const config::DisabledSubMetrics& d,
                    int64_t now_seconds, double interval_seconds, size_t metrics_per_batch,
                    const BatchFn& emit) {
  SeriesWriter w(now_seconds, interval_seconds, metrics_per_batch, emit);
  for (const auto& c : s.counters) {
    w.Add(*c.key, "", "rate", c.per_second);
    w.Add(*c.key, ".count", "gauge", static_cast<double>(c.value));
    w.MaybeEmit();
  }
  std::string suffix, le;
  for (const auto& t : s.timers) {
    if (t.histogram) {
      for (const auto& b : s.BucketsOf(t)) {
        le = "le:";
        if (std::isinf(b.le) && b.le > 0) {
          le += "+Inf";
        } else {
          AppendGoShortestFixed(le, b.le);
        }
        w.Add(*t.key, ".histogram", "count", static_cast<double>(b.count), le);
      }
      w.MaybeEmit();
      continue;
    }
    if (!d.lower) w.Add(*t.key, ".lower", "gauge", t.min);
    if (!d.upper) w.Add(*t.key, ".upper", "gauge", t.max);
    if (!d.count) w.Add(*t.key, ".count", "gauge", static_cast<double>(t.count));
    if (!d.count_per_second) w.Add(*t.key, ".count_ps", "rate", t.count_per_second);
    if (!d.mean) w.Add(*t.key, ".mean", "gauge", t.mean);
    if (!d.median) w.Add(*t.key, ".median", "gauge", t.median);
    if (!d.stddev) w.Add(*t.key, ".std", "gauge", t.stddev);
    if (!d.sum) w.Add(*t.key, ".sum", "gauge", t.sum);
    if (!d.sum_squares) w.Add(*t.key, ".sum_squares", "gauge", t.sum_squares);
    for (const auto& p : s.PercentilesOf(t)) {
      suffix = ".";
      suffix += p.name;
      w.Add(*t.key, suffix, "gauge", p.value);
    }
    w.MaybeEmit();
  }
  for (const auto& g : s.gauges) {
    w.Add(*g.key, "", "gauge", g.value);
    w.MaybeEmit();
  }
  for (const auto& set : s.sets) {
    w.Add(*set.key, "", "gauge", static_cast<double>(set.cardinality));
    w.MaybeEmit();
  }
  return w.Finish();
}

std::string FormatEvent(const Event& e) {
  std::string out = "{\"title\":";
  AppendJsonString(out, e.title);
  out += ",\"text\":";
  AppendJsonString(out, e.text);
  if (e.date_happened != 0) {
    out += ",\"date_happened\":";
    AppendInt(out, e.date_happened);
  }
  auto optional = [&](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    out += ",\"";
    out += key;
    out += "\":";
    AppendJsonString(out, value);
  };
  optional("host", e.source);
  optional("aggregation_key", e.aggregation_key);
  optional("source_type_name", e.source_type_name);
  if (!e.tags.empty()) {
    out += ",\"tags\":[";
    for (size_t i = 0; i < e.tags.size(); ++i) {
      if (i > 0) out += ',';
      AppendJsonString(out, e.tags[i]);
    }
    out += ']';
  }
  optional("priority", e.priority == EventPriority::kLow ? "low" : "");
  if (e.alert_type != EventAlertType::kInfo)
    optional("alert_type", EventAlertTypeName(e.alert_type));
  out += '}';
  return out;
}

}  // namespace cstatsd::backends::datadog
