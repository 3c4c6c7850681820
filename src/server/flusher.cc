#include "server/flusher.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "server/status_board.h"
#include "snapshot/timed_fold.h"

namespace cstatsd::server {
namespace {

constexpr auto kHandOverTimeout = std::chrono::milliseconds(1000);

double MillisSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int64_t Nanos(FlushClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Hands memory freed by the flush back to the kernel. Each flush frees what the interval
// allocated (the workers' first copies of new keys, expired series, a forwarder's whole merged
// map). glibc keeps freed memory in its arenas, so without this the RSS counts it as in use:
// with 1,000,000 live series, 607 → 436 bytes of RSS per series, for 0.03 ms (idle) to 15 ms
// (that load) per flush (docs/performance.md).
void ReturnFreedMemory() { malloc_trim(0); }

}  // namespace

void HandOverLedger::HandedOver(size_t id, uint64_t round) {
  Worker& w = workers_[id];
  if (w.late > 0) {
    --w.late;
  } else {
    w.round = round;
  }
  safe_ = std::min(safe_, w.round);
}

void HandOverLedger::Missed(size_t id) {
  Worker& w = workers_[id];
  w.late = 2;
  safe_ = std::min(safe_, w.round);
}

Flusher::Flusher(const config::Options& options, const pipeline::PipelineOptions* pipeline,
                 Components& parts, Now now)
    : options_(options),
      parts_(parts),
      now_(std::move(now)),
      interval_(options.flush_interval),
      aggregator_(aggregate::AggregatorOptions::From(options)),
      internal_stats_(options, pipeline),
      collector_(options, parts) {
  // Forwarder mode keeps no gauge and its forwarder retries (docs/state-file.md#forwarder-mode).
  if (!options.state_file.empty() && options.server_mode == "forwarder") {
    spdlog::warn("state-file is ignored in forwarder mode: the aggregator tier keeps the gauges");
  } else if (!options.state_file.empty()) {
    state_file_ = std::make_unique<state::StateFile>(options.state_file);
  }
}

int64_t Flusher::NowNanos() const { return Nanos(now_()); }

void Flusher::Attach(ingest::Worker& worker) {
  worker.AttachIndexes(&aggregator_.counter_index(), &aggregator_.gauge_index());
  worker.map(0).limits = worker.map(1).limits = aggregator_.limits();
}

// A state file left by the previous process is read by the first flush, before it merges what
// the workers received: reading a large one (2.8 s for 805,300 gauges) delays that flush, not
// the start of receiving (docs/state-file.md#what-the-next-start-does).
void Flusher::Start() { last_flush_ns_ = NowNanos(); }

void Flusher::RequestStop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
}

void Flusher::Run() {
  // gostatsd's forwarder ticks every http-transport.flush-interval, never aligned.
  const bool aligned = options_.flush_aligned && !parts_.forwarder;
  FlushSchedule schedule(interval_, aligned, options_.flush_offset,
                         Clock::time_point(std::chrono::duration_cast<Clock::duration>(
                             std::chrono::nanoseconds(last_flush_ns_))));
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    if (stop_cv_.wait_until(lock, schedule.next(), [&] { return stopping_; })) break;
    lock.unlock();
    const Clock::time_point started = now_();
    const FlushSchedule::Tick tick = schedule.Begin(started);
    {
      std::lock_guard flush_lock(flush_mu_);
      last_flush_ns_ = Nanos(tick.at);
      Flush(Nanos(started), tick.seconds > 0 ? tick.seconds : 1e-9);
    }
    // A flush that ran past the next tick: that tick is skipped (the next flush covers its
    // time), never queued behind it.
    const Clock::time_point ended = now_();
    if (const uint64_t skipped = schedule.End(ended); skipped > 0) {
      overruns_.fetch_add(1, std::memory_order_relaxed);
      if (overrun_log_.Allow()) {
        spdlog::warn(
            "flush took longer than the flush interval; the ticks that fell meanwhile are "
            "skipped and the next flush covers their time duration_ms={} interval_ms={} "
            "skipped={}",
            std::chrono::duration_cast<std::chrono::milliseconds>(ended - started).count(),
            std::chrono::duration_cast<std::chrono::milliseconds>(interval_).count(), skipped);
      }
    }
    lock.lock();
  }
}

void Flusher::ForwardNow() {
  std::lock_guard flush_lock(flush_mu_);
  ForwardFlush();
}

void Flusher::FinalFlush() {
  std::lock_guard flush_lock(flush_mu_);
  workers_stopped_ = true;
  const int64_t now = NowNanos();
  const double seconds = static_cast<double>(now - last_flush_ns_) / 1e9;
  final_snapshot_ = Flush(now, seconds > 0 ? seconds : 1e-9);
}

bool Flusher::FinalFlushDelivered(const BackendRunner& runner) const {
  return !final_snapshot_ || runner.last_sent_flush_ns() == final_snapshot_->flush_time_ns;
}

// docs/state-file.md#what-is-kept: the gauges the final flush reported that expiry keeps (not the
// internal metrics, last_ns 0: the next process makes its own), and the final flush itself for
// the backends it did not reach.
void Flusher::WriteState(const std::vector<std::string>& missed) {
  std::lock_guard flush_lock(flush_mu_);
  if (!state_file_ || !final_snapshot_) return;
  const snapshot::FlushSnapshot& last = *final_snapshot_;
  const int64_t expiry = options_.ExpiryGauge().count();
  state::State st;
  st.written_ns = NowNanos();
  for (const snapshot::GaugePoint& g : last.gauges) {
    const bool expired = expiry != 0 && last.flush_time_ns - g.last_ns > expiry;
    if (g.last_ns != 0 && !expired) st.gauges.push_back(g);
  }
  const size_t series = last.series() + last.timed_counters.size() + last.timed_gauges.size();
  if (!missed.empty() && series > 0) st.undelivered.push_back({missed, final_snapshot_});
  const size_t kept = st.undelivered.empty() ? 0 : series;
  std::string backends;
  for (const auto& b : missed) backends += (backends.empty() ? "" : ",") + b;
  if (st.gauges.empty() && st.undelivered.empty()) {
    spdlog::info("state file not written: no gauge, and every backend got the final flush path={}",
                 state_file_->path());
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::string bytes = state::Encode(st);
  if (Status w = state_file_->Write(bytes); !w.ok()) {
    spdlog::error("state file not written; the gauges{} are lost path={} error=\"{}\"",
                  kept > 0 ? " and the undelivered flush" : "", state_file_->path(), w.message());
    return;
  }
  spdlog::info(
      "state file written path={} bytes={} gauges={} undelivered_series={} "
      "undelivered_backends=[{}] duration_ms={:.1f}",
      state_file_->path(), bytes.size(), st.gauges.size(), kept, backends, MillisSince(t0));
}

void Flusher::RestoreState(int64_t now_ns) {
  const auto t0 = std::chrono::steady_clock::now();
  state::StateFile::Taken taken = state_file_->Take();
  if (!taken.state) {
    ++state_rejected_;
    spdlog::error(
        "state file refused; going on without it (its gauges and undelivered flush are lost) "
        "path={} reason=\"{}\" moved_to={}",
        state_file_->path(), taken.error, taken.renamed ? state_file_->bad_path() : "(not moved)");
    return;
  }
  if (!taken.error.empty()) {
    spdlog::error(
        "state file read but not removed; this process will not read it again path={} "
        "error=\"{}\"",
        state_file_->path(), taken.error);
  }
  ++state_restored_;
  const state::State& st = *taken.state;
  // Gauges: merged as a map received them at their own last-update time, so a value this process
  // received later wins, and expiry counts from when the value was last updated.
  const int64_t expiry = options_.ExpiryGauge().count();
  MetricMap m;
  size_t gauges = 0, expired = 0;
  for (const snapshot::GaugePoint& g : st.gauges) {
    if (expiry != 0 && now_ns - g.last_ns > expiry) {
      ++expired;
      continue;
    }
    const SeriesKey& k = *g.key;
    const KeyParts parts{
        MetricType::kGauge,
        std::string_view(k.name().data(), k.name().size() + k.tags().size() + k.source().size()),
        static_cast<uint32_t>(k.name().size()), static_cast<uint32_t>(k.tags().size())};
    m.ReceiveGauge(parts, k.hash(), g.value, g.last_ns);
    ++gauges;
  }
  aggregator_.Merge(m);
  // Undelivered flushes: to the backends named, once, with their own flush time.
  size_t resent = 0, flushes = 0;
  for (const state::UndeliveredFlush& u : st.undelivered) {
    snapshot::SnapshotPtr folded;
    for (const std::string& name : u.backends) {
      BackendRunner* runner = nullptr;
      for (auto& r : parts_.runners) {
        if (r && r->backend().Name() == name) runner = r.get();
      }
      if (runner == nullptr) {
        spdlog::warn(
            "state file: a flush kept for a backend that is not configured now is dropped "
            "backend={} flush_time={}",
            name, u.snapshot->flush_unix_seconds());
        continue;
      }
      if (!u.snapshot->has_timed() || runner->backend().TakesTimestamps()) {
        runner->EnqueueMetrics(u.snapshot);
      } else {
        if (!folded) folded = snapshot::FoldTimed(*u.snapshot);
        runner->EnqueueMetrics(folded);
      }
      ++flushes;
      resent += u.snapshot->series();
    }
  }
  state_restored_series_ += gauges + resent;
  spdlog::info(
      "state file restored path={} written_at={} gauges={} gauges_expired={} flushes_resent={} "
      "series_resent={} duration_ms={:.1f}",
      state_file_->path(), st.written_ns / 1000000000, gauges, expired, flushes, resent,
      MillisSince(t0));
}

void Flusher::CollectInternalMetrics() {
  figures_.aggregator = &aggregator_;
  figures_.overruns = overruns();
  figures_.timed_dropped_window = timed_dropped_window_;
  figures_.timed_dropped_limit = timed_dropped_full_;
  collector_.Collect(figures_, internal_stats_);
  if (state_file_) {  // docs/internal-metrics.md: state.*
    internal_stats_.SparseGauge("state.restored", state_restored_);
    internal_stats_.SparseGauge("state.restored_series", state_restored_series_);
    internal_stats_.SparseGauge("state.rejected", state_rejected_);
  }
}

void Flusher::LogSeriesLimits() {
  const aggregate::Aggregator::LimitNote note = aggregator_.TakeLimitNote();
  if (note.name.empty() || !limit_log_.Allow()) return;
  spdlog::warn(
      "series limit reached: new series of this metric go to its overflow series (tag {}) "
      "metric={} type={} limit={} overflowed_total={} dropped_total={}",
      kOverflowTag, note.name, MetricTypeName(note.type), note.limit,
      aggregator_.series_overflowed(), aggregator_.series_dropped());
}

uint64_t Flusher::MergeIngested() {
  uint64_t maps = 0;
  ledger_.Begin(parts_.workers.size());
  for (auto& w : parts_.workers) {
    if (workers_stopped_) {
      w->map(0).TakeReceivedIds();  // the thread is gone: what it received by id
      for (int i = 0; i < 2; ++i) {
        if (!w->map(i).empty()) ++maps;
        MergeTimed(w->map(i));
        aggregator_.MergeLent(w->map(i));
      }
      continue;
    }
    const auto id = static_cast<size_t>(w->id());
    MetricMap* m = w->HandOver(kHandOverTimeout);
    if (m == nullptr) {
      spdlog::warn(
          "worker did not hand over its metrics in time; they go with the next flush "
          "worker={}",
          w->id());
      ledger_.Missed(id);
      continue;
    }
    ledger_.HandedOver(id, aggregator_.round());
    if (!m->empty()) ++maps;
    MergeTimed(*m);
    aggregator_.MergeLent(*m);
  }
  aggregator_.ReleaseRetired(ledger_.safe());
  if (parts_.http_ingest) {
    // Series ingested over HTTP since the last flush (docs/http.md#ingestion).
    MetricMap& m = parts_.http_ingest->SwapForFlush();
    if (!m.empty()) ++maps;
    MergeTimed(m);
    aggregator_.MergeLent(m);
    // The flusher's until the next swap, then ingestion's again (under the target's mutex).
    m.limits = aggregator_.limits();
  }
  return maps;
}

void Flusher::MergeTimed(MetricMap& m) {
  if (m.timed.empty() && m.timed.dropped_window() == 0 && m.timed.dropped_full() == 0) return;
  const SeriesLimits* l = aggregator_.limits().get();
  if (l == nullptr || !l->enabled()) {
    timed_.MergeFrom(m.timed);
    return;
  }
  // As a worker map does for a series new to it: a point of a series the aggregator does not
  // hold, whose name (or the whole server) was at its limit at the last flush, goes to the name's
  // overflow series.
  timed_.MergeFrom(m.timed, [&](KeyParts& parts, uint64_t& hash) {
    const bool held = (parts.type == MetricType::kCounter
                           ? aggregator_.counter_index().Find(hash, parts)
                           : aggregator_.gauge_index().Find(hash, parts)) != kNoSeriesId;
    if (held || !(l->AllFull() || l->NameFull(MetricNameHash(parts.type, parts.name())))) return;
    overflow_key_.assign(parts.name());
    overflow_key_.append(kOverflowTag);
    parts = KeyParts{parts.type, overflow_key_, parts.name_len,
                     static_cast<uint32_t>(kOverflowTag.size())};
    hash = SeriesKey::Hash(parts);
  });
}

void Flusher::TakeTimed(snapshot::FlushSnapshot& out, double flush_seconds) {
  for (const TimedPoints::Point& p : timed_.points()) {
    const KeyParts parts = timed_.PartsOf(p);
    SeriesKeyRef key = SeriesKeyRef::Adopt(SeriesKey::Create(parts, p.series_hash));
    if (p.type == MetricType::kCounter) {
      out.timed_counters.push_back(
          {std::move(key), p.count, static_cast<double>(p.count) / flush_seconds, p.timestamp});
    } else {
      out.timed_gauges.push_back({std::move(key), p.value, p.timestamp});
    }
  }
  // Sorted by time, then by name, tags and source, so every flush writes them in one order.
  auto order = [](const auto& a, const auto& b) {
    return std::tuple(a.timestamp, a.key->name(), a.key->tags(), a.key->source()) <
           std::tuple(b.timestamp, b.key->name(), b.key->tags(), b.key->source());
  };
  std::sort(out.timed_counters.begin(), out.timed_counters.end(), order);
  std::sort(out.timed_gauges.begin(), out.timed_gauges.end(), order);
  timed_.Clear();
}

void Flusher::FoldTimedIntoAggregator() {
  if (!timed_.empty()) {
    MetricMap m;
    for (const TimedPoints::Point& p : timed_.points()) {
      const KeyParts parts = timed_.PartsOf(p);
      if (p.type == MetricType::kCounter && aggregator_.float_counters()) {
        // The aggregator's counters hold doubles (docs/aggregation.md#float-counters).
        m.ReceiveFloatCounter(parts, p.series_hash, static_cast<double>(p.count), p.last_ns);
      } else if (p.type == MetricType::kCounter) {
        m.ReceiveCounter(parts, p.series_hash, p.count, p.last_ns);
      } else {
        m.ReceiveGauge(parts, p.series_hash, p.value, p.timestamp * 1000000000);
      }
    }
    aggregator_.Merge(m);
    timed_.Clear();
  }
  LogTimedDrops();
}

void Flusher::LogTimedDrops() {
  const uint64_t window = timed_.dropped_window(), full = timed_.dropped_full();
  if (window == 0 && full == 0) return;
  timed_dropped_window_ += window;
  timed_dropped_full_ += full;
  timed_.ResetDropped();
  if (!timed_log_.Allow()) return;
  spdlog::warn(
      "timestamped samples dropped: a timestamp more than 1h old or 10m ahead, or past the "
      "limit of distinct timestamped points per interval outside_window={} over_limit={} "
      "outside_window_total={} over_limit_total={} limit={}",
      window, full, timed_dropped_window_, timed_dropped_full_, timed_.max_points());
}

// Forwarder mode (docs/forwarder.md#what-is-sent): the workers' maps are merged without
// aggregation (docs/aggregation.md#merge) together with the internal metrics, and the merged map
// goes to the forwarder, which encodes and queues it; the POST and its retries happen on the
// forwarder's thread.
void Flusher::ForwardFlush() {
  const auto t0 = std::chrono::steady_clock::now();
  // As gostatsd: internal metrics are produced every (top-level) flush-interval, while the
  // forwarder posts every http-transport.flush-interval; the final flush produces them too.
  const int64_t now = NowNanos();
  if (workers_stopped_ || now >= next_internal_ns_) {
    next_internal_ns_ = now + options_.flush_interval.count();
    CollectInternalMetrics();
  }
  MergeIngested();
  internal_stats_.Emit(internal_map_);
  aggregator_.Merge(internal_map_, /*limited=*/false);
  LogSeriesLimits();
  FoldTimedIntoAggregator();
  {
    const MetricMap merged = aggregator_.TakeState();
    parts_.forwarder->SendMetrics(merged);
  }
  ReturnFreedMemory();
  RecordStatus(now, 0, nullptr, MillisSince(t0));
}

void Flusher::RecordStatus(int64_t now_ns, double flush_seconds,
                           const snapshot::FlushSnapshot* snapshot, double flush_ms) {
  if (!parts_.status) return;
  const StatusTotals totals =
      ReadStatusTotals(parts_, &aggregator_, timed_dropped_window_ + timed_dropped_full_);
  parts_.status->Record(now_ns, flush_seconds, totals, snapshot, &aggregator_, flush_ms);
}

snapshot::SnapshotPtr Flusher::Flush(int64_t now_ns, double flush_seconds) {
  if (parts_.forwarder) {
    ForwardFlush();
    return nullptr;
  }
  // A state file that appeared since the start: another process stopped after this one started
  // (docs/state-file.md#hand-over). One stat() per flush.
  if (state_file_ && state_file_->Present()) RestoreState(now_ns);
  const auto t0 = std::chrono::steady_clock::now();
  CollectInternalMetrics();

  const uint64_t maps = MergeIngested();
  internal_stats_.Emit(internal_map_);
  aggregator_.Merge(internal_map_, /*limited=*/false);  // internal metrics are always kept
  figures_.maps_merged = maps;
  LogSeriesLimits();

  snapshot::SnapshotPtr snapshot = aggregator_.Flush(now_ns, flush_seconds);
  if (!timed_.empty()) {
    // Not published yet: the flusher holds the only reference to what the aggregator made.
    TakeTimed(*std::const_pointer_cast<snapshot::FlushSnapshot>(snapshot), flush_seconds);
  }
  LogTimedDrops();
  figures_.aggregation_ms = MillisSince(t0);
  const auto t1 = std::chrono::steady_clock::now();
  snapshot::SnapshotPtr folded;  // for the backends that cannot carry a timestamp
  for (auto& r : parts_.runners) {
    if (!snapshot->has_timed() || r->backend().TakesTimestamps()) {
      r->EnqueueMetrics(snapshot);
      continue;
    }
    if (!folded) folded = snapshot::FoldTimed(*snapshot);
    r->EnqueueMetrics(folded);
  }
  figures_.process_ms = MillisSince(t1);
  const auto t2 = std::chrono::steady_clock::now();
  aggregator_.Reset(now_ns);
  figures_.reset_ms = MillisSince(t2);
  // Only when series came or went lately: in the steady state a flush frees what the next
  // interval allocates again (Aggregator::FreedMemoryForGood).
  if (aggregator_.FreedMemoryForGood()) ReturnFreedMemory();
  figures_.total_ms = MillisSince(t0);
  RecordStatus(now_ns, flush_seconds, snapshot.get(), figures_.total_ms);
  return snapshot;
}

}  // namespace cstatsd::server
