// Micro-benchmarks of the aggregation path: a parsed line into a worker map (the per-line cost
// after parsing), merging worker maps, and the flush computations (counters, timers with
// percentiles, sets). The encoders are in encoder_bench.cc.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "aggregate/aggregator.h"
#include "ingest/worker.h"
#include "pipeline/pipeline.h"

namespace {

using namespace cstatsd;

std::vector<std::string> Names(int n, const char* prefix) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back(std::string(prefix) + std::to_string(i));
  return names;
}

void BM_ReceiveCounter(benchmark::State& state) {
  pipeline::PipelineOptions opts;
  pipeline::Pipeline p(&opts);
  MetricMap map;
  auto names = Names(static_cast<int>(state.range(0)), "loadtest.counter.");
  ParsedMetric m;
  m.type = MetricType::kCounter;
  m.values = {1};
  for (const auto& name : names) {  // warm: the steady state has every series in the map
    m.name = name;
    p.Receive(m, "127.0.0.1", 1, map);
  }
  size_t i = 0;
  for (auto _ : state) {
    m.name = names[i];
    p.Receive(m, "127.0.0.1", 1, map);
    if (++i == names.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReceiveCounter)->Arg(1000)->Arg(10000)->Arg(1000000);

void BM_ReceiveCounterWith3Tags(benchmark::State& state) {
  pipeline::PipelineOptions opts;
  pipeline::Pipeline p(&opts);
  MetricMap map;
  auto names = Names(10000, "loadtest.counter.");
  ParsedMetric m;
  m.type = MetricType::kCounter;
  m.values = {1};
  m.tags = {"tag2:7", "tag0:3", "tag1:1"};
  for (const auto& name : names) {
    m.name = name;
    p.Receive(m, "127.0.0.1", 1, map);
  }
  size_t i = 0;
  for (auto _ : state) {
    m.name = names[i];
    p.Receive(m, "127.0.0.1", 1, map);
    if (++i == names.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReceiveCounterWith3Tags);

// One datagram of the timed loop, out of line so that callgrind can count the steady state
// alone: `bench/callgrind_ir.sh build/bin/bench_aggregate 'BM_WorkerDatagram/kind:0$'
// '(anonymous namespace)::TimedDatagram'`
// (the warm-up, which creates every series, calls ProcessDatagram directly).
[[gnu::noipa]] void TimedDatagram(ingest::Worker& w, std::string& buf) {
  w.ProcessDatagram(buf.data(), buf.size(), "127.0.0.1", 1);
}

// Whole datagrams through a worker (parse + pipeline + map), ~25 lines each. With `filters`,
// a filter set that matches none of the lines: 1 = a prefix pattern, 2 = a regex.
// With `etsy`, gauge-deltas and float-counters on (docs/aggregation.md#etsy-statsd-options), and
// gauges (kind 3) written as deltas (`+N`).
void WorkerDatagrams(benchmark::State& state, int filters, bool etsy = false) {
  pipeline::PipelineOptions opts;
  opts.gauge_deltas = opts.float_counters = etsy;
  if (filters > 0) {
    filter::FilterSet set;
    filter::Filter f;
    f.match_metrics.push_back(
        std::move(*filter::Pattern::Parse(filters == 1 ? "other.*" : "regex:^other\\.")));
    f.drop_metric = true;
    set.Add(std::move(f));
    opts.filters = std::make_shared<const filter::FilterSet>(std::move(set));
  }
  // As in the server: the worker receives by series id into what the aggregator holds.
  aggregate::AggregatorOptions agg_opts;
  agg_opts.float_counters = etsy;
  aggregate::Aggregator agg(agg_opts);
  ingest::Worker w(0, -1, ingest::WorkerOptions{}, &opts, nullptr);
  w.AttachIndexes(&agg.counter_index(), &agg.gauge_index());
  std::mt19937 rng(1);
  std::vector<std::string> datagrams;
  // 0: counters, 1: timers, 2: counters with 3 DogStatsD tags (the loader's tags scenario:
  // 370 names x 3 x 3 x 3 tag values), 3: gauges.
  const int kind = static_cast<int>(state.range(0));
  const char* type = kind == 1 ? "ms" : kind == 3 ? "g" : "c";
  for (int d = 0; d < 1024; ++d) {
    std::string s;
    for (int l = 0; l < 25; ++l) {
      if (l) s += '\n';
      s += "loadtest.metric." + std::to_string(rng() % (kind == 2 ? 370 : 10000)) + ":" +
           (etsy && kind == 3 ? "+" : "") + std::to_string(rng() % 100) + "|" + type;
      if (kind == 2) {
        s += "|#tag0:" + std::to_string(rng() % 3) + ",tag1:" + std::to_string(rng() % 3) +
             ",tag2:" + std::to_string(rng() % 3);
      }
    }
    datagrams.push_back(s);
  }
  std::string buf;
  for (int pass = 0; pass < 2; ++pass) {  // warm: the series are new, then found by id
    for (const auto& d : datagrams) {
      buf = d;
      w.ProcessDatagram(buf.data(), buf.size(), "127.0.0.1", 1);
    }
    w.active_map().TakeReceivedIds();
    agg.Merge(w.active_map());  // what a flush does with a hand-over
  }
  size_t i = 0;
  for (auto _ : state) {
    buf = datagrams[i];
    TimedDatagram(w, buf);
    if (++i == datagrams.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations() * 25);
}

void BM_WorkerDatagram(benchmark::State& state) { WorkerDatagrams(state, 0); }
BENCHMARK(BM_WorkerDatagram)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->ArgNames({"kind"});

void BM_WorkerDatagramEtsyOptions(benchmark::State& state) { WorkerDatagrams(state, 0, true); }
BENCHMARK(BM_WorkerDatagramEtsyOptions)->Arg(0)->Arg(3)->ArgNames({"kind"});

void BM_WorkerDatagramFilterMatchingNothing(benchmark::State& state) {
  WorkerDatagrams(state, static_cast<int>(state.range(1)));
}
BENCHMARK(BM_WorkerDatagramFilterMatchingNothing)
    ->Args({0, 1})
    ->Args({0, 2})
    ->ArgNames({"kind", "filter"});

void FillCounters(MetricMap& map, int n) {
  pipeline::PipelineOptions opts;
  pipeline::Pipeline p(&opts);
  auto names = Names(n, "loadtest.counter.");
  ParsedMetric m;
  m.type = MetricType::kCounter;
  m.values = {1};
  for (const auto& name : names) {
    m.name = name;
    p.Receive(m, "127.0.0.1", 1, map);
  }
}

void BM_MergeAndFlushCounters(benchmark::State& state) {
  aggregate::Aggregator agg(aggregate::AggregatorOptions{});
  MetricMap map;
  const int n = static_cast<int>(state.range(0));
  FillCounters(map, n);
  for (auto _ : state) {
    for (auto& e : map.counters.entries()) {
      e.value.value = 1;
      e.value.last_ns = 1;  // received into at time 1
    }
    agg.Merge(map);
    auto snap = agg.Flush(2, 1.0);
    agg.Reset(2);
    benchmark::DoNotOptimize(snap);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_MergeAndFlushCounters)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMillisecond);

void BM_FlushTimers(benchmark::State& state) {
  aggregate::AggregatorOptions o;
  o.percent_thresholds = {90, 99};
  aggregate::Aggregator agg(o);
  pipeline::PipelineOptions opts;
  pipeline::Pipeline p(&opts);
  MetricMap map;
  std::mt19937 rng(1);
  auto names = Names(1000, "loadtest.timer.");
  ParsedMetric m;
  m.type = MetricType::kTimer;
  for (auto _ : state) {
    state.PauseTiming();
    for (const auto& name : names) {
      m.name = name;
      m.values.clear();
      for (int v = 0; v < 100; ++v) m.values.push_back(rng() % 1000);
      p.Receive(m, "", 1, map);
    }
    state.ResumeTiming();
    agg.Merge(map);
    auto snap = agg.Flush(2, 1.0);
    agg.Reset(2);
    benchmark::DoNotOptimize(snap);
  }
  state.SetItemsProcessed(state.iterations() * 1000 * 100);
}
BENCHMARK(BM_FlushTimers)->Unit(benchmark::kMillisecond);

// One gsd_histogram timer with max-histogram-bounds (100) bounds and 10^5 values: the flush of
// the series (issue 14 item 6; one scan of the values per bound took ~100x the binary search).
void BM_FlushHistogram(benchmark::State& state) {
  aggregate::Aggregator agg(aggregate::AggregatorOptions{});
  pipeline::PipelineOptions opts;
  pipeline::Pipeline p(&opts);
  MetricMap map;
  std::string tag = "gsd_histogram:";
  for (uint32_t i = 0; i < kDefaultMaxHistogramBounds; ++i) {
    tag += (i ? "_" : "") + std::to_string(i * 10);
  }
  std::mt19937 rng(1);
  ParsedMetric m;
  m.type = MetricType::kTimer;
  m.name = "loadtest.histogram";
  m.tags = {tag};
  for (auto _ : state) {
    state.PauseTiming();
    m.values.clear();
    for (int v = 0; v < 100000; ++v) m.values.push_back(rng() % 1100);
    p.Receive(m, "", 1, map);
    state.ResumeTiming();
    agg.Merge(map);
    auto snap = agg.Flush(2, 1.0);
    agg.Reset(2);
    benchmark::DoNotOptimize(snap);
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_FlushHistogram)->Unit(benchmark::kMillisecond);

void BM_FlushSets(benchmark::State& state) {
  aggregate::Aggregator agg(aggregate::AggregatorOptions{});
  pipeline::PipelineOptions opts;
  pipeline::Pipeline p(&opts);
  MetricMap map;
  auto names = Names(1000, "loadtest.set.");
  auto members = Names(100, "user");
  ParsedMetric m;
  m.type = MetricType::kSet;
  for (auto _ : state) {
    state.PauseTiming();
    for (const auto& name : names) {
      m.name = name;
      for (const auto& u : members) {
        m.set_value = u;
        p.Receive(m, "", 1, map);
      }
    }
    state.ResumeTiming();
    agg.Merge(map);
    auto snap = agg.Flush(2, 1.0);
    agg.Reset(2);
    benchmark::DoNotOptimize(snap);
  }
  state.SetItemsProcessed(state.iterations() * 1000 * 100);
}
BENCHMARK(BM_FlushSets)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
