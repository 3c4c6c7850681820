// Micro benchmarks of the statsd line parser: one BENCHMARK per line of gostatsd's lexer
// benchmarks (docs/performance.md#micro-benchmarks), so the numbers compare with `go test -bench`
// on internal/lexer. Single-threaded; items/s is lines per second.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "core/metric.h"
#include "protocol/parser.h"

namespace cstatsd::protocol {
namespace {

void RunLine(benchmark::State& state, std::string_view ns, std::string_view line) {
  Parser parser(ns);
  ParsedMetric metric;
  Event event;
  ParseError error = ParseError::kNone;
  const std::string input(line);  // the parser reads from a buffer, as it does in the receiver
  for (auto _ : state) {
    LineKind kind = parser.Parse(input, metric, event, error);
    benchmark::DoNotOptimize(kind);
    benchmark::DoNotOptimize(metric);
    benchmark::DoNotOptimize(event);
  }
  if (error != ParseError::kNone) state.SkipWithError("line did not parse");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(line.size()));
}

void BM_ParseCounter(benchmark::State& state) { RunLine(state, "", "foo.bar.baz:2|c"); }
void BM_ParseCounterWithSampleRate(benchmark::State& state) {
  RunLine(state, "", "smp.rte:5|c|@0.1");
}
void BM_ParseCounterWithTags(benchmark::State& state) {
  RunLine(state, "", "smp.rte:5|c|#foo:bar,baz");
}
void BM_ParseCounterWithTagsAndSampleRate(benchmark::State& state) {
  RunLine(state, "", "smp.rte:5|c|@0.1|#foo:bar,baz");
}
void BM_ParseGauge(benchmark::State& state) { RunLine(state, "", "abc.def.g:3|g"); }
void BM_ParseTimer(benchmark::State& state) { RunLine(state, "", "def.g:10|ms"); }
void BM_ParseSet(benchmark::State& state) { RunLine(state, "", "uniq.usr:joe|s"); }
void BM_ParseCounterWithTagsAndNameSpace(benchmark::State& state) {
  RunLine(state, "stats", "foo.bar.baz:2|c|#foo:bar,baz");
}
void BM_ParseCounterWithTagsAndContainer(benchmark::State& state) {
  RunLine(state, "", "smp.rte:5|c|#foo:bar,baz|c:id");
}
void BM_ParseCounterWithTagsAndSampleRateAndContainer(benchmark::State& state) {
  RunLine(state, "", "smp.rte:5|c|@0.1|#foo:bar,baz|c:id");
}
void BM_ParseEvent(benchmark::State& state) {
  RunLine(state, "", "_e{1,1}:a|b|d:123123|h:hoost|p:low|t:warning|#tag1,t:tag2");
}
// Not in gostatsd's list: the slow paths (a name that needs sanitising, a decimal value).
void BM_ParseSanitisedName(benchmark::State& state) {
  RunLine(state, "", "web server/requests:2|c");
}
void BM_ParseDecimalTimer(benchmark::State& state) { RunLine(state, "", "def.g:10.25|ms"); }
// DogStatsD v1.2-v1.6 and tags in names (docs/protocol.md#dogstatsd-fields, #tag-dialects).
void BM_ParseDistribution(benchmark::State& state) {
  RunLine(state, "", "req.latency:10.5|d|#env:prod");
}
void BM_ParseCounterWithTimestampAndOrigin(benchmark::State& state) {
  RunLine(state, "", "smp.rte:5|c|#foo:bar|T1656581400|c:ci-abc|card:low");
}
void BM_ParseInfluxDbTags(benchmark::State& state) {
  RunLine(state, "", "cpu.load,host=web1,region=eu:5|g");
}
void BM_ParseSignalFxTags(benchmark::State& state) {
  RunLine(state, "", "cpu.[host=web1,region=eu]load:5|g");
}

// A whole datagram of 20 counters, through ForEachLine as the receiver does it.
void BM_ParseDatagram(benchmark::State& state) {
  std::string datagram;
  for (int i = 0; i < 20; ++i) datagram += "foo.bar.baz" + std::to_string(i) + ":2|c\n";
  Parser parser;
  ParsedMetric metric;
  Event event;
  for (auto _ : state) {
    ForEachLine(datagram, [&](std::string_view line) {
      ParseError error;
      LineKind kind = parser.Parse(line, metric, event, error);
      benchmark::DoNotOptimize(kind);
    });
  }
  state.SetItemsProcessed(state.iterations() * 20);
}

BENCHMARK(BM_ParseDistribution);
BENCHMARK(BM_ParseCounterWithTimestampAndOrigin);
BENCHMARK(BM_ParseInfluxDbTags);
BENCHMARK(BM_ParseSignalFxTags);
BENCHMARK(BM_ParseCounter);
BENCHMARK(BM_ParseCounterWithSampleRate);
BENCHMARK(BM_ParseCounterWithTags);
BENCHMARK(BM_ParseCounterWithTagsAndSampleRate);
BENCHMARK(BM_ParseGauge);
BENCHMARK(BM_ParseTimer);
BENCHMARK(BM_ParseSet);
BENCHMARK(BM_ParseCounterWithTagsAndNameSpace);
BENCHMARK(BM_ParseCounterWithTagsAndContainer);
BENCHMARK(BM_ParseCounterWithTagsAndSampleRateAndContainer);
BENCHMARK(BM_ParseEvent);
BENCHMARK(BM_ParseSanitisedName);
BENCHMARK(BM_ParseDecimalTimer);
BENCHMARK(BM_ParseDatagram);

}  // namespace
}  // namespace cstatsd::protocol

BENCHMARK_MAIN();
