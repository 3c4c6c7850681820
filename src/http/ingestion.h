// Ingestion of gostatsd's forwarding protocol v2 (docs/forwarder.md): the bodies of POST /v2/raw
// and /v2/event (and cstatsd's /v2/check), decoded into series, events and service checks for the
// receiving server's pipeline.
//
// IngestTarget is shared by every HTTP server of one cstatsd server: HTTP threads add whole
// requests to it under its mutex (one lock per request; the UDP workers never touch it), and the
// flusher takes the filled map at each flush. HandleIngest is the request logic without the
// socket (status codes of docs/http.md#ingestion plus the body limit), callable from any thread.
//
// Memory (docs/limits.md, "HTTP ingestion"): a body is decompressed into its own mapping
// (returned to the system after the request) and decoded by walking the wire format
// (forward::DecodeRawMessage), never materialised as protobuf objects; the max-ingest-* limits
// bound what one request may hold, and max-ingest-memory what all requests of a server hold at
// once (IngestCounters::bytes_in_flight).
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
#include "forward/raw_message.h"
#include "http/http_options.h"
#include "pipeline/pipeline.h"
#include "wire/compression.h"

namespace cstatsd::http {

class IngestTarget {
 public:
  explicit IngestTarget(pipeline::PipelineOptions options);

  // Decodes `wire` (a RawMessageV2) within `limits` and, when all of it passes, adds every
  // series with receipt time now_ns (docs/http.md); nothing is added when it fails. The decoder's
  // scratch is taken from `lease` (may be null).
  // `refused` (if set) counts the series the value rules refused (Pipeline::ReceiveAggregated:
  // a NaN gauge or timer value, a bad sample count, too many histogram bounds); the others
  // are added.
  forward::DecodeStatus AddMetrics(std::string_view wire, const forward::DecodeLimits& limits,
                                   wire::BudgetLease* lease, int64_t now_ns,
                                   size_t* refused = nullptr);
  // An event (source = the message's Hostname): default tags added, then the event sink.
  void AddEvent(Event&& e);

  // Where events go (the server's event dispatch); cleared (nullptr) when the server stops.
  void SetEventSink(std::function<void(Event&&)> sink);

  // A service check (source = the message's Hostname): default tags and the cloud provider's
  // tags added as for an event (its source is kept), then the service-check sink.
  void AddServiceCheck(ServiceCheck&& c);
  void SetServiceCheckSink(std::function<void(ServiceCheck&&)> sink);

  // Cloud enrichment (docs/cloud-providers.md), set before the HTTP servers run. A request waits
  // (bounded by `wait`) for the lookups of the sources it carries that are not known yet; what is
  // still unknown then passes unchanged. The HTTP thread waits, never a worker.
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
  pipeline::AggregatedSeries series_;               // scratch, guarded by mu_
  std::function<void(Event&&)> event_sink_;         // guarded by mu_
  std::function<void(ServiceCheck&&)> check_sink_;  // guarded by mu_
  std::unique_ptr<cloud::Enricher> cloud_;          // guarded by mu_
  std::chrono::milliseconds cloud_wait_{0};
};

// What one server counted (cumulative). Any HTTP thread adds; the flusher and /expvar read.
struct IngestCounters {
  std::atomic<uint64_t> success{0};
  std::atomic<uint64_t> failure_read{0};
  std::atomic<uint64_t> failure_decompress{0};
  std::atomic<uint64_t> failure_encoding{0};
  std::atomic<uint64_t> failure_unmarshal{0};
  std::atomic<uint64_t> failure_too_large{0};    // cstatsd: body beyond max-request-body-size
  std::atomic<uint64_t> failure_limit{0};        // cstatsd: beyond a max-ingest-* limit (413)
  std::atomic<uint64_t> failure_over_budget{0};  // cstatsd: max-ingest-memory spent (503)
  // cstatsd: bytes held by this server's ingestion requests now (max-ingest-memory); every
  // request gives back what it took, on every path.
  std::atomic<uint64_t> bytes_in_flight{0};
  std::atomic<uint64_t> metrics{0};  // series received
  // cstatsd: series refused by the value rules of every input (docs/limits.md, "Lines and
  // values"), each alone; the rest of their request is ingested
  std::atomic<uint64_t> metrics_refused{0};
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> service_checks{0};  // cstatsd: /v2/check
};

enum class IngestKind { kRaw, kEvent, kCheck };  // /v2/raw, /v2/event, /v2/check

// The failure tag of http.incoming (docs/internal-metrics.md), or kNone on success.
// kLimit and kOverBudget are cstatsd's (docs/limits.md).
enum class IngestFailure {
  kNone,
  kRead,
  kDecompress,
  kEncoding,
  kUnmarshal,
  kTooLarge,
  kLimit,
  kOverBudget
};
// "read", "decompress", "encoding", "unmarshal", "too-large", "limit", "over-budget".
std::string_view IngestFailureName(IngestFailure f);

// The answer to one request. FOR THE HTTP SERVER: send `status` with an empty body and, when
// retry_after_s > 0, the header "Retry-After: <retry_after_s>" — this is the over-budget answer
// (503, IngestFailure::kOverBudget): the server's ingestion memory is spent by other requests
// in flight, and the sender should retry later (gostatsd's and cstatsd's forwarders retry 503
// with their backoff, docs/forwarder.md). Log `message` rate-limited when failure != kNone.
struct IngestResult {
  int status = 202;
  IngestFailure failure = IngestFailure::kNone;
  std::string message;    // why, for the log (empty on success)
  int retry_after_s = 0;  // > 0: send Retry-After (seconds)
};

// What a server allows one request and all of its requests: HttpServerOptions' max-ingest-* keys.
forward::DecodeLimits IngestDecodeLimits(const HttpServerOptions& options);

// A body as the HTTP layer read it.
struct IngestBody {
  bool has_encoding = false;  // a Content-Encoding header was sent
  std::string_view encoding;  // its value
  std::string_view data;      // the body as sent
  bool read_failed = false;   // the connection failed before the body was complete
  bool too_large = false;     // the body as sent exceeded the limit
};

// Decides the answer to one ingestion request and, on success, hands its content to `target`;
// counts it in `counters`, whose bytes_in_flight is the server's ingestion memory: the body as
// sent, its decompressed bytes and the decoder's scratch are taken from it as they are needed,
// up to options.max_ingest_memory, and given back before this returns. The body limit is
// options.max_request_body_size (as sent and after decompression).
IngestResult HandleIngest(IngestKind kind, const IngestBody& body, const HttpServerOptions& options,
                          int64_t now_ns, IngestTarget& target, IngestCounters& counters);

// The same with the default max-ingest-* limits and memory budget and `max_body` as
// max-request-body-size (the HTTP server's call until it passes its options).
IngestResult HandleIngest(IngestKind kind, const IngestBody& body, size_t max_body, int64_t now_ns,
                          IngestTarget& target, IngestCounters& counters);

}  // namespace cstatsd::http
