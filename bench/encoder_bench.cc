// Micro-benchmarks of every encoder: one flush snapshot of 10,000 series (7,000 counters with two
// tags, 1,000 gauges, 1,000 timers of 10 values with p90, 1,000 sets of 3 members) formatted by
// each backend's pure formatter, and a forwarder's merged map encoded as a pb.RawMessageV2 and
// compressed as it is posted. Items are series per second.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "aggregate/aggregator.h"
#include "backends/cloudwatch/cloudwatch_format.h"
#include "backends/datadog/datadog_format.h"
#include "backends/graphite/graphite_backend.h"
#include "backends/influxdb/influxdb_format.h"
#include "backends/newrelic/newrelic_format.h"
#include "backends/otlp/otlp_format.h"
#include "backends/statsdaemon/statsdaemon_backend.h"
#include "backends/stdout/stdout_backend.h"
#include "forward/raw_message.h"
#include "pipeline/pipeline.h"
#include "wire/compression.h"

namespace {

using namespace cstatsd;

constexpr int kSeries = 10000;

// The worker map of one interval: every series received (timers 10 values, sets 3 members).
MetricMap Interval() {
  pipeline::PipelineOptions opts;
  pipeline::Pipeline p(&opts);
  MetricMap map;
  ParsedMetric m;
  auto add = [&](MetricType type, int i, const char* name) {
    m.Clear();
    m.type = type;
    m.name = name;
    m.tags = {"env:prod", "service:checkout"};
    switch (type) {
      case MetricType::kCounter:
        m.values = {static_cast<double>(i % 7 + 1)};
        p.Receive(m, "10.0.0.1", 1, map);
        break;
      case MetricType::kGauge:
        m.values = {i * 0.5};
        p.Receive(m, "10.0.0.1", 1, map);
        break;
      case MetricType::kTimer:
        for (int v = 0; v < 10; ++v) {
          m.values = {static_cast<double>((i * 31 + v * 17) % 1000)};
          p.Receive(m, "10.0.0.1", 1, map);
        }
        break;
      case MetricType::kSet:
        for (const char* u : {"alice", "bob", "carol"}) {
          m.set_value = u;
          p.Receive(m, "10.0.0.1", 1, map);
        }
        break;
    }
  };
  std::string name;
  for (int i = 0; i < kSeries; ++i) {
    const MetricType type = i < 7000   ? MetricType::kCounter
                            : i < 8000 ? MetricType::kGauge
                            : i < 9000 ? MetricType::kTimer
                                       : MetricType::kSet;
    name = "shop.checkout.requests." + std::to_string(i);
    add(type, i, name.c_str());
  }
  return map;
}

const snapshot::FlushSnapshot& Snapshot() {
  static const snapshot::SnapshotPtr snap = [] {
    aggregate::AggregatorOptions o;
    o.keep_raw_values = true;  // statsdaemon and otlp's AsHistogram ask for them
    aggregate::Aggregator agg(o);
    MetricMap map = Interval();
    agg.Merge(map);
    return agg.Flush(2'000'000'000, 10.0);
  }();
  return *snap;
}

void Done(benchmark::State& state) { state.SetItemsProcessed(state.iterations() * kSeries); }

void BM_EncodeStdout(benchmark::State& state) {
  std::string out;
  config::DisabledSubMetrics disabled;
  for (auto _ : state) {
    out.clear();
    backends::stdout::StdoutBackend::Format(Snapshot(), disabled, out);
    benchmark::DoNotOptimize(out.data());
  }
  Done(state);
}
BENCHMARK(BM_EncodeStdout)->Unit(benchmark::kMillisecond);

void BM_EncodeGraphite(benchmark::State& state) {
  backends::graphite::GraphiteOptions o;
  o.mode = state.range(0) == 0 ? "tags" : "basic";
  std::string out;
  for (auto _ : state) {
    out.clear();
    backends::graphite::GraphiteBackend::Format(Snapshot(), o, out);
    benchmark::DoNotOptimize(out.data());
  }
  Done(state);
}
BENCHMARK(BM_EncodeGraphite)->Arg(0)->Arg(1)->ArgNames({"basic"})->Unit(benchmark::kMillisecond);

void BM_EncodeStatsdaemon(benchmark::State& state) {
  for (auto _ : state) {
    auto packets =
        backends::statsdaemon::StatsdaemonBackend::FormatPackets(Snapshot(), false, 1472);
    benchmark::DoNotOptimize(packets.data());
  }
  Done(state);
}
BENCHMARK(BM_EncodeStatsdaemon)->Unit(benchmark::kMillisecond);

void BM_EncodeInfluxdb(benchmark::State& state) {
  config::DisabledSubMetrics disabled;
  for (auto _ : state) {
    size_t bytes = 0;
    backends::influxdb::FormatMetrics(Snapshot(), disabled, 2, 1000,
                                      [&](std::string&& lines, size_t) { bytes += lines.size(); });
    benchmark::DoNotOptimize(bytes);
  }
  Done(state);
}
BENCHMARK(BM_EncodeInfluxdb)->Unit(benchmark::kMillisecond);

void BM_EncodeDatadog(benchmark::State& state) {
  config::DisabledSubMetrics disabled;
  for (auto _ : state) {
    size_t bytes = 0;
    backends::datadog::FormatSeries(Snapshot(), disabled, 2, 10.0, 1000,
                                    [&](std::string&& body, size_t) { bytes += body.size(); });
    benchmark::DoNotOptimize(bytes);
  }
  Done(state);
}
BENCHMARK(BM_EncodeDatadog)->Unit(benchmark::kMillisecond);

void BM_EncodeNewrelic(benchmark::State& state) {
  backends::newrelic::FormatOptions o;
  o.flush_type = state.range(0) == 0 ? backends::newrelic::FlushType::kInsights
                                     : backends::newrelic::FlushType::kMetrics;
  for (auto _ : state) {
    size_t bytes = 0;
    backends::newrelic::FormatMetrics(Snapshot(), o, 2, 1000,
                                      [&](std::string&& body, size_t) { bytes += body.size(); });
    benchmark::DoNotOptimize(bytes);
  }
  Done(state);
}
BENCHMARK(BM_EncodeNewrelic)->Arg(0)->Arg(1)->ArgNames({"metrics"})->Unit(benchmark::kMillisecond);

void BM_EncodeCloudwatch(benchmark::State& state) {
  config::DisabledSubMetrics disabled;
  for (auto _ : state) {
    auto bodies = backends::cloudwatch::FormatRequests(Snapshot(), disabled, "statsd", 2);
    benchmark::DoNotOptimize(bodies.requests.data());
  }
  Done(state);
}
BENCHMARK(BM_EncodeCloudwatch)->Unit(benchmark::kMillisecond);

void BM_EncodeOtlp(benchmark::State& state) {
  backends::otlp::FormatOptions o;
  o.as_histogram = state.range(0) == 1;
  std::string out;
  for (auto _ : state) {
    auto requests = backends::otlp::FormatMetrics(Snapshot(), o, 1000);
    for (const auto& r : requests) {
      out.clear();
      r.SerializeToString(&out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  Done(state);
}
BENCHMARK(BM_EncodeOtlp)->Arg(0)->Arg(1)->ArgNames({"histogram"})->Unit(benchmark::kMillisecond);

// The forwarder's post: the merged map as a pb.RawMessageV2, serialised, then compressed with
// the forwarder's default (zlib) or lz4, at the default compression-level 9.
void BM_EncodeForwarder(benchmark::State& state) {
  const MetricMap map = Interval();
  const wire::Compression c =
      state.range(0) == 0 ? wire::Compression::kZlib : wire::Compression::kLz4;
  std::string raw;
  for (auto _ : state) {
    const pb::RawMessageV2 message = forward::ToRawMessage(map);
    raw.clear();
    message.SerializeToString(&raw);
    auto body = wire::Compress(c, raw, 9);  // compression-level's default
    benchmark::DoNotOptimize(body);
  }
  Done(state);
}
BENCHMARK(BM_EncodeForwarder)->Arg(0)->Arg(1)->ArgNames({"lz4"})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
