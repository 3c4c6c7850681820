// Server: wires cstatsd together — sockets, ingest workers, the flusher with the aggregator,
// internal metrics, and one BackendRunner per backend (standalone), or the HttpForwarder and its
// thread instead of the backends (server-mode = forwarder) — and runs its lifecycle.
// Start/Stop are called from one controlling thread (main, or a test); every thread
// the server uses is created and joined here.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aggregate/aggregator.h"
#include "backends/backend.h"
#include "cloud/handler.h"
#include "config/config.h"
#include "forward/http_forwarder.h"
#include "http/health_checks.h"
#include "http/http_server.h"
#include "http/ingestion.h"
#include "ingest/socket.h"
#include "ingest/tcp_receiver.h"
#include "ingest/worker.h"
#include "pipeline/pipeline.h"
#include "server/backend_runner.h"
#include "server/internal_stats.h"
#include "stats/rate_limiter.h"

namespace cstatsd::server {

class Server {
 public:
  // Creates the backends named in `backends` from `registry`; an unknown name or a backend's
  // configuration error is returned as an error naming it.
  static Result<std::unique_ptr<Server>> Create(
      config::Config config,
      backends::BackendRegistry registry = backends::BackendRegistry::WithBuiltins());

  // A server with backends built by the caller (library use); config.options.backends ignored.
  static Result<std::unique_ptr<Server>> Create(
      config::Config config, std::vector<std::unique_ptr<backends::Backend>> backends);

  ~Server();

  // Binds the metrics socket(s) and starts every thread. Returns once metrics are received.
  Status Start();
  // Stops receiving, flushes everything received once more, lets the backends deliver within
  // backend-shutdown-timeout, and joins the threads. Idempotent.
  void Stop() { Stop(std::chrono::steady_clock::time_point::max()); }
  // The same, with delivery also bounded by `deliver_by` (the Lambda SHUTDOWN event's deadline):
  // what is not delivered by the earlier of the two is given up and counted as dropped.
  void Stop(std::chrono::steady_clock::time_point deliver_by);

  // Forwarder mode: no timed flush; metrics are posted only by FlushNow() and by Stop()'s final
  // flush (the Lambda extension's manual flush, spec §8). Internal metrics join a FlushNow()
  // when at least flush-interval has passed since they were last produced. Call before Start.
  void DisableTimedFlush() { timed_flush_ = false; }
  // Forwarder mode: merges what the workers and HTTP ingestion hold — datagrams already queued
  // on the sockets included — and queues the POSTs now. The future becomes ready once every
  // request queued so far (this flush's, and events sent before it) has finished: delivered,
  // given up after the retry budget, or dropped. Outside forwarder mode, before Start or once
  // stopping, nothing is flushed and the future is ready at once. Any thread but a worker's.
  std::future<void> FlushNow();

  // Replaces the cloud provider that `cloud-provider` configured (library users: a provider of
  // their own; nullptr: none). Before Start().
  void UseCloudProvider(std::unique_ptr<cloud::Provider> provider);

  // A check behind GET /deepcheck of every HTTP server (e.g. the forwarder's "sentRecently").
  void AddDeepCheck(std::string name, http::DeepCheck check);

  int metrics_port() const { return metrics_port_; }
  // The port the HTTP server [http.<name>] listens on (after Start), or -1.
  int http_port(std::string_view name) const;
  int metrics_tcp_port() const { return tcp_port_; }
  const config::Options& options() const { return config_.options; }
  // Forwarder mode only (nullptr otherwise): for the HTTP server's /deepcheck sentRecently.
  const forward::HttpForwarder* forwarder() const { return forwarder_.get(); }

 private:
  explicit Server(config::Config config);

  void FlusherLoop();
  void LimitSeries(ingest::Worker& w);  // its maps get the aggregator's series limits
  void LogSeriesLimits();               // a folded or dropped series, at a limited rate
  void Flush(int64_t now_ns, double flush_seconds);
  void ForwardFlush();  // forwarder mode's flush: merge, then hand to the forwarder
  // Merges what the workers and the HTTP ingestion received since the last flush into the
  // aggregator; returns how many non-empty maps there were.
  uint64_t MergeIngested();
  // Hands memory freed by the flush back to the kernel (glibc's malloc_trim).
  void ReturnFreedMemory();
  void CollectInternalMetrics();
  void CollectForwarderMetrics();
  void CollectHttpIngestMetrics();
  void CollectCloudMetrics();
  Status StartCloud();
  void StopCloud();  // after the workers stopped: their parked lines go into the final flush
  void DispatchEvent(Event&& event);
  void SendLifecycleEvent(const char* title);
  void StopHttpServers();
  nlohmann::json Vars() const;  // /expvar: counters and settings (any thread)

  config::Config config_;
  pipeline::PipelineOptions pipeline_options_;
  std::vector<std::unique_ptr<BackendRunner>> runners_;
  std::unique_ptr<forward::HttpForwarder> forwarder_;  // forwarder mode
  std::thread forwarder_thread_;                       // runs forwarder_->Run()
  config::Duration flush_interval_{
      0};  // flush-interval, or http-transport.flush-interval (forwarder)
  aggregate::Aggregator aggregator_;
  InternalStats internal_stats_;
  MetricMap internal_map_;

  std::vector<int> fds_;
  ingest::SocketFile unix_file_;  // the unix socket file this process bound (metrics-addr)
  int metrics_port_ = 0;
  std::vector<std::unique_ptr<ingest::Worker>> workers_;
  // By worker id (MergeIngested): the aggregator round of the worker's last hand-over after
  // which everything it received had been merged, and how many more hand-overs that still waits
  // for after a timeout.
  struct HandOverRound {
    uint64_t round = 0;
    int late = 0;
  };
  std::vector<HandOverRound> handed_over_;
  int tcp_listen_fd_ = -1;
  int tcp_port_ = 0;
  std::unique_ptr<ingest::TcpReceiver> tcp_receiver_;
  std::shared_ptr<tls::TlsContext> tcp_tls_;  // set when the TCP input speaks TLS
  std::vector<std::thread> worker_threads_;
  std::thread flusher_thread_;

  // Cloud provider (spec §7.1): the handler, its lookup thread and the provider's own loop.
  std::unique_ptr<cloud::CloudHandler> cloud_;
  std::thread cloud_thread_;
  std::thread cloud_provider_thread_;

  // HTTP servers ([http.<name>]) and what they share. Ingested series wait in http_ingest_
  // until the next flush; the counters last reported are kept to report deltas.
  std::shared_ptr<http::HealthChecks> health_ = std::make_shared<http::HealthChecks>();
  std::shared_ptr<http::IngestTarget> http_ingest_;
  std::vector<std::unique_ptr<http::HttpServer>> http_servers_;
  std::vector<std::thread> http_threads_;
  std::vector<size_t> http_abandoned_;  // servers whose requests outlived the shutdown timeout
  struct IngestReported {
    uint64_t success = 0, read = 0, decompress = 0, encoding = 0, unmarshal = 0, too_large = 0,
             metrics = 0, events = 0, limit = 0, over_budget = 0, metrics_refused = 0;
  };
  std::vector<IngestReported> http_reported_;  // flusher thread

  std::mutex flush_mu_;  // serialises flushes (timer, final)
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool started_ = false;
  bool stopped_ = false;
  bool workers_stopped_ = false;  // their threads joined: maps are the flusher's
  bool timed_flush_ = true;       // false: forwarder mode flushes only on FlushNow / Stop

  int64_t last_flush_ns_ = 0;
  int64_t next_internal_ns_ = 0;  // forwarder mode: when internal metrics are next produced
  // Timings of the previous flush, reported as internal metrics at the next one (ms).
  double aggregation_ms_ = 0, process_ms_ = 0, reset_ms_ = 0, total_ms_ = 0;
  uint64_t maps_merged_ = 0;
  std::atomic<uint64_t> flush_overruns_{0};  // flushes that ran past the next tick
  stats::RateLimiter overrun_log_{6};        // log lines per minute
  stats::RateLimiter limit_log_{6};
};

}  // namespace cstatsd::server
