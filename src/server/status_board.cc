#include "server/status_board.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/series_limits.h"
#include "core/version.h"
#include "ingest/kernel_drops.h"
#include "server/heavy_hitters.h"
#include "server/top_k.h"

namespace cstatsd::server {
namespace {

// Counters kept by the per-name count: a name with more than 1/kNameCounters of the flush's
// series is always among them (docs/status-page.md#top-lists).
constexpr size_t kNameCounters = 4096;

// A series of the snapshot, by where it is: counters, timers, sets.
enum class Kind : uint8_t { kCounter, kTimer, kSet };

struct Candidate {
  double rate = 0;
  uint32_t index = 0;
  Kind kind = Kind::kCounter;
};

// Greater rate first; on a tie the series met first (a fixed order for a given snapshot).
struct ByRate {
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.rate != b.rate) return a.rate < b.rate;
    if (a.kind != b.kind) return a.kind > b.kind;
    return a.index > b.index;
  }
};

struct NameCandidate {
  uint64_t count = 0;
  uint64_t hash = 0;
  uint32_t entry = 0;
};

struct ByCount {
  bool operator()(const NameCandidate& a, const NameCandidate& b) const {
    if (a.count != b.count) return a.count < b.count;
    return a.hash > b.hash;
  }
};

MetricType TypeOf(Kind k) {
  return k == Kind::kCounter ? MetricType::kCounter
         : k == Kind::kTimer ? MetricType::kTimer
                             : MetricType::kSet;
}

// What the per-name count keeps of a name: one of its series (for the name) and the type.
struct NameItem {
  const SeriesKey* key = nullptr;
  MetricType type = MetricType::kCounter;
};

int64_t Millis(int64_t ns) { return ns / 1000000; }

nlohmann::json SampleJson(const StatusSample& s) {
  return {{"unix_ms", s.unix_ms},
          {"lines_per_second", s.lines_per_second},
          {"datagrams_per_second", s.datagrams_per_second},
          {"bad_lines_per_second", s.bad_lines_per_second},
          {"kernel_drops_per_second", s.kernel_drops_per_second},
          {"internal_drops_per_second", s.internal_drops_per_second},
          {"flush_ms", s.flush_ms},
          {"series", s.series}};
}

uint64_t SumDrops(const StatusTotals& t) {
  uint64_t n = 0;
  for (const auto& d : t.drops) n += d.count;
  return n;
}

}  // namespace

struct StatusBoard::Scratch {
  explicit Scratch(size_t k) : series(k), overflow(k), names(kNameCounters), top_names(k) {}
  TopK<Candidate, ByRate> series;
  TopK<Candidate, ByRate> overflow;
  HeavyHitters<NameItem> names;
  TopK<NameCandidate, ByCount> top_names;
};

StatusTotals ReadStatusTotals(const Components& parts, const aggregate::Aggregator* aggregator,
                              uint64_t timed_dropped) {
  StatusTotals t;
  const WorkerTotals w = SumWorkerCounters(parts);
  uint64_t service_checks = 0;
  for (const auto& worker : parts.workers) {
    service_checks += stats::Read(worker->counters().service_checks_received);
  }
  t.datagrams = w.datagrams;
  t.metrics = w.metrics;
  t.bad_lines = w.bad_lines;
  t.lines = w.metrics + w.events + service_checks + w.bad_lines;
  t.kernel_drops = ingest::KernelDrops(parts.fds);
  t.drops.push_back({"receiver.datagrams_truncated", w.truncated});
  if (aggregator != nullptr) {
    t.drops.push_back({"aggregator.series_dropped", aggregator->series_dropped()});
  }
  t.drops.push_back({"aggregator.timestamped_dropped", timed_dropped});
  if (parts.cloud) {
    const cloud::HandlerStats c = parts.cloud->stats();
    t.drops.push_back({"cloudprovider.items_dropped", c.items_dropped_metrics});
  }
  if (parts.forwarder) {
    t.drops.push_back({"http.forwarder.dropped", parts.forwarder->Totals().dropped});
  }
  if (parts.http_ingest) {  // series that HTTP ingestion's value rules refused
    uint64_t refused = 0;
    for (const auto& h : parts.http_servers) refused += stats::Read(h->counters().metrics_refused);
    t.drops.push_back({"http.incoming.metrics_refused", refused});
  }
  uint64_t checks_dropped = 0;
  for (const auto& r : parts.runners) {
    const backends::BackendStats& st = r->backend().stats();
    t.backends.push_back({std::string(r->backend().Name()), stats::Read(st.sent),
                          stats::Read(st.dropped), stats::Read(st.retried),
                          stats::Read(st.series_sent)});
    checks_dropped += stats::Read(st.service_checks_dropped);
  }
  if (!parts.runners.empty()) {
    t.drops.push_back({"backend.service_checks.dropped", checks_dropped});
  }
  return t;
}

std::string StatusJson(const StatusView& v) {
  using nlohmann::json;
  json j = json::object();
  j["version"] = v.version;
  j["started_unix_ms"] = v.started_unix_ms;
  j["unix_ms"] = v.unix_ms;
  j["interval_seconds"] = v.interval_seconds;
  j["last"] = SampleJson(v.last);
  j["flush_ms_max"] = v.flush_ms_max;
  j["status_ms"] = v.board_ms;
  j["totals"] = {{"datagrams", v.datagrams},
                 {"lines", v.lines},
                 {"bad_lines", v.bad_lines},
                 {"kernel_drops", v.kernel_drops},
                 {"internal_drops", v.internal_drops}};
  json drops = json::object();
  for (const auto& d : v.drops) drops[d.name] = d.count;
  j["drops"] = std::move(drops);
  j["series"] = {{"held", v.series},
                 {"flushed", v.snapshot_series},
                 {"overflow_series", v.overflow_series},
                 {"overflowed_total", v.series_overflowed},
                 {"dropped_total", v.series_dropped}};
  json backends = json::array();
  for (const auto& b : v.backends) {
    backends.push_back(
        {{"name", b.name},
         {"sent", b.sent},
         {"dropped", b.dropped},
         {"retried", b.retried},
         {"series_sent", b.series_sent},
         {"last_success_unix_ms",
          b.last_success_unix_ms > 0 ? json(b.last_success_unix_ms) : json(nullptr)}});
  }
  j["backends"] = std::move(backends);
  json top = json::array();
  for (const auto& s : v.top_series) {
    top.push_back({{"type", MetricTypeName(s.type)},
                   {"name", s.name},
                   {"tags", s.tags},
                   {"source", s.source},
                   {"rate", s.rate}});
  }
  j["top_series"] = std::move(top);
  auto names = [](const std::vector<StatusView::Name>& list, bool with_series) {
    json out = json::array();
    for (const auto& n : list) {
      json e = {{"type", MetricTypeName(n.type)}, {"name", n.name}};
      if (with_series) {
        e["series"] = n.series;
        e["series_min"] = n.series - n.error;
      } else {
        e["rate"] = n.rate;
      }
      out.push_back(std::move(e));
    }
    return out;
  };
  j["top_names"] = names(v.top_names, true);
  j["overflowing"] = names(v.overflowing, false);
  json history = json::array();
  for (const auto& s : v.history) history.push_back(SampleJson(s));
  j["history"] = std::move(history);

  const std::string raw = j.dump(-1, ' ', false, json::error_handler_t::replace);
  // `<`, `>` and `&` occur only inside strings in JSON: written as \u escapes (as Go's
  // encoding/json does), the document holds no markup whatever the metric names.
  std::string out;
  out.reserve(raw.size() + 64);
  for (char c : raw) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

StatusBoard::StatusBoard(int64_t started_unix_ms, size_t top_k, size_t history)
    : history_size_(history), scratch_(std::make_unique<Scratch>(top_k)) {
  ring_.reserve(history_size_);
  previous_ns_ = started_unix_ms * 1000000;
  auto v = std::make_shared<StatusView>();
  v->version = std::string(Version());
  v->started_unix_ms = started_unix_ms;
  view_ = std::move(v);
}

StatusBoard::~StatusBoard() = default;

std::shared_ptr<const StatusView> StatusBoard::View() const {
  std::lock_guard lock(mu_);
  return view_;
}

std::string StatusBoard::Json() {
  requested_.store(true, std::memory_order_relaxed);
  return StatusJson(*View());
}

void StatusBoard::Record(int64_t now_ns, double interval_seconds, const StatusTotals& totals,
                         const snapshot::FlushSnapshot* snap,
                         const aggregate::Aggregator* aggregator, double flush_ms) {
  const auto t0 = std::chrono::steady_clock::now();
  auto v = std::make_shared<StatusView>();
  v->version = std::string(Version());
  v->started_unix_ms = View()->started_unix_ms;
  v->unix_ms = Millis(now_ns);

  if (interval_seconds <= 0) interval_seconds = static_cast<double>(now_ns - previous_ns_) / 1e9;
  previous_ns_ = now_ns;
  const double seconds = interval_seconds > 0 ? interval_seconds : 1e-9;
  v->interval_seconds = interval_seconds;
  auto rate = [&](uint64_t now, uint64_t before) {
    return now >= before ? static_cast<double>(now - before) / seconds : 0.0;
  };
  const uint64_t internal_drops = SumDrops(totals);
  StatusSample s;
  s.unix_ms = v->unix_ms;
  s.lines_per_second = rate(totals.lines, previous_.lines);
  s.datagrams_per_second = rate(totals.datagrams, previous_.datagrams);
  s.bad_lines_per_second = rate(totals.bad_lines, previous_.bad_lines);
  s.kernel_drops_per_second = rate(totals.kernel_drops, previous_.kernel_drops);
  s.internal_drops_per_second = rate(internal_drops, SumDrops(previous_));
  s.flush_ms = flush_ms;
  s.series = aggregator != nullptr ? aggregator->series() : 0;
  if (ring_.size() < history_size_) {
    ring_.push_back(s);
  } else if (history_size_ > 0) {
    ring_[ring_next_] = s;
    ring_next_ = (ring_next_ + 1) % history_size_;
  }
  v->last = s;
  v->history.reserve(ring_.size());
  for (size_t i = 0; i < ring_.size(); ++i) {
    const StatusSample& h = ring_[(ring_next_ + i) % ring_.size()];
    v->history.push_back(h);
    v->flush_ms_max = std::max(v->flush_ms_max, h.flush_ms);
  }

  v->datagrams = totals.datagrams;
  v->lines = totals.lines;
  v->bad_lines = totals.bad_lines;
  v->kernel_drops = totals.kernel_drops;
  v->internal_drops = internal_drops;
  v->drops = totals.drops;
  if (aggregator != nullptr) {
    v->series = aggregator->series();
    v->overflow_series = aggregator->overflow_series();
    v->series_overflowed = aggregator->series_overflowed();
    v->series_dropped = aggregator->series_dropped();
  }
  // A backend's last success: the first flush that saw its delivered batches grow.
  last_success_ms_.resize(totals.backends.size(), 0);
  for (size_t i = 0; i < totals.backends.size(); ++i) {
    const StatusTotals::Backend& b = totals.backends[i];
    const bool grew =
        i < previous_.backends.size() ? b.sent > previous_.backends[i].sent : b.sent > 0;
    if (grew) last_success_ms_[i] = v->unix_ms;
    v->backends.push_back(
        {b.name, b.sent, b.dropped, b.retried, b.series_sent, last_success_ms_[i]});
  }
  if (requested_.exchange(false, std::memory_order_relaxed)) {
    names_until_ns_ = now_ns + kNamesWhileViewedNs;
  }
  // The names are counted while the page is watched, at most every kNamesEveryNs; in between
  // the last count is shown again (docs/status-page.md#cost).
  const bool count_names = now_ns < names_until_ns_ && now_ns >= names_next_ns_;
  if (count_names) names_next_ns_ = now_ns + kNamesEveryNs;
  if (snap != nullptr) TopLists(*snap, *v, count_names);
  if (snap == nullptr || now_ns >= names_until_ns_) {
    last_names_.clear();
    names_next_ns_ = 0;
  } else if (count_names) {
    last_names_ = v->top_names;
  } else {
    v->top_names = last_names_;
  }
  previous_ = totals;
  v->board_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard lock(mu_);
  view_ = std::move(v);
}

void StatusBoard::TopLists(const snapshot::FlushSnapshot& snap, StatusView& v, bool names) {
  Scratch& sc = *scratch_;
  sc.series.Clear();
  sc.overflow.Clear();
  sc.names.Clear();
  sc.top_names.Clear();
  v.snapshot_series = snap.series();
  const double seconds = snap.flush_seconds > 0 ? snap.flush_seconds : 1e-9;
  // One pass over every series: O(n log k), nothing allocated.
  auto offer = [&](const SeriesKey& key, double rate, uint32_t i, Kind kind) {
    const Candidate c{rate, i, kind};
    sc.series.Offer(c);
    if (IsOverflowKey(key)) {
      sc.overflow.Offer(c);
    } else if (names) {
      sc.names.Add(MetricNameHash(TypeOf(kind), key.name()), NameItem{&key, TypeOf(kind)});
    }
  };
  for (uint32_t i = 0; i < snap.counters.size(); ++i) {
    const auto& c = snap.counters[i];
    offer(*c.key, c.per_second, i, Kind::kCounter);
  }
  for (uint32_t i = 0; i < snap.timers.size(); ++i) {
    const auto& t = snap.timers[i];
    offer(*t.key, t.count_per_second, i, Kind::kTimer);
  }
  for (uint32_t i = 0; i < snap.sets.size(); ++i) {
    const auto& st = snap.sets[i];
    offer(*st.key, static_cast<double>(st.cardinality) / seconds, i, Kind::kSet);
  }
  if (names) {  // gauges have no rate: they count only towards their name's series
    for (const auto& g : snap.gauges) {
      if (IsOverflowKey(*g.key)) continue;
      sc.names.Add(MetricNameHash(MetricType::kGauge, g.key->name()),
                   NameItem{g.key.get(), MetricType::kGauge});
    }
  }
  auto key_of = [&](const Candidate& c) -> const SeriesKey& {
    switch (c.kind) {
      case Kind::kCounter:
        return *snap.counters[c.index].key;
      case Kind::kTimer:
        return *snap.timers[c.index].key;
      default:
        return *snap.sets[c.index].key;
    }
  };
  for (const Candidate& c : sc.series.Sorted()) {
    const SeriesKey& k = key_of(c);
    v.top_series.push_back({TypeOf(c.kind), std::string(k.name()), std::string(k.tags()),
                            std::string(k.source()), c.rate});
  }
  for (const Candidate& c : sc.overflow.Sorted()) {
    const SeriesKey& k = key_of(c);
    v.overflowing.push_back({TypeOf(c.kind), std::string(k.name()), 0, 0, c.rate});
  }
  for (size_t i = 0; i < sc.names.size(); ++i) {
    const auto& e = sc.names.entry(i);
    sc.top_names.Offer({e.count, e.hash, static_cast<uint32_t>(i)});
  }
  for (const NameCandidate& n : sc.top_names.Sorted()) {
    const auto& e = sc.names.entry(n.entry);
    v.top_names.push_back({e.item.type, std::string(e.item.key->name()), e.count, e.error, 0});
  }
}

}  // namespace cstatsd::server
