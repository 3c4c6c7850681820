// Worker: one ingest thread — receives datagram batches with recvmmsg on its own socket, parses
// every line in place, runs the pipeline and adds the result to its own MetricMap. No lock and
// no cross-thread traffic per metric. At a flush the flusher asks for the map (RequestHandOver);
// between two batches the worker switches to its spare map and hands the full one over, so it
// never waits for the flusher. Run() is the thread body; the other methods are the flusher's.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cloud/enricher.h"
#include "core/metric_map.h"
#include "pipeline/pipeline.h"
#include "protocol/parser.h"
#include "stats/internal_metrics.h"
#include "stats/rate_limiter.h"

struct mmsghdr;
struct iovec;

namespace cstatsd::capture {
class CaptureRing;
}

namespace cstatsd::ingest {

struct WorkerOptions {
  int receive_batch_size = 50;      // datagrams per recvmmsg
  int receive_buffer_size = 65535;  // bytes per datagram buffer
  double bad_lines_per_minute = 0;  // rate of bad-line log lines
  bool log_raw_metric = false;
  std::string namespace_prefix;
  protocol::TagDialects tag_dialects = protocol::kAllTagDialects;  // tag-dialects
};

using EventSink = std::function<void(Event&&)>;
using ServiceCheckSink = std::function<void(ServiceCheck&&)>;

class Worker {
 public:
  // `fd` is shared with other workers for unix sockets, owned by the server in any case.
  Worker(int id, int fd, const WorkerOptions& options, const pipeline::PipelineOptions* pipeline,
         EventSink events);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Thread body: returns after Stop() once the current batch is processed.
  void Run();
  void Stop();

  // Flusher: ask for the map filled since the last hand-over and wait (bounded) for it. Returns
  // nullptr if the worker did not answer in time (its data stays for the next flush).
  MetricMap* HandOver(std::chrono::milliseconds timeout);

  // For a receive loop other than Run() (the TCP receiver), on the thread that owns the worker:
  // the eventfd that a hand-over request or Stop() makes readable, the hand-over itself, and
  // whether Stop() was called.
  int wake_fd() const { return wake_fd_; }
  void ServiceHandOver() { MaybeHandOver(); }
  bool stop_requested() const { return stop_.load(std::memory_order_acquire); }
  // A bad line found outside the parser (e.g. a TCP line too long to buffer).
  void CountBadLine(std::string_view why, std::string_view sender);

  // Processes one datagram as if received (tests and benchmarks; not thread-safe with Run).
  void ProcessDatagram(char* data, size_t len, std::string_view sender, int64_t now_ns);

  // Where service checks go (the server's dispatch, as events); set before Run(). Without one a
  // parsed check is counted (service_checks_received) and dropped.
  void SetServiceCheckSink(ServiceCheckSink sink) { checks_ = std::move(sink); }

  // --capture (docs/capture.md): each batch received is also copied into `ring`, owned by the
  // capture writer. Set before Run().
  void SetCapture(capture::CaptureRing* ring) { capture_ = ring; }

  // Cloud enrichment (docs/cloud-providers.md): set before Run(). Lines whose source is not looked
  // up yet are parked in the handler; the worker replays the answered ones between batches.
  void SetCloud(cloud::CloudHandler* handler);
  // Replays lines that waited for a lookup (the worker's thread, or any thread once it exited).
  void ReplayLines(std::vector<cloud::ParkedLine>& lines, int64_t now_ns);
  const cloud::Enricher* enricher() const { return enricher_.get(); }
  // Wakes the worker if it waits for traffic (e.g. lines are ready for replay); any thread.
  void Nudge() { Wake(); }
  MetricMap& active_map() { return maps_[active_]; }
  // Before Run(): receive counters and gauges the aggregator holds into the worker's values by
  // series id (MetricMap::ids), which each hand-over copies into the outgoing map.
  void AttachIndexes(const SeriesIndex<CounterAgg>* counters, const SeriesIndex<GaugeAgg>* gauges);
  // Either map, once the worker thread has exited.
  MetricMap& map(int i) { return maps_[i]; }

  const stats::WorkerCounters& counters() const { return counters_; }
  int id() const { return id_; }

 private:
  void MaybeHandOver();
  void Wake();
  void ProcessLine(std::string_view line, std::string_view sender, int64_t now_ns, bool replay,
                   MetricMap& map);
  void ReplayParked(int64_t now_ns);
  // A parsed `_sc` line (check_): default tags, the cloud provider's answer, then the sink.
  void ReceiveServiceCheck(std::string_view sender, int64_t now_ns);
  void WaitForTraffic();  // poll the socket and the wake-up eventfd (1 s at most)

  const int id_;
  const int fd_;
  const WorkerOptions options_;
  EventSink events_;
  ServiceCheckSink checks_;
  const pipeline::PipelineOptions* pipeline_options_;
  protocol::Parser parser_;
  pipeline::Pipeline pipeline_;
  ParsedMetric metric_;
  Event event_;
  ServiceCheck check_;
  stats::WorkerCounters counters_;
  stats::RateLimiter bad_line_log_;
  std::unique_ptr<cloud::Enricher> enricher_;  // with a cloud provider
  capture::CaptureRing* capture_ = nullptr;    // with --capture
  std::vector<cloud::ParkedLine> replay_;      // scratch for ReplayParked

  // Receive buffers.
  std::vector<char> buffers_;
  std::unique_ptr<mmsghdr[]> msgs_;
  std::unique_ptr<iovec[]> iovs_;
  std::vector<char> addrs_;     // sockaddr_storage per message
  std::vector<char> controls_;  // per message: room for UDP_GRO's segment size
  std::string last_sender_;
  std::vector<char> last_addr_;

  // Double-buffered maps and the hand-over.
  IdValues ids_;
  MetricMap maps_[2];
  int active_ = 0;
  std::atomic<uint64_t> requested_{0};
  uint64_t served_ = 0;  // guarded by mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;  // eventfd: wakes a worker waiting for traffic
};

}  // namespace cstatsd::ingest
