// Fuzz target for HTTP ingestion (the /v2/raw and /v2/event decoders: decompression, then the
// protobuf RawMessageV2 or EventV2 into the ingestion target). The first byte is a header:
//   bit 0     the route (/v2/raw or /v2/event)
//   bits 1-2  the Content-Encoding (none, identity, deflate, lz4)
//   bit 3     the rest is the decompressed body: the target compresses it with the chosen
//             encoding (so that mutations reach the protobuf decoder behind deflate and lz4)
//   bits 4-5  max-request-body-size (1 MiB, 64 KiB, 4 KiB, 64 bytes)
//   bit 6     float-counters on (RawCounterV2.FloatValue read, docs/aggregation.md#float-counters)
// The rest is the body. Traps unless the answer is one of the statuses of the forwarding
// protocol (docs/architecture.md) with the matching failure and counter, unless a map that accepted
// series holds at most as many series as the body had, and, in bit-3 mode, unless the compressed
// body gets the same answer and the same series as the same body sent uncompressed.
#include <cstdint>
#include <string>
#include <string_view>

#include "http/ingestion.h"
#include "wire/compression.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Outcome {
  int status = 0;
  uint64_t metrics = 0;
  size_t events = 0;
  size_t series = 0;
};

Outcome Run(cstatsd::http::IngestKind kind, std::string_view encoding, std::string_view data,
            size_t max_body, bool float_counters) {
  using namespace cstatsd::http;
  const auto make = [](bool f) {
    cstatsd::pipeline::PipelineOptions o;
    o.default_tags = {"env:fuzz"};
    o.float_counters = f;
    return o;
  };
  static const cstatsd::pipeline::PipelineOptions options[] = {make(false), make(true)};
  IngestTarget target(options[float_counters ? 1 : 0]);
  IngestCounters counters;
  IngestBody body;
  body.encoding = encoding;
  body.has_encoding = !encoding.empty();
  body.data = data;
  size_t events = 0;
  target.SetEventSink([&](cstatsd::Event&&) { ++events; });
  const IngestResult r = HandleIngest(kind, body, max_body, 1, target, counters);
  Check(r.status == 202 || r.status == 400 || r.status == 413 || r.status == 503);
  Check((r.status == 202) == (r.failure == IngestFailure::kNone));
  Check((r.status == 202) == (counters.success == 1));
  Check(r.failure != IngestFailure::kDecompress || r.status == 400);
  Check(r.failure != IngestFailure::kUnmarshal || r.status == 400);
  Check(r.failure != IngestFailure::kTooLarge || r.status == 413);
  Check(counters.failure_encoding == 0);  // only known encodings are sent
  if (r.status == 202 && kind == IngestKind::kEvent) Check(events == 1);
  const cstatsd::MetricMap& m = target.SwapForFlush();
  Check(m.size() <= counters.metrics);
  if (kind == IngestKind::kEvent || r.status != 202) Check(m.empty());
  return Outcome{r.status, counters.metrics, events, m.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cstatsd::http;
  if (size == 0) return 0;
  const IngestKind kind = (data[0] & 1) != 0 ? IngestKind::kEvent : IngestKind::kRaw;
  constexpr std::string_view kEncodings[] = {"", "identity", "deflate", "lz4"};
  const int encoding = (data[0] >> 1) & 3;
  const bool compress_here = (data[0] & 8) != 0;
  constexpr size_t kMaxBody[] = {size_t{1} << 20, size_t{64} << 10, size_t{4} << 10, 64};
  const size_t max_body = kMaxBody[(data[0] >> 4) & 3];
  const bool float_counters = (data[0] & 64) != 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!compress_here || encoding < 2) {
    Run(kind, kEncodings[encoding], rest, max_body, float_counters);
    return 0;
  }
  const auto c =
      encoding == 2 ? cstatsd::wire::Compression::kZlib : cstatsd::wire::Compression::kLz4;
  auto compressed = cstatsd::wire::Compress(c, rest, 1);
  Check(compressed.ok());
  const Outcome packed = Run(kind, kEncodings[encoding], *compressed, max_body, float_counters);
  if (compressed->size() > max_body) {
    Check(packed.status == 413);
    return 0;
  }
  const Outcome plain = Run(kind, "", rest, max_body, float_counters);
  Check(packed.status == plain.status);
  Check(packed.metrics == plain.metrics && packed.events == plain.events &&
        packed.series == plain.series);
  return 0;
}
