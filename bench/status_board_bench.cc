// The status page's cost on the flusher thread (docs/status-page.md#cost): StatusBoard::Record
// over a flush snapshot of N counter series — the top series by rate alone (every flush), and
// with the top metric names by series (while the page is watched). Names: 1,000 series per
// name, or every series its own name (the worst case of the per-name count).
#include <benchmark/benchmark.h>

#include <string>

#include "server/status_board.h"

namespace {

using namespace cstatsd;

snapshot::FlushSnapshot MakeSnapshot(int64_t n, bool distinct_names) {
  snapshot::FlushSnapshot s;
  s.flush_seconds = 10;
  s.counters.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const std::string name = "loadtest.counter." + std::to_string(distinct_names ? i : i / 1000);
    const std::string tags = "host:h" + std::to_string(i % 1000);
    const uint64_t h = SeriesKey::Hash(MetricType::kCounter, name, tags, "");
    const int64_t v = (i * 7919) % 100000;
    s.counters.push_back(
        {SeriesKeyRef::Adopt(SeriesKey::Create(MetricType::kCounter, name, tags, "", h)), v,
         static_cast<double>(v) / 10});
  }
  return s;
}

// state.range(0): series; range(1): 1 = top names too; range(2): 1 = every name distinct.
void BM_StatusRecord(benchmark::State& state) {
  const auto snap = MakeSnapshot(state.range(0), state.range(2) == 1);
  server::StatusBoard board(0);
  server::StatusTotals totals;
  totals.backends = {{"graphite", 1, 0, 0, 1}};
  int64_t now = 1000000000;
  for (auto _ : state) {
    if (state.range(1) == 1) {  // watched: the names are counted (the request is not timed)
      state.PauseTiming();
      (void)board.Json();
      state.ResumeTiming();
    }
    board.Record(now, 10, totals, &snap, nullptr, 1);
    now += 10000000000;  // 10 s: past the names' refresh period
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StatusRecord)
    ->ArgsProduct({{10000, 1000000}, {0, 1}, {0}})
    ->Args({1000000, 1, 1})
    ->ArgNames({"series", "names", "distinct"})
    ->Unit(benchmark::kMillisecond);

// What an HTTP thread spends on one /status.json: the full ring of 600 samples, 10 of each list.
void BM_StatusJson(benchmark::State& state) {
  const auto snap = MakeSnapshot(10000, false);
  server::StatusBoard board(0);
  server::StatusTotals totals;
  totals.backends = {{"graphite", 1, 0, 0, 1}};
  (void)board.Json();
  for (int i = 1; i <= 600; ++i)
    board.Record(i * int64_t{1000000000}, 1, totals, &snap, nullptr, 1);
  size_t bytes = 0;
  for (auto _ : state) bytes = board.Json().size();
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_StatusJson)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
