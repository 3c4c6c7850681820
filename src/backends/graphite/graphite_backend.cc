#include "backends/graphite/graphite_backend.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "backends/common/timer_stats.h"
#include "config/config.h"
#include "core/go_format.h"

namespace cstatsd::backends::graphite {
namespace {

std::string_view TrimDots(std::string_view s) {
  while (!s.empty() && s.front() == '.') s.remove_prefix(1);
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

std::string Combine(std::string_view prefix, std::string_view suffix) {
  prefix = TrimDots(prefix);
  suffix = TrimDots(suffix);
  if (!prefix.empty() && !suffix.empty()) return std::string(prefix) + "." + std::string(suffix);
  return std::string(prefix.empty() ? suffix : prefix);
}

bool IsGoSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\v';
}

bool IsGraphiteChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// The namespaces of one mode, normalised once.
struct Namespaces {
  std::string counter, counter_count, timer, gauge, set, suffix;
  bool tags = false;
  bool legacy = false;
};

Namespaces MakeNamespaces(const GraphiteOptions& o) {
  Namespaces n;
  n.legacy = o.mode == "legacy";
  n.tags = o.mode == "tags";
  if (n.legacy) {
    n.counter = "stats";
    n.timer = Combine("stats", "timers");
    n.gauge = Combine("stats", "gauges");
    n.set = Combine("stats", "sets");
    n.counter_count = "stats_counts";
  } else {
    n.counter = GraphiteNormalise(Combine(o.global_prefix, o.prefix_counter));
    n.timer = GraphiteNormalise(Combine(o.global_prefix, o.prefix_timer));
    n.gauge = GraphiteNormalise(Combine(o.global_prefix, o.prefix_gauge));
    n.set = GraphiteNormalise(Combine(o.global_prefix, o.prefix_set));
    n.counter_count = n.counter;
  }
  n.suffix = GraphiteNormalise(TrimDots(o.global_suffix));
  return n;
}

// Appends <namespace>.<name>[.<agg>][.<suffix>][;tags][;host=<source>] to out.
void AppendName(const Namespaces& ns, std::string_view namespace_, const SeriesKey& key,
                std::string_view agg, std::string_view extra_tag, std::string& out) {
  if (!namespace_.empty()) {
    out += namespace_;
    out += '.';
  }
  out += GraphiteNormalise(key.name());
  if (!agg.empty()) {
    out += '.';
    out += agg;
  }
  if (!ns.suffix.empty()) {
    out += '.';
    out += ns.suffix;
  }
  if (!ns.tags) return;
  bool have_host = false;
  auto add_tag = [&](std::string_view tag) {
    out += ';';
    const size_t colon = tag.find(':');
    if (colon == std::string_view::npos) {
      out += "unnamed=";
      out += tag;
    } else {
      out += tag.substr(0, colon);
      out += '=';
      out += tag.substr(colon + 1);
    }
    if (tag.substr(0, 5) == "host:") have_host = true;
  };
  key.ForEachTag(add_tag);
  if (!extra_tag.empty()) add_tag(extra_tag);
  if (!have_host && !key.source().empty()) {
    out += ";host=";
    out += key.source();
  }
}

}  // namespace

std::string GraphiteNormalise(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (IsGoSpace(c)) {
      out += '_';
      while (i + 1 < s.size() && IsGoSpace(s[i + 1])) ++i;
    } else if (c == '/') {
      out += '-';
    } else if (IsGraphiteChar(c)) {
      out += c;
    }
  }
  return out;
}

Result<GraphiteOptions> GraphiteOptions::From(const config::Config& config) {
  GraphiteOptions o;
  o.disabled = config.options.disabled_sub_metrics;
  const config::Section sec = config.GetSection("graphite");
  std::string errors;
  auto str = [&](std::string_view key, std::string& field) {
    auto v = sec.GetString(key, field);
    if (v.ok()) {
      field = *v;
    } else {
      errors += v.error() + "\n";
    }
  };
  auto dur = [&](std::string_view key, std::chrono::nanoseconds& field) {
    auto v = sec.GetDuration(key, field);
    if (v.ok()) {
      field = *v;
    } else {
      errors += v.error() + "\n";
    }
  };
  str("address", o.address);
  dur("dial_timeout", o.dial_timeout);
  dur("write_timeout", o.write_timeout);
  str("mode", o.mode);
  str("global_prefix", o.global_prefix);
  str("global_suffix", o.global_suffix);
  str("prefix_counter", o.prefix_counter);
  str("prefix_timer", o.prefix_timer);
  str("prefix_gauge", o.prefix_gauge);
  if (sec.Has("prefix_sets") && !sec.Has("prefix_set")) {
    // The spelling of gostatsd's docs (docs/compatibility.md#decision-8).
    str("prefix_sets", o.prefix_set);
  } else {
    str("prefix_set", o.prefix_set);
  }
  if (o.address.empty()) {
    errors += "graphite.address: is required\n";
  } else if (Status s = config::CheckAddress(o.address, config::AddressKind::kDial); !s.ok()) {
    errors += "graphite.address: " + s.message() + "\n";
  }
  if (o.dial_timeout.count() <= 0) errors += "graphite.dial_timeout: must be positive\n";
  if (o.write_timeout.count() < 0) errors += "graphite.write_timeout: must not be negative\n";
  if (o.mode != "tags" && o.mode != "basic" && o.mode != "legacy") {
    errors += "graphite.mode: must be one of 'legacy', 'basic' or 'tags', got \"" + o.mode + "\"\n";
  }
  if (!errors.empty()) {
    errors.pop_back();
    return Status::Error(errors);
  }
  return o;
}

Result<std::unique_ptr<Backend>> GraphiteBackend::Create(const BackendContext& ctx) {
  auto o = GraphiteOptions::From(ctx.config);
  if (!o.ok()) return o.status();
  spdlog::info("created backend backend=graphite address={} mode={}", o->address, o->mode);
  return std::unique_ptr<Backend>(std::make_unique<GraphiteBackend>(std::move(*o)));
}

GraphiteBackend::GraphiteBackend(GraphiteOptions options)
    : options_(std::move(options)),
      client_(options_.address, options_.dial_timeout, options_.write_timeout) {}

void GraphiteBackend::Format(const snapshot::FlushSnapshot& s, const GraphiteOptions& o,
                             std::string& out) {
  const Namespaces ns = MakeNamespaces(o);
  int64_t ts = s.flush_unix_seconds();
  auto line_f = [&](std::string_view nspace, const SeriesKey& key, std::string_view agg, double v) {
    AppendName(ns, nspace, key, agg, {}, out);
    out += ' ';
    AppendGoF(out, v);
    out += ' ';
    AppendInt(out, ts);
    out += '\n';
  };
  auto line_d = [&](std::string_view nspace, const SeriesKey& key, std::string_view agg, int64_t v,
                    std::string_view extra_tag = {}) {
    AppendName(ns, nspace, key, agg, extra_tag, out);
    out += ' ';
    AppendInt(out, v);
    out += ' ';
    AppendInt(out, ts);
    out += '\n';
  };
  for (const auto& c : s.counters) {
    // float-counters: the count with its fraction (docs/aggregation.md#float-counters).
    if (ns.legacy) {
      if (s.float_counters) {
        line_f(ns.counter_count, *c.key, "", c.float_value);
      } else {
        line_d(ns.counter_count, *c.key, "", c.value);
      }
      line_f(ns.counter, *c.key, "", c.per_second);
    } else {
      if (s.float_counters) {
        line_f(ns.counter, *c.key, "count", c.float_value);
      } else {
        line_d(ns.counter, *c.key, "count", c.value);
      }
      line_f(ns.counter, *c.key, "rate", c.per_second);
    }
  }
  const auto& d = o.disabled;
  std::string le;
  for (const auto& t : s.timers) {
    const SeriesKey& key = *t.key;
    if (t.histogram) {
      for (const auto& b : s.BucketsOf(t)) {
        AssignBucketTag(le, b.le);
        line_d(ns.counter, key, "histogram", static_cast<int64_t>(b.count), le);
      }
      continue;
    }
    ForEachTimerStat(s, t, d, [&](TimerStat stat, std::string_view name, double v) {
      if (stat == TimerStat::kCount) {
        line_d(ns.timer, key, name, t.count);
      } else {
        line_f(ns.timer, key, name, v);
      }
    });
  }
  for (const auto& g : s.gauges) line_f(ns.gauge, *g.key, "", g.value);
  for (const auto& st : s.sets) line_d(ns.set, *st.key, "", static_cast<int64_t>(st.cardinality));
  // Timestamped samples: the same lines at their own time (docs/backends.md#timestamps).
  for (const auto& c : s.timed_counters) {
    ts = c.timestamp;
    if (ns.legacy) {
      line_d(ns.counter_count, *c.key, "", c.value);
      line_f(ns.counter, *c.key, "", c.per_second);
    } else {
      line_d(ns.counter, *c.key, "count", c.value);
      line_f(ns.counter, *c.key, "rate", c.per_second);
    }
  }
  for (const auto& g : s.timed_gauges) {
    ts = g.timestamp;
    line_f(ns.gauge, *g.key, "", g.value);
  }
}

Status GraphiteBackend::SendMetrics(const snapshot::FlushSnapshot& snapshot) {
  payload_.clear();
  Format(snapshot, options_, payload_);
  if (payload_.empty()) return {};
  // docs/compatibility.md#decision-5: a failed write — or a peer that reset the connection before
  // reading the whole payload — is retried once, at once, on a fresh connection; then the flush is
  // dropped (counted and logged by the runner). While Carbon cannot be reached, the dial of a later
  // flush waits out the client's backoff (0.5 s doubling to 30 s, ended by shutdown); flushes
  // arriving meanwhile wait in this backend's bounded queue.
  Status s = SendOnce(/*wait_for_backoff=*/true);
  if (!s.ok()) {
    BackendStats::Add(stats().retried, 1);
    if (retry_log_.Allow()) {
      spdlog::warn("graphite send failed, retrying once on a fresh connection error=\"{}\"",
                   s.message());
    }
    s = SendOnce(/*wait_for_backoff=*/false);
  }
  return s;
}

Status GraphiteBackend::SendOnce(bool wait_for_backoff) {
  if (Status s = client_.Write(payload_, wait_for_backoff); !s.ok()) return s;
  // A write that succeeded only reached the kernel: the half-close's answer says whether Carbon
  // read it all. One connection per flush (gostatsd re-dials every 100 payloads) costs a dial.
  const auto timeout =
      options_.write_timeout.count() > 0 ? options_.write_timeout : options_.dial_timeout;
  std::string error;
  switch (client_.Finish(timeout, &error)) {
    case TcpClient::Delivery::kConfirmed:
      return {};
    case TcpClient::Delivery::kReset:
      return Status::Error(
          fmt::format("peer {} reset the connection before reading the whole flush ({} bytes): {}",
                      options_.address, payload_.size(), error));
    case TcpClient::Delivery::kNoAnswer:
      if (no_answer_log_.Allow()) {
        spdlog::warn(
            "graphite peer did not close its side within {}ms after the flush; assuming it was "
            "delivered address={}",
            std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(),
            options_.address);
      }
      return {};
  }
  return {};
}

}  // namespace cstatsd::backends::graphite
