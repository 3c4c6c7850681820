// MappingConfig::Resolve (docs/prometheus.md#mapping): distinct statsd names against a file of
// 100 mappings (90 globs, 10 regexes), a third matching a glob, a third a regex, a third none.
// Resolve runs once per new series, so the cost that matters is that of many distinct names.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "prometheus/mapping.h"

namespace {

using cstatsd::prometheus::MappingConfig;
using cstatsd::prometheus::StatsdKind;

MappingConfig HundredMappings() {
  std::string yaml = "mappings:\n";
  for (int i = 0; i < 90; ++i) {
    const std::string n = std::to_string(i);
    yaml += "- match: \"svc" + n + ".*.requests.*\"\n  name: \"svc" + n +
            "_requests_total\"\n  labels: {host: \"$1\", code: \"$2\"}\n";
  }
  for (int i = 0; i < 10; ++i) {
    const std::string n = std::to_string(i);
    yaml += "- match: \"^app" + n +
            "\\\\.([^.]+)\\\\.latency\\\\.(\\\\w+)$\"\n  match_type: regex\n"
            "  name: \"app" +
            n + "_latency\"\n  labels: {host: \"$1\", op: \"$2\"}\n";
  }
  auto c = MappingConfig::Parse(yaml, "bench.yml");
  if (!c.ok()) std::abort();
  return std::move(*c);
}

std::vector<std::string> DistinctNames(size_t count) {
  std::vector<std::string> names;
  names.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    switch (i % 3) {
      case 0:
        names.push_back("svc" + std::to_string(i % 90) + ".host" + n + ".requests.200");
        break;
      case 1:
        names.push_back("app" + std::to_string(i % 10) + ".host" + n + ".latency.get");
        break;
      default:
        names.push_back("unmapped.host" + n + ".cpu-user");
    }
  }
  return names;
}

void BM_ResolveDistinctNames(benchmark::State& state) {
  const MappingConfig config = HundredMappings();
  const std::vector<std::string> names = DistinctNames(1000000);
  size_t i = 0;
  for (auto _ : state) {
    auto m = config.Resolve(names[i], StatsdKind::kCounter);
    benchmark::DoNotOptimize(m);
    if (++i == names.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResolveDistinctNames);

}  // namespace

BENCHMARK_MAIN();
