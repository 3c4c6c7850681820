// Fuzz target for HTTP ingestion (spec §5.1): the first byte picks the route (bit 0: /v2/raw or
// /v2/event) and the Content-Encoding (bits 1-2: none, identity, deflate, lz4); the rest is the
// body. Traps unless the answer is one of the statuses of §5.1 with the matching counter, and
// unless a map that accepted series holds at most as many series as the body had.
#include <cstdint>
#include <string_view>

#include "http/ingestion.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cstatsd::http;
  if (size == 0) return 0;
  static const cstatsd::pipeline::PipelineOptions options{false, {"env:fuzz"}, nullptr};
  IngestTarget target(options);
  IngestCounters counters;
  const IngestKind kind = (data[0] & 1) != 0 ? IngestKind::kEvent : IngestKind::kRaw;
  constexpr std::string_view kEncodings[] = {"", "identity", "deflate", "lz4"};
  IngestBody body;
  body.encoding = kEncodings[(data[0] >> 1) & 3];
  body.has_encoding = !body.encoding.empty();
  body.data = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t events = 0;
  target.SetEventSink([&](cstatsd::Event&&) { ++events; });
  const IngestResult r = HandleIngest(kind, body, size_t{1} << 20, 1, target, counters);
  const uint64_t failures = counters.failure_read + counters.failure_decompress +
                            counters.failure_encoding + counters.failure_unmarshal +
                            counters.failure_too_large;
  Check(r.status == 202 || r.status == 400 || r.status == 413);
  Check((r.status == 202) == (counters.success == 1 && failures == 0));
  Check(r.status == 202 || (failures == 1 && counters.success == 0));
  Check(counters.failure_encoding == 0);  // only known encodings are sent
  if (r.status == 202 && kind == IngestKind::kEvent) Check(events == 1);
  const cstatsd::MetricMap& m = target.SwapForFlush();
  Check(m.size() <= counters.metrics);
  if (kind == IngestKind::kEvent || r.status != 202) Check(m.empty());
  return 0;
}
