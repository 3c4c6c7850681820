// The prometheus-remote-write backend's work per flush at 1,000,000 series
// (docs/prometheus.md#backend-prometheus-remote-write): every series of the cumulative store
// written as remote write WriteRequests of 2,000 samples (max-samples-per-send's default) and each
// compressed as a snappy block as it is cut, as SendMetrics does before it hands the requests to
// the HTTP client. The store holds 900,000 counters (1,000 names × 900 values of a `shard` tag,
// plus `env`) and 100,000 gauges with two labels; its Update is measured apart. Items are series
// per second.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "backends/prometheus_remote_write/prometheus_remote_write_backend.h"
#include "backends/prometheus_remote_write/prometheus_remote_write_format.h"
#include "prometheus/series_store.h"
#include "wire/compression.h"

namespace {

using namespace cstatsd;
namespace rw = backends::prometheus_remote_write;

constexpr int kCounters = 900000;
constexpr int kGauges = 100000;
constexpr int kSeries = kCounters + kGauges;
constexpr int64_t kFlushNs = 1700000000LL * 1000000000;

SeriesKeyRef Key(MetricType t, const std::string& name, const std::string& tags,
                 std::string_view source) {
  return SeriesKeyRef::Adopt(
      SeriesKey::Create(t, name, tags, source, SeriesKey::Hash(t, name, tags, source)));
}

const snapshot::FlushSnapshot& Snapshot() {
  static const snapshot::FlushSnapshot snap = [] {
    snapshot::FlushSnapshot s;
    s.flush_time_ns = kFlushNs;
    s.flush_seconds = 10;
    for (int i = 0; i < kCounters; ++i) {
      s.counters.push_back(
          {Key(MetricType::kCounter, "shop.checkout.requests_" + std::to_string(i % 1000),
               "env:prod,shard:" + std::to_string(i / 1000), ""),
           i % 7 + 1, 0});
    }
    for (int i = 0; i < kGauges; ++i) {
      s.gauges.push_back({Key(MetricType::kGauge, "shop.queue.depth_" + std::to_string(i % 100),
                              "region:eu-west-1,queue:" + std::to_string(i / 100), "10.0.0.1"),
                          i * 0.5});
    }
    return s;
  }();
  return snap;
}

cstatsd::prometheus::SeriesStore& Store() {
  static cstatsd::prometheus::SeriesStore* store = [] {
    cstatsd::prometheus::StoreOptions o;
    o.observer = cstatsd::prometheus::ObserverType::kHistogram;
    auto* s = new cstatsd::prometheus::SeriesStore(std::move(o), nullptr);
    s->Update(Snapshot());
    return s;
  }();
  return *store;
}

// EncodeStore + a snappy block per request: SendMetrics without the HTTP client.
void BM_RemoteWriteEncodeAndCompress(benchmark::State& state) {
  const cstatsd::prometheus::SeriesStore& store = Store();
  size_t raw = 0, compressed = 0, requests = 0;
  std::vector<std::string> bodies;
  for (auto _ : state) {
    raw = compressed = requests = 0;
    bodies.clear();
    rw::WriteRequestEncoder encoder(2000, kFlushNs / 1000000, [&](std::string_view body, size_t) {
      auto z = wire::Compress(wire::Compression::kSnappy, body, 0);
      raw += body.size();
      compressed += z->size();
      ++requests;
      bodies.push_back(std::move(*z));
    });
    rw::EncodeStore(store, encoder);
    encoder.Finish();
    benchmark::DoNotOptimize(bodies.data());
  }
  state.SetItemsProcessed(state.iterations() * kSeries);
  state.counters["requests"] = static_cast<double>(requests);
  state.counters["raw_MB"] = static_cast<double>(raw) / 1e6;
  state.counters["snappy_MB"] = static_cast<double>(compressed) / 1e6;
}
BENCHMARK(BM_RemoteWriteEncodeAndCompress)->Unit(benchmark::kMillisecond);

// The encoding alone (no compression).
void BM_RemoteWriteEncode(benchmark::State& state) {
  const cstatsd::prometheus::SeriesStore& store = Store();
  for (auto _ : state) {
    rw::WriteRequestEncoder encoder(2000, kFlushNs / 1000000);
    rw::EncodeStore(store, encoder);
    auto requests = encoder.Finish();
    benchmark::DoNotOptimize(requests.data());
  }
  state.SetItemsProcessed(state.iterations() * kSeries);
}
BENCHMARK(BM_RemoteWriteEncode)->Unit(benchmark::kMillisecond);

// The store's Update of a flush in which every series is received again.
void BM_RemoteWriteStoreUpdate(benchmark::State& state) {
  cstatsd::prometheus::SeriesStore& store = Store();
  for (auto _ : state) store.Update(Snapshot());
  state.SetItemsProcessed(state.iterations() * kSeries);
}
BENCHMARK(BM_RemoteWriteStoreUpdate)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
