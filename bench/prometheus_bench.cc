// The prometheus backend's cost per flush for 1,000,000 series
// (docs/prometheus.md#backend-prometheus, docs/performance.md): the series store's update from a
// FlushSnapshot (steady state: every series known), the rendering of both exposition formats, and
// the deflate of the exposition as it is rendered, and the inflate a scrape without gzip causes.
// 1,000 metric names with 1,000 label values each: 800,000 counters, 100,000 gauges and 100,000 ms
// timers of 5 values (summaries, the default). Items are series.
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <string>

#include "backends/prometheus/gzip_stream.h"
#include "prometheus/series_store.h"

namespace {

using namespace cstatsd;
namespace prom = cstatsd::prometheus;

constexpr int kNames = 1000;
constexpr int kPerName = 1000;

SeriesKeyRef MakeKey(MetricType t, const std::string& name, const std::string& tags) {
  return SeriesKeyRef::Adopt(
      SeriesKey::Create(t, name, tags, "", SeriesKey::Hash(t, name, tags, "")));
}

const snapshot::FlushSnapshot& Snapshot() {
  static const snapshot::FlushSnapshot* s = [] {
    auto* snap = new snapshot::FlushSnapshot;
    snap->flush_time_ns = 1700000000000000000;
    snap->flush_seconds = 10;
    snap->has_raw_values = true;
    for (int n = 0; n < kNames; ++n) {
      const std::string name = "service.checkout.requests_" + std::to_string(n);
      for (int i = 0; i < kPerName; ++i) {
        const std::string tags = "env:prod,route:/api/v1/items/" + std::to_string(i);
        if (n < 800) {
          snap->counters.push_back({MakeKey(MetricType::kCounter, name, tags), i % 7 + 1, 0});
        } else if (n < 900) {
          snap->gauges.push_back({MakeKey(MetricType::kGauge, name, tags), i * 0.5});
        } else {
          snapshot::TimerPoint t;
          t.key = MakeKey(MetricType::kTimer, name, tags);
          t.count = 5;
          t.values_begin = static_cast<uint32_t>(snap->timer_values.size());
          for (int v = 0; v < 5; ++v) {
            const double x = 10.0 * (v + 1) + i % 13;
            snap->timer_values.push_back(x);
            t.sum += x;
          }
          t.values_end = static_cast<uint32_t>(snap->timer_values.size());
          snap->timers.push_back(std::move(t));
        }
      }
    }
    return snap;
  }();
  return *s;
}

double RssMb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, rss = 0;
  in >> pages >> rss;
  return static_cast<double>(rss) * 4096 / 1e6;
}

// The store after a first flush (the series created), shared by the benchmarks.
prom::SeriesStore& Store() {
  static prom::SeriesStore* store = [] {
    auto* st = new prom::SeriesStore(prom::StoreOptions{}, nullptr);
    st->Update(Snapshot());
    return st;
  }();
  return *store;
}

void BM_FirstFlushCreatesSeries(benchmark::State& state) {
  const auto& snap = Snapshot();
  for (auto _ : state) {
    const double before = RssMb();
    prom::SeriesStore store(prom::StoreOptions{}, nullptr);
    store.Update(snap);
    state.counters["store_mb"] = RssMb() - before;
    benchmark::DoNotOptimize(store.series());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(snap.series()));
}
BENCHMARK(BM_FirstFlushCreatesSeries)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_Update(benchmark::State& state) {
  const auto& snap = Snapshot();
  auto& store = Store();
  for (auto _ : state) store.Update(snap);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(snap.series()));
}
BENCHMARK(BM_Update)->Unit(benchmark::kMillisecond);

void BM_Render(benchmark::State& state) {
  const auto f = static_cast<prom::Format>(state.range(0));
  auto& store = Store();
  size_t size = 0;
  std::string out;  // reused, as the backend reuses the buffers of the exposition before
  for (auto _ : state) {
    out.clear();
    store.Render(f, out);
    size = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["body_mb"] = static_cast<double>(size) / 1e6;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(store.series()));
}
BENCHMARK(BM_Render)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_GzipOnce(benchmark::State& state) {
  std::string body;
  Store().Render(prom::Format::kText, body);
  size_t gz = 0;
  for (auto _ : state) {
    auto prefix = backends::prometheus::GzipStart(body);
    gz = prefix.bytes.size();
    benchmark::DoNotOptimize(prefix.bytes.data());
  }
  state.counters["gzip_mb"] = static_cast<double>(gz) / 1e6;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(Store().series()));
}
BENCHMARK(BM_GzipOnce)->Unit(benchmark::kMillisecond);

// What one flush costs the backend's thread (update, then the text rendering — the default,
// without `openmetrics` — deflated slice by slice, as the backend does), with the memory it takes
// beyond the store and the size of the compressed exposition it keeps.
void BM_FlushRenderCompressed(benchmark::State& state) {
  const auto& snap = Snapshot();
  auto& store = Store();
  double extra = 0;
  size_t kept = 0;
  std::string slice;
  for (auto _ : state) {
    const double before = RssMb();
    store.Update(snap);
    backends::prometheus::GzipWriter writer;
    slice.clear();
    store.Render(prom::Format::kText, slice, [&](std::string& s) {
      writer.Append(s);
      s.clear();
    });
    writer.Append(slice);
    const backends::prometheus::GzipPrefix gz = writer.Finish();
    kept = gz.bytes.size();
    extra = RssMb() - before;
    benchmark::DoNotOptimize(gz.bytes.data());
  }
  state.counters["extra_mb"] = extra;
  state.counters["kept_mb"] = static_cast<double>(kept) / 1e6;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(snap.series()));
}
BENCHMARK(BM_FlushRenderCompressed)->Unit(benchmark::kMillisecond);

// What a scrape without gzip costs the listener: the kept exposition inflated as it is sent, in
// libmicrohttpd's 64 KiB blocks.
void BM_PlainScrapeInflate(benchmark::State& state) {
  std::string body;
  Store().Render(prom::Format::kText, body);
  const backends::prometheus::GzipPrefix gz = backends::prometheus::GzipStart(body);
  body = std::string();
  std::string block(64 << 10, '\0');
  for (auto _ : state) {
    backends::prometheus::Inflater in(gz);
    while (in.Read(block.data(), block.size()) > 0) {
    }
    benchmark::DoNotOptimize(in.produced());
  }
  state.counters["text_mb"] = static_cast<double>(gz.length) / 1e6;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(Store().series()));
}
BENCHMARK(BM_PlainScrapeInflate)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
