#include "backends/stdout/stdout_backend.h"

#include <cerrno>
#include <cstring>

#include "backends/common/timer_stats.h"
#include "core/go_format.h"

namespace cstatsd::backends::stdout {
namespace {

void AppendElement(std::string_view element, std::string& out) {
  if (element.empty()) return;
  out += '.';
  for (char c : element) out += c == ':' ? '.' : c;
}

// One line: <prefix><nk><suffix> <value> <ts>\n
struct LineWriter {
  std::string& out;
  std::string_view nk;
  int64_t ts;

  template <typename AppendValue>
  void Line(std::string_view prefix, std::string_view suffix, AppendValue&& value) {
    out += prefix;
    out += nk;
    out += suffix;
    out += ' ';
    value(out);
    out += ' ';
    AppendInt(out, ts);
    out += '\n';
  }
  void F(std::string_view prefix, std::string_view suffix, double v) {
    Line(prefix, suffix, [v](std::string& o) { AppendGoF(o, v); });
  }
  void D(std::string_view prefix, std::string_view suffix, int64_t v) {
    Line(prefix, suffix, [v](std::string& o) { AppendInt(o, v); });
  }
};

}  // namespace

Result<std::unique_ptr<Backend>> StdoutBackend::Create(const BackendContext& ctx) {
  return std::unique_ptr<Backend>(
      std::make_unique<StdoutBackend>(ctx.options.disabled_sub_metrics, ::stdout));
}

StdoutBackend::StdoutBackend(config::DisabledSubMetrics disabled, std::FILE* out)
    : disabled_(disabled), out_(out) {}

void StdoutBackend::AppendName(const SeriesKey& key, std::string& out) {
  out += key.name();
  key.ForEachTag([&](std::string_view tag) { AppendElement(tag, out); });
  if (!key.source().empty()) {
    out += ".s.";
    for (char c : key.source()) out += c == ':' ? '.' : c;
  }
}

void StdoutBackend::Format(const snapshot::FlushSnapshot& s,
                           const config::DisabledSubMetrics& disabled, std::string& out) {
  const int64_t ts = s.flush_unix_seconds();
  std::string nk;
  auto writer = [&](const SeriesKey& key) {
    nk.clear();
    AppendName(key, nk);
    return LineWriter{out, nk, ts};
  };
  for (const auto& c : s.counters) {
    LineWriter w = writer(*c.key);
    if (s.float_counters) {  // docs/aggregation.md#float-counters
      w.F("stats.counter.", ".count", c.float_value);
    } else {
      w.D("stats.counter.", ".count", c.value);
    }
    w.F("stats.counter.", ".per_second", c.per_second);
  }
  std::string bucket_suffix;
  for (const auto& t : s.timers) {
    LineWriter w = writer(*t.key);
    if (t.histogram) {
      for (const auto& b : s.BucketsOf(t)) {
        bucket_suffix = ".histogram.le:";
        AppendBucketBound(bucket_suffix, b.le);
        w.D("stats.timers.", bucket_suffix, static_cast<int64_t>(b.count));
      }
      continue;
    }
    ForEachTimerStat(s, t, disabled, [&](TimerStat stat, std::string_view name, double v) {
      const std::string_view dotted = DottedTimerStat(stat, name, bucket_suffix);
      if (stat == TimerStat::kCount) {
        w.D("stats.timers.", dotted, t.count);
      } else {
        w.F("stats.timers.", dotted, v);
      }
    });
  }
  for (const auto& g : s.gauges) writer(*g.key).F("stats.gauge.", "", g.value);
  for (const auto& st : s.sets) {
    writer(*st.key).D("stats.set.", "", static_cast<int64_t>(st.cardinality));
  }
}

void StdoutBackend::FormatEvent(const Event& e, std::string& out) {
  out += "event: {Title:";
  out += e.title;
  out += " Text:";
  out += e.text;
  out += " DateHappened:";
  AppendInt(out, e.date_happened);
  out += " AggregationKey:";
  out += e.aggregation_key;
  out += " SourceTypeName:";
  out += e.source_type_name;
  out += " Tags:[";
  for (size_t i = 0; i < e.tags.size(); ++i) {
    if (i > 0) out += ' ';
    out += e.tags[i];
  }
  out += "] Source:";
  out += e.source;
  out += " Priority:";
  out += EventPriorityName(e.priority);
  out += " AlertType:";
  out += EventAlertTypeName(e.alert_type);
  out += "}\n";
}

void StdoutBackend::FormatServiceCheck(const ServiceCheck& c, std::string& out) {
  out += "service_check: {Name:";
  out += c.name;
  out += " Status:";
  out += ServiceCheckStatusName(c.status);
  out += " Timestamp:";
  AppendInt(out, c.timestamp);
  out += " Tags:[";
  for (size_t i = 0; i < c.tags.size(); ++i) {
    if (i > 0) out += ' ';
    out += c.tags[i];
  }
  out += "] Source:";
  out += c.source;
  out += " ContainerId:";
  out += c.container_id;
  out += " Message:";
  for (const char ch : c.message) {
    if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  out += "}\n";
}

Status StdoutBackend::Write(const std::string& text) {
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), out_) != text.size()) {
    return Status::Error(std::string("stdout: write failed: ") + std::strerror(errno));
  }
  if (std::fflush(out_) != 0) {
    return Status::Error(std::string("stdout: flush failed: ") + std::strerror(errno));
  }
  return {};
}

Status StdoutBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  buffer_.clear();
  Format(snapshot, disabled_, buffer_);
  return Write(buffer_);
}

Status StdoutBackend::SendEvent(const Event& event) {
  buffer_.clear();
  FormatEvent(event, buffer_);
  return Write(buffer_);
}

Status StdoutBackend::SendServiceCheck(const ServiceCheck& check) {
  buffer_.clear();
  FormatServiceCheck(check, buffer_);
  return Write(buffer_);
}

}  // namespace cstatsd::backends::stdout
