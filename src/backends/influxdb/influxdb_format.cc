#include "backends/influxdb/influxdb_format.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "backends/common/timer_stats.h"
#include "core/go_format.h"

namespace cstatsd::backends::influxdb {
namespace {

// Measurement names escape space, comma and backslash; tag keys and values also '='. Newline,
// CR and tab are written as \n, \r, \t.
void AppendEscaped(std::string& out, std::string_view s, bool is_tag) {
  for (char ch : s) {
    switch (ch) {
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case ' ':
      case ',':
      case '\\':
        out += '\\';
        break;
      case '=':
        if (is_tag) out += '\\';
        break;
      default:
        break;
    }
    out += ch;
  }
}

void AppendQuoted(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    if (ch == '\\' || ch == '"') out += '\\';
    out += ch;
  }
  out += '"';
}

struct KeyValue {
  std::string_view key, value;
};

void AppendTagList(std::string& out, std::vector<KeyValue>& kvs) {
  std::sort(kvs.begin(), kvs.end(), [](const KeyValue& a, const KeyValue& b) {
    return a.key != b.key ? a.key < b.key : a.value < b.value;
  });
  for (size_t i = 0; i < kvs.size(); ++i) {
    if (i > 0 && kvs[i].key == kvs[i - 1].key) {
      out += "__";
    } else {
      out += ',';
      AppendEscaped(out, kvs[i].key, true);
      out += '=';
    }
    AppendEscaped(out, kvs[i].value, true);
  }
}

KeyValue SplitTag(std::string_view tag) {
  const size_t colon = tag.find(':');
  if (colon == std::string_view::npos) return {"unnamed", tag};
  return {tag.substr(0, colon), tag.substr(colon + 1)};
}

class Batcher {
 public:
  Batcher(size_t per_batch, int64_t now, const BatchFn& emit)
      : per_batch_(std::max<size_t>(per_batch, 1)), now_(now), emit_(emit) {}

  std::string& line() { return buf_; }
  // Ends the current line: " <timestamp>\n" (the flush's, or a timestamped sample's own).
  void End() { End(now_); }
  void End(int64_t timestamp) {
    buf_ += ' ';
    AppendInt(buf_, timestamp);
    buf_ += '\n';
    ++total_;
    if (++in_batch_ >= per_batch_) Emit();
  }
  size_t Finish() {
    if (in_batch_ > 0) Emit();
    return total_;
  }

 private:
  void Emit() {
    emit_(std::move(buf_), in_batch_);
    buf_.clear();
    in_batch_ = 0;
  }

  size_t per_batch_;
  int64_t now_;
  const BatchFn& emit_;
  std::string buf_;
  size_t in_batch_ = 0;
  size_t total_ = 0;
};

// `k=%g,` for each enabled field; the trailing comma is removed by the caller.
void Field(std::string& out, bool enabled, std::string_view name, double v) {
  if (!enabled) return;
  out += name;
  out += '=';
  AppendGoG(out, v);
  out += ',';
}

}  // namespace

void AppendNameTags(std::string& out, std::string_view name, std::string_view comma_tags) {
  AppendEscaped(out, name, false);
  std::vector<KeyValue> kvs;
  while (!comma_tags.empty()) {
    const size_t comma = comma_tags.find(',');
    kvs.push_back(SplitTag(comma_tags.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    comma_tags.remove_prefix(comma + 1);
  }
  AppendTagList(out, kvs);
  out += ' ';
}

size_t FormatMetrics(const snapshot::FlushSnapshot& s, const config::DisabledSubMetrics& d,
                     int64_t now_seconds, size_t per_batch, const BatchFn& emit) {
  Batcher b(per_batch, now_seconds, emit);
  for (const auto& c : s.counters) {
    std::string& out = b.line();
    AppendNameTags(out, c.key->name(), c.key->tags());
    out += "count=";
    if (s.float_counters) {  // docs/aggregation.md#float-counters
      AppendGoG(out, c.float_value);
    } else {
      AppendInt(out, c.value);
    }
    out += ",rate=";
    AppendGoG(out, c.per_second);
    b.End();
  }
  std::string fields;
  for (const auto& t : s.timers) {
    fields.clear();
    if (t.histogram) {
      for (const auto& bucket : s.BucketsOf(t)) {
        fields += "le.";
        AppendBucketBound(fields, bucket.le);
        fields += '=';
        AppendUint(fields, bucket.count);
        fields += ',';
      }
    } else {
      // InfluxDB's field names: "rate" for count_ps, "stddev" for std.
      ForEachTimerStat(s, t, d, [&](TimerStat stat, std::string_view name, double v) {
        if (stat == TimerStat::kCount) {
          fields += "count=";
          AppendInt(fields, t.count);
          fields += ',';
          return;
        }
        Field(fields, true,
              stat == TimerStat::kCountPerSecond ? "rate"
              : stat == TimerStat::kStddev       ? "stddev"
                                                 : name,
              v);
      });
    }
    if (fields.empty()) continue;  // every field disabled: no line
    fields.pop_back();
    std::string& out = b.line();
    AppendNameTags(out, t.key->name(), t.key->tags());
    out += fields;
    b.End();
  }
  for (const auto& g : s.gauges) {
    std::string& out = b.line();
    AppendNameTags(out, g.key->name(), g.key->tags());
    out += "value=";
    AppendGoG(out, g.value);
    b.End();
  }
  for (const auto& set : s.sets) {
    std::string& out = b.line();
    AppendNameTags(out, set.key->name(), set.key->tags());
    out += "count=";
    AppendUint(out, set.cardinality);
    b.End();
  }
  // Timestamped samples: the same lines at their own time (docs/backends.md#timestamps).
  for (const auto& c : s.timed_counters) {
    std::string& out = b.line();
    AppendNameTags(out, c.key->name(), c.key->tags());
    out += "count=";
    AppendInt(out, c.value);
    out += ",rate=";
    AppendGoG(out, c.per_second);
    b.End(c.timestamp);
  }
  for (const auto& g : s.timed_gauges) {
    std::string& out = b.line();
    AppendNameTags(out, g.key->name(), g.key->tags());
    out += "value=";
    AppendGoG(out, g.value);
    b.End(g.timestamp);
  }
  return b.Finish();
}

std::string FormatEvent(const Event& e) {
  std::vector<KeyValue> kvs;
  std::string event_tags;  // values of `eventtags*` tags, comma-joined into the `tags` field
  bool has_eventtags = false;
  bool has_host = false;
  for (const std::string& tag : e.tags) {
    std::string_view t = tag;
    if (t.starts_with("host:")) has_host = true;
    if (t.starts_with("eventtags")) {
      const size_t colon = t.find(':');
      if (colon != std::string_view::npos) {
        if (has_eventtags) event_tags += ',';
        event_tags += t.substr(colon + 1);
        has_eventtags = true;
      }
      continue;
    }
    kvs.push_back(SplitTag(t));
  }
  kvs.push_back({"priority", EventPriorityName(e.priority)});
  kvs.push_back({"alerttype", EventAlertTypeName(e.alert_type)});
  if (!e.source_type_name.empty()) kvs.push_back({"sourcetypename", e.source_type_name});
  if (!e.source.empty() && !has_host) kvs.push_back({"host", e.source});

  std::string out = "events";
  AppendTagList(out, kvs);
  out += " title=";
  AppendQuoted(out, e.title);
  out += ",text=";
  AppendQuoted(out, e.text);
  if (has_eventtags) {
    out += ",tags=";
    AppendQuoted(out, event_tags);
  }
  out += ' ';
  AppendInt(out, e.date_happened);
  out += '\n';
  return out;
}

}  // namespace cstatsd::backends::influxdb
