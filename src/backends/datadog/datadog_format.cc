#include "backends/datadog/datadog_format.h"

#include <cmath>
#include <limits>
#include <utility>

#include "backends/common/go_json.h"
#include "backends/common/timer_stats.h"
#include "core/go_format.h"

namespace cstatsd::backends::datadog {
namespace {

class SeriesWriter {
 public:
  SeriesWriter(int64_t now, double interval, size_t per_batch, const BatchFn& emit)
      : batch_(per_batch, "{\"series\":[", "]}", emit) {
    AppendJsonFloat(point_prefix_, static_cast<double>(now));
    AppendJsonFloat(interval_, interval);
  }

  // One series: {"host":..,"interval":..,"metric":..,"points":[[ts,v]],"tags":[..],"type":..}
  void Add(const SeriesKey& key, std::string_view suffix, std::string_view type, double value,
           std::string_view extra_tag = {}) {
    std::string& body = batch_.Next();
    body += '{';
    if (!key.source().empty()) {
      body += "\"host\":";
      AppendJsonString(body, key.source());
      body += ',';
    }
    if (interval_ != "0") {
      body += "\"interval\":";
      body += interval_;
      body += ',';
    }
    body += "\"metric\":";
    name_.assign(key.name());
    name_ += suffix;
    AppendJsonString(body, name_);
    body += ",\"points\":[[";
    body += point_prefix_;
    body += ',';
    AppendValue(body, value);
    body += "]]";
    if (!key.tags().empty() || !extra_tag.empty()) {
      body += ",\"tags\":[";
      bool first = true;
      key.ForEachTag([&](std::string_view t) {
        if (!first) body += ',';
        first = false;
        AppendJsonString(body, t);
      });
      if (!extra_tag.empty()) {
        if (!first) body += ',';
        AppendJsonString(body, extra_tag);
      }
      body += ']';
    }
    body += ",\"type\":\"";
    body += type;
    body += "\"}";
  }

  // The timestamp of the points added from now on (unix seconds).
  void SetTimestamp(int64_t seconds) {
    point_prefix_.clear();
    AppendJsonFloat(point_prefix_, static_cast<double>(seconds));
  }

  void MaybeEmit() { batch_.MaybeEmit(); }
  size_t Finish() { return batch_.Finish(); }

 private:
  ItemBatcher batch_;
  std::string point_prefix_;  // the timestamp
  std::string interval_;
  std::string name_;
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
    w.Add(*c.key, ".count", "gauge", s.Count(c));
    w.MaybeEmit();
  }
  std::string suffix, le;
  for (const auto& t : s.timers) {
    if (t.histogram) {
      for (const auto& b : s.BucketsOf(t)) {
        AssignBucketTag(le, b.le);
        w.Add(*t.key, ".histogram", "count", static_cast<double>(b.count), le);
      }
      w.MaybeEmit();
      continue;
    }
    ForEachTimerStat(s, t, d, [&](TimerStat stat, std::string_view name, double v) {
      w.Add(*t.key, DottedTimerStat(stat, name, suffix),
            stat == TimerStat::kCountPerSecond ? "rate" : "gauge", v);
    });
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
  // Timestamped samples: the same series, each point at its own time (docs/backends.md#timestamps).
  for (const auto& c : s.timed_counters) {
    w.SetTimestamp(c.timestamp);
    w.Add(*c.key, "", "rate", c.per_second);
    w.Add(*c.key, ".count", "gauge", static_cast<double>(c.value));
    w.MaybeEmit();
  }
  for (const auto& g : s.timed_gauges) {
    w.SetTimestamp(g.timestamp);
    w.Add(*g.key, "", "gauge", g.value);
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

std::string FormatServiceCheck(const ServiceCheck& c) {
  std::string out = "[{\"check\":";
  AppendJsonString(out, c.name);
  out += ",\"host_name\":";
  AppendJsonString(out, c.source);
  out += ",\"status\":";
  AppendInt(out, static_cast<int64_t>(c.status));
  if (c.timestamp != 0) {
    out += ",\"timestamp\":";
    AppendInt(out, c.timestamp);
  }
  if (!c.message.empty()) {
    out += ",\"message\":";
    AppendJsonString(out, c.message);
  }
  out += ",\"tags\":[";
  for (size_t i = 0; i < c.tags.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, c.tags[i]);
  }
  out += "]}]";
  return out;
}

}  // namespace cstatsd::backends::datadog
