// The sharded forwarder's flush (docs/forwarder.md#sharding): a merged map of 10,000 series
// (7,000 counters, 1,000 gauges, 1,000 timers of 10 values, 1,000 sets of 3 members) split over
// N aggregators by the ring, each part serialised and compressed (zlib 9) as it is posted, for
// N = 1 (no ring: one request) and N = 3; and the ring's choice alone. Items are series.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "forward/raw_message.h"
#include "forward/shard_ring.h"
#include "pipeline/pipeline.h"
#include "wire/compression.h"

namespace {

using namespace cstatsd;

constexpr int kSeries = 10000;

MetricMap Merged() {
  pipeline::PipelineOptions opts;
  pipeline::Pipeline p(&opts);
  MetricMap map;
  ParsedMetric m;
  std::string name;
  for (int i = 0; i < kSeries; ++i) {
    const MetricType type = i < 7000   ? MetricType::kCounter
                            : i < 8000 ? MetricType::kGauge
                            : i < 9000 ? MetricType::kTimer
                                       : MetricType::kSet;
    name = "shop.checkout.requests." + std::to_string(i);
    m.Clear();
    m.type = type;
    m.name = name;
    m.tags = {"env:prod", "service:checkout"};
    const int values = type == MetricType::kTimer ? 10 : type == MetricType::kSet ? 3 : 1;
    const char* members[] = {"alice", "bob", "carol"};
    for (int v = 0; v < values; ++v) {
      m.values = {static_cast<double>((i * 31 + v * 17) % 1000)};
      m.set_value = members[v % 3];
      p.Receive(m, "10.0.0.1", 1, map);
    }
  }
  return map;
}

std::vector<std::string> Urls(int n) {
  std::vector<std::string> urls;
  for (int i = 0; i < n; ++i) urls.push_back("http://10.0.0." + std::to_string(i + 1) + ":8080");
  return urls;
}

// What SendMetrics does before the HTTP client: split, serialise, compress.
void BM_ForwarderFlush(benchmark::State& state) {
  const MetricMap map = Merged();
  const int n = static_cast<int>(state.range(0));
  const forward::ShardRing ring(Urls(n));
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (const forward::Partition& p :
         forward::PartitionByDynamicHeaders(map, {}, false, n > 1 ? &ring : nullptr)) {
      std::string raw;
      p.message.SerializeToString(&raw);
      auto body = wire::Compress(wire::Compression::kZlib, raw, 9);
      bytes += body.ok() ? body->size() : 0;
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations() * kSeries);
}
BENCHMARK(BM_ForwarderFlush)
    ->Arg(1)
    ->Arg(3)
    ->ArgNames({"aggregators"})
    ->Unit(benchmark::kMillisecond);

// Only the split (no serialising or compressing).
void BM_ForwarderPartition(benchmark::State& state) {
  const MetricMap map = Merged();
  const int n = static_cast<int>(state.range(0));
  const forward::ShardRing ring(Urls(n));
  for (auto _ : state) {
    auto parts = forward::PartitionByDynamicHeaders(map, {}, false, n > 1 ? &ring : nullptr);
    benchmark::DoNotOptimize(parts.data());
  }
  state.SetItemsProcessed(state.iterations() * kSeries);
}
BENCHMARK(BM_ForwarderPartition)
    ->Arg(1)
    ->Arg(3)
    ->ArgNames({"aggregators"})
    ->Unit(benchmark::kMillisecond);

// The ring's choice for one series (rendezvous: one mix per aggregator).
void BM_RingChoose(benchmark::State& state) {
  const forward::ShardRing ring(Urls(static_cast<int>(state.range(0))));
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  uint64_t sum = 0;
  for (auto _ : state) {
    sum += ring.Choose(h);
    h += 0x9e3779b97f4a7c15ULL;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RingChoose)->Arg(3)->Arg(10)->Arg(30)->ArgNames({"aggregators"});

}  // namespace

BENCHMARK_MAIN();
