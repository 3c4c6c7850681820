// Flusher: the flusher thread's work — hand-over rounds, the merge into the aggregator, the flush
// to the backends (or, in forwarder mode, to the forwarder), internal metrics, and the decision of
// when a retired series id may be freed. Owns the Aggregator; the Server creates the thread.
//
// The hand-over protocol (docs/architecture.md, steps 4–5):
//  1. Each flush the flusher asks every worker for its map (Worker::HandOver, bounded wait). The
//     worker, between two batches, copies what it received by id into the map and hands it over;
//     it never waits for the flusher. HTTP ingestion's map is swapped under its target's mutex.
//  2. The flusher merges the maps, then Reset (or TakeState) ends an aggregator round: a counter
//     or gauge erased then leaves the index at once but its id and key are only *retired*,
//     stamped with that round (SeriesIndex), since a worker may have found the id just before.
//  3. A retired id is safe to free once every worker has handed over in a later round: between
//     two batches a worker holds nothing from the index. A worker that missed a hand-over may
//     still deliver its late map with either of its next two hand-overs, so its round stays
//     where it was until then (HandOverLedger). Release happens right after the hand-overs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aggregate/aggregator.h"
#include "config/options.h"
#include "core/metric_map.h"
#include "core/timed_points.h"
#include "ingest/worker.h"
#include "pipeline/pipeline.h"
#include "server/backend_runner.h"
#include "server/components.h"
#include "server/flush_schedule.h"
#include "server/internal_metrics_collector.h"
#include "server/internal_stats.h"
#include "state/state_file.h"
#include "stats/rate_limiter.h"

namespace cstatsd::server {

// Which aggregator round each worker last handed over in, and from that the oldest round below
// which retired ids may be freed (`safe`: every worker has handed over in a round >= it).
// Flusher thread only; pure bookkeeping, so tests drive it without threads.
class HandOverLedger {
 public:
  // Starts a pass over `workers` workers (ids 0..workers-1; the TCP input's worker comes last).
  void Begin(size_t workers) {
    workers_.resize(workers);
    safe_ = UINT64_MAX;
  }
  // Worker `id` handed over while the aggregator was in round `round`.
  void HandedOver(size_t id, uint64_t round);
  // Worker `id` did not hand over in time: the map it switches to late reaches the aggregator
  // only with its second hand-over from now, and may name old ids until then.
  void Missed(size_t id);
  // After the pass: what was retired in a round before this may be freed (UINT64_MAX when no
  // worker took part: nothing can still hold an id).
  uint64_t safe() const { return safe_; }

 private:
  struct Worker {
    uint64_t round = 0;  // the round after which everything it received had been merged
    int late = 0;        // hand-overs that round still waits for after a missed one
  };
  std::vector<Worker> workers_;
  uint64_t safe_ = UINT64_MAX;
};

class Flusher {
 public:
  using Clock = FlushClock;
  using Now = std::function<Clock::time_point()>;

  // `parts` and `pipeline` outlive the flusher. `now` is the clock every flush reads (tests
  // inject their own).
  Flusher(const config::Options& options, const pipeline::PipelineOptions* pipeline,
          Components& parts, Now now = &Clock::now);

  aggregate::Aggregator& aggregator() { return aggregator_; }
  // flush-interval, or http-transport.flush-interval in forwarder mode. Before Start.
  void set_interval(config::Duration interval) { interval_ = interval; }
  config::Duration interval() const { return interval_; }

  // Before the worker runs: it looks series up in the aggregator's indexes and its maps obey
  // the aggregator's series limits.
  void Attach(ingest::Worker& worker);
  // Counting starts (the server's start): the first timed flush is one interval later.
  void Start();

  // The flusher thread's body: flushes on schedule until RequestStop(). A tick that falls
  // while a flush runs is skipped, not queued (FlushSchedule).
  void Run();
  void RequestStop();  // any thread

  // Forwarder mode, any thread but a worker's: merges and forwards now, serialised with the
  // timed flushes.
  void ForwardNow();
  // The last flush, once every worker thread has exited: takes both of each worker's maps.
  void FinalFlush();

  // state-file (docs/state-file.md). Whether the final flush reached this runner's backend (true
  // without a final flush to deliver).
  bool FinalFlushDelivered(const BackendRunner& runner) const;
  // After the backends stopped: writes the gauges and, when `missed` names backends the final
  // flush did not reach, that flush for them. Nothing without state-file or in forwarder mode.
  void WriteState(const std::vector<std::string>& missed);

  uint64_t overruns() const { return overruns_.load(std::memory_order_relaxed); }

 private:
  int64_t NowNanos() const;
  // One flush at `now_ns` over `flush_seconds`; flush_mu_ held. The snapshot the backends got
  // (null in forwarder mode).
  snapshot::SnapshotPtr Flush(int64_t now_ns, double flush_seconds);
  void ForwardFlush();  // forwarder mode's flush: merge, then hand to the forwarder
  // Merges what the workers and HTTP ingestion received since the last flush and frees the
  // retired ids that became safe; returns how many non-empty maps there were.
  uint64_t MergeIngested();
  // Moves a map's timestamped points into timed_, under the series limits
  // (docs/aggregation.md#timestamped-samples).
  void MergeTimed(MetricMap& m);
  // The interval's timestamped points into the snapshot (sorted), then timed_ emptied.
  void TakeTimed(snapshot::FlushSnapshot& out, double flush_seconds);
  // Forwarder mode: the timestamped points merged into the aggregator's interval (the wire has no
  // timestamp), then timed_ emptied.
  void FoldTimedIntoAggregator();
  void LogTimedDrops();
  void CollectInternalMetrics();
  void LogSeriesLimits();  // a folded or dropped series, at a limited rate
  // state-file: reads the file (when one is there that was not read yet: one stat()) and merges
  // it: gauges into the aggregator, an undelivered flush to the backends it names. flush_mu_ held
  // (or before the flusher thread starts).
  void RestoreState(int64_t now_ns);
  // The status page's record of this flush (docs/status-page.md), when a server enables it.
  // `flush_seconds` 0: since the previous record.
  void RecordStatus(int64_t now_ns, double flush_seconds, const snapshot::FlushSnapshot* snapshot,
                    double flush_ms);

  const config::Options& options_;
  Components& parts_;
  const Now now_;
  config::Duration interval_;
  aggregate::Aggregator aggregator_;
  InternalStats internal_stats_;
  InternalMetricsCollector collector_;
  MetricMap internal_map_;
  HandOverLedger ledger_;
  TimedPoints timed_;         // the interval's timestamped points, merged from every map
  std::string overflow_key_;  // scratch: name + kOverflowTag (MergeTimed)
  stats::RateLimiter timed_log_{6};
  uint64_t timed_dropped_window_ = 0;  // timestamped samples dropped since the start: outside
  uint64_t timed_dropped_full_ = 0;    // the window, past the limit of points

  // state-file (docs/state-file.md): null without it or in forwarder mode. The final flush's
  // snapshot is kept for WriteState; the counts are reported as state.* internal metrics.
  std::unique_ptr<state::StateFile> state_file_;
  snapshot::SnapshotPtr final_snapshot_;
  uint64_t state_restored_ = 0;         // files read and merged
  uint64_t state_restored_series_ = 0;  // gauges restored + series of the flushes sent again
  uint64_t state_rejected_ = 0;         // files refused (renamed aside)

  std::mutex flush_mu_;           // serialises flushes (timed, ForwardNow, final)
  bool workers_stopped_ = false;  // their threads joined: both maps are the flusher's
  int64_t last_flush_ns_ = 0;     // the previous flush's tick
  int64_t next_internal_ns_ = 0;  // forwarder mode: when internal metrics are next produced
  FlushFigures figures_;          // of the previous flush, reported at the next one
  std::atomic<uint64_t> overruns_{0};
  stats::RateLimiter overrun_log_{6};  // log lines per minute
  stats::RateLimiter limit_log_{6};

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace cstatsd::server
