// Ingestion of gostatsd's forwarding protocol v2 (spec §5): the bodies of POST /v2/raw and
// /v2/event, decoded into series and events for the receiving server's pipeline.
//
// IngestTarget is shared by every HTTP server of one cstatsd server: HTTP threads add whole
// requests to it under its mutex (one lock per request; the UDP workers never touch it), and the
// flusher takes the filled map at each flush. HandleIngest is the request logic without the
// socket (status codes of §5.1 plus the body limit), callable from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/metric.h"
#include "core/metric_map.h"
#include "pipeline/pipeline.h"

namespace pb {
class RawMessageV2;
class EventV2;
}  // namespace pb

namespace cstatsd::http {

class IngestTarget {
 public:
  explicit IngestTarget(pipeline::PipelineOptions options);

  // Every series of `msg` with receipt time now_ns (spec §5.3); returns how many there were.
  size_t AddMetrics(const pb::RawMessageV2& msg, int64_t now_ns);
  // An event: source = its Hostname, default tags, then the event sink (if any).
  void AddEvent(const pb::EventV2& msg);

  // Where events go (the server's event dispatch); cleared (nullptr) when the server stops.
  void SetEventSink(std::function<void(Event&&)> sink);

  // Cloud enrichment (spec §7.1), set before the HTTP servers run. A request waits (bounded by
  // `wait`) for the lookups of the sources it carries that are not known yet; what is still
  // unknown then passes unchanged. The HTTP thread waits, never a worker.
  void SetCloud(cloud::CloudHandler* handler, std::chrono::milliseconds wait);

  // Flusher: the map filled since the last call. Ingestion continues into the other map; the
  // returned one is the caller's until its next call (the aggregator drains it in place).
  MetricMap& SwapForFlush();

 private:
  std::mutex mu_;
  const pipeline::PipelineOptions options_;  // a copy: this may outlive the server
  pipeline::Pipeline pipeline_;              // guarded by mu_ (scratch space)
  MetricMap maps_[2];                        // maps_[active_] guarded by mu_
  int active_ = 0;
  pipeline::AggregatedSeries series_;        // scratch, guarded by mu_
  std::function<void(Event&&)> event_sink_;  // guarded by mu_
  std::unique_ptr<cloud::Enricher> cloud_;   // guarded by mu_
  std::chrono::milliseconds cloud_wait_{0};
};

// What one server counted (cumulative). Any HTTP thread adds; the flusher and /expvar read.
struct IngestCounters {
  std::atomic<uint64_t> success{0};
  std::atomic<uint64_t> failure_read{0};
  std::atomic<uint64_t> failure_decompress{0};
  std::atomic<uint64_t> failure_encoding{0};
  std::atomic<uint64_t> failure_unmarshal{0};
  std::atomic<uint64_t> failure_too_large{0};  // cstatsd: body beyond max-request-body-size
  std::atomic<uint64_t> metrics{0};            // series received
  std::atomic<uint64_t> events{0};
};

enum class IngestKind { kRaw, kEvent };  // /v2/raw, /v2/event

// The failure tag of http.incoming (spec §4.7), or kNone on success.
enum class IngestFailure { kNone, kRead, kDecompress, kEncoding, kUnmarshal, kTooLarge };
std::string_view IngestFailureName(IngestFailure f);  // "read", "decompress", ...

struct IngestResult {
  int status = 202;
  IngestFailure failure = IngestFailure::kNone;
  std::string message;  // why, for the log (empty on success)
};

// A body as the HTTP layer read it.
struct IngestBody {
  bool has_encoding = false;  // a Content-Encoding header was sent
  std::string_view encoding;  // its value
  std::string_view data;      // the body as sent
  bool read_failed = false;   // the connection failed before the body was complete
  bool too_large = false;     // the body as sent exceeded the limit
};

// Decides the answer to one ingestion request and, on success, hands its content to `target`;
// counts it in `counters`. `max_body` bounds the body as sent and after decompression.
IngestResult HandleIngest(IngestKind kind, const IngestBody& body, size_t max_body, int64_t now_ns,
                          IngestTarget& target, IngestCounters& counters);

}  // namespace cstatsd::http
