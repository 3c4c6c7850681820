// How the flusher's work grows with the number of workers (docs/performance.md#flush-scaling):
// N workers' maps filled as the workers fill them (Pipeline::Receive into a map attached to the
// aggregator's indexes), then what one flush costs the flusher thread: each worker's hand-over
// (TakeReceivedIds, which the flusher waits for), the merge of every map into the Aggregator,
// Flush, Reset, and returning freed memory when series came or went, as Flusher::Flush does them
// (src/server/flusher.cc). Two spreads: each series in one worker only (SO_REUSEPORT hashes a
// client to one socket) and every series in every worker (the worst case).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "aggregate/aggregator.h"
#include "pipeline/pipeline.h"

namespace {

using namespace cstatsd;
using Clock = std::chrono::steady_clock;

enum Spread { kOneWorker = 0, kEveryWorker = 1 };

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A worker as the flusher sees it: its values by series id and the map it hands over (a real
// worker alternates two maps; the flusher's work per hand-over is the same).
struct SimWorker {
  IdValues ids;
  MetricMap map;
  std::vector<uint32_t> series;  // indexes into the names this worker receives
};

struct Setup {
  MetricType type;
  int series;             // distinct series
  int values_per_series;  // per interval, over all the workers that hold the series
  const char* prefix;
};

class Bench {
 public:
  Bench(const Setup& s, int workers, Spread spread)
      : setup_(s), agg_(Options()), pipeline_(&pipeline_opts_), workers_(workers) {
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);  // as the server (src/server/server.cc)
    names_.reserve(static_cast<size_t>(s.series));
    for (int i = 0; i < s.series; ++i) names_.push_back(s.prefix + std::to_string(i));
    for (int i = 0; i < s.series; ++i) {
      if (spread == kOneWorker) {
        workers_[static_cast<size_t>(i % workers)].series.push_back(static_cast<uint32_t>(i));
      } else {
        for (auto& w : workers_) w.series.push_back(static_cast<uint32_t>(i));
      }
    }
    for (auto& w : workers_) {
      w.ids.counters.index = &agg_.counter_index();
      w.ids.gauges.index = &agg_.gauge_index();
      w.map.ids = &w.ids;
    }
    // The first interval: every series is new, in the workers' tables; merged in worker
    // order, as the flusher does, which gives each worker's series their ids.
    Fill(1);
    Flush(2);
    Fill(3);  // and one interval of the steady state, so the maps' tables and vectors exist
    Flush(4);
    // Until the aggregator has seen no series come or go for long enough that the flusher
    // stops returning freed memory (Aggregator::FreedMemoryForGood): the steady state. Timers'
    // and sets' worker entries would be forgotten if idle, so they receive; counters and gauges
    // go by id and need no lines.
    const bool tables = s.type == MetricType::kTimer || s.type == MetricType::kSet;
    for (int64_t now = 5; now < 5 + 2 * (aggregate::Aggregator::kForgetAfterDrains + 2); now += 2) {
      if (tables) Fill(now);
      Flush(now + 1);
    }
  }

  // One interval's lines at `now_ns` into every worker's map.
  void Fill(int64_t now_ns) {
    ParsedMetric m;
    m.type = setup_.type;
    const int n = static_cast<int>(workers_.size());
    for (size_t w = 0; w < workers_.size(); ++w) {
      SimWorker& sw = workers_[w];
      // With every series in every worker, the series' values are split over the workers
      // (each worker receives one at least).
      int share = setup_.values_per_series;
      if (n > 1 && static_cast<int>(sw.series.size()) == setup_.series) {
        share = std::max(1, share / n + (static_cast<int>(w) < share % n ? 1 : 0));
      }
      for (uint32_t i : sw.series) {
        m.name = names_[i];
        for (int v = 0; v < share; ++v) {
          // 1..1000 in no order, so the flush sorts as it would real timings.
          m.values.assign(1, static_cast<double>((i * 7919u + static_cast<uint32_t>(v) * 104729u +
                                                  static_cast<uint32_t>(w) * 31u) %
                                                     1000u +
                                                 1));
          if (m.type == MetricType::kSet) member_ = "user" + std::to_string(w * 1000 + v);
          m.set_value = member_;
          pipeline_.Receive(m, "127.0.0.1", now_ns, sw.map);
        }
      }
    }
  }

  // What Flusher::Flush does with the workers' maps; the phases' times into `t`.
  struct Times {
    double take = 0, merge = 0, flush = 0, reset = 0, trim = 0, faults = 0, trims = 0;
  };
  snapshot::SnapshotPtr Flush(int64_t now_ns, Times* t = nullptr) {
    Times local;
    if (t == nullptr) t = &local;
    rusage r0{};
    getrusage(RUSAGE_SELF, &r0);
    const auto t0 = Clock::now();
    auto t1 = t0;
    for (auto& w : workers_) {
      w.map.TakeReceivedIds();  // the worker's part of the hand-over
      const auto a = Clock::now();
      t->take += Ms(t1, a);
      aggregator().Merge(w.map);
      t1 = Clock::now();
      t->merge += Ms(a, t1);
    }
    snapshot::SnapshotPtr snap = agg_.Flush(now_ns, 1.0);
    const auto t2 = Clock::now();
    agg_.Reset(now_ns);
    const auto t3 = Clock::now();
    // As Flusher::Flush: memory goes back to the kernel only after series came or went.
    if (agg_.FreedMemoryForGood() && trim_) {
      malloc_trim(0);
      ++t->trims;
    }
    const auto t4 = Clock::now();
    t->flush += Ms(t1, t2);
    t->reset += Ms(t2, t3);
    t->trim += Ms(t3, t4);
    rusage r1{};
    getrusage(RUSAGE_SELF, &r1);
    t->faults += static_cast<double>(r1.ru_minflt - r0.ru_minflt);
    return snap;
  }

  aggregate::Aggregator& aggregator() { return agg_; }
  size_t entries_per_flush() const {
    size_t n = 0;
    for (const auto& w : workers_) n += w.series.size();
    return n;
  }

 private:
  static aggregate::AggregatorOptions Options() {
    aggregate::AggregatorOptions o;
    o.percent_thresholds = {90, 99};
    return o;
  }

  Setup setup_;
  aggregate::Aggregator agg_;
  pipeline::PipelineOptions pipeline_opts_;
  pipeline::Pipeline pipeline_;
  std::vector<SimWorker> workers_;
  std::vector<std::string> names_;
  std::string member_;
  // FLUSH_SCALING_NO_TRIM=1: without the flusher's malloc_trim, to see what it costs.
  bool trim_ = std::getenv("FLUSH_SCALING_NO_TRIM") == nullptr;
};

void Run(benchmark::State& state, const Setup& setup) {
  const int workers = static_cast<int>(state.range(0));
  const auto spread = static_cast<Spread>(state.range(1));
  Bench b(setup, workers, spread);
  Bench::Times t;
  int64_t now = 100;
  size_t points = 0;
  for (auto _ : state) {
    state.PauseTiming();
    b.Fill(++now);
    state.ResumeTiming();
    snapshot::SnapshotPtr snap = b.Flush(++now, &t);
    state.PauseTiming();
    points = snap->counters.size() + snap->gauges.size() + snap->timers.size() + snap->sets.size();
    snap.reset();  // a backend runner's thread lets the snapshot go
    state.ResumeTiming();
  }
  const auto avg = benchmark::Counter::kAvgIterations;
  state.counters["take_ms"] = benchmark::Counter(t.take, avg);
  state.counters["merge_ms"] = benchmark::Counter(t.merge, avg);
  state.counters["flush_ms"] = benchmark::Counter(t.flush, avg);
  state.counters["reset_ms"] = benchmark::Counter(t.reset, avg);
  state.counters["trim_ms"] = benchmark::Counter(t.trim, avg);
  state.counters["faults"] = benchmark::Counter(t.faults, avg);
  state.counters["trims"] = benchmark::Counter(t.trims, avg);
  state.counters["entries"] = static_cast<double>(b.entries_per_flush());
  state.counters["series"] = static_cast<double>(points);
  state.counters["series/s"] = benchmark::Counter(static_cast<double>(points),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void Spreads(benchmark::internal::Benchmark* b) {
  for (int spread : {kOneWorker, kEveryWorker}) {
    for (int n : {2, 8, 16}) b->Args({n, spread});
  }
  b->ArgNames({"workers", "every"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

// 1,000,000 counter series: received by id (IdColumn), merged by id into the SeriesIndex.
void BM_FlushCounters(benchmark::State& state) {
  Run(state, {MetricType::kCounter, 1000000, 1, "loadtest.counter."});
}
BENCHMARK(BM_FlushCounters)->Apply(Spreads);

// Gauges take the counters' path (by id); 1,000,000 series.
void BM_FlushGauges(benchmark::State& state) {
  Run(state, {MetricType::kGauge, 1000000, 1, "loadtest.gauge."});
}
BENCHMARK(BM_FlushGauges)->Apply(Spreads);

// 10,000 timers of 100 values each (split over the workers that hold the series), p90 and p99:
// by key in the workers' tables, values appended at the merge, sorted at the flush.
void BM_FlushTimers(benchmark::State& state) {
  Run(state, {MetricType::kTimer, 10000, 100, "loadtest.timer."});
}
BENCHMARK(BM_FlushTimers)->Apply(Spreads);

// 10,000 sets of 100 distinct members each (split over the workers): members merged by hash.
void BM_FlushSets(benchmark::State& state) {
  Run(state, {MetricType::kSet, 10000, 100, "loadtest.set."});
}
BENCHMARK(BM_FlushSets)->Apply(Spreads);

}  // namespace

BENCHMARK_MAIN();
