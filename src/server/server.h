// Server: wiring and lifecycle. It builds the components (sockets, ingest workers, the Flusher
// with the aggregator, HTTP servers, one BackendRunner per backend, or the HttpForwarder instead
// in forwarder mode), starts their threads and stops them in order. Start/Stop are called from
// one controlling thread (main, or a test); every thread the server uses is created and joined
// here.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "config/config.h"
#include "http/health_checks.h"
#include "pipeline/pipeline.h"
#include "server/components.h"
#include "server/flusher.h"

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
  // flush (the Lambda extension's manual flush, docs/lambda.md). Internal metrics join a FlushNow()
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
  const forward::HttpForwarder* forwarder() const { return parts_.forwarder.get(); }

 private:
  explicit Server(config::Config config);

  Status StartCloud();
  void StopCloud();  // after the workers stopped: their parked lines go into the final flush
  // Undoes what a start that fails part-way set up (sockets, workers); the one undo path.
  void AbandonStart();
  // A worker reading `fd` (-1: fed by the TCP receiver), attached to the flusher and the cloud.
  ingest::Worker& AddWorker(int id, int fd, const ingest::WorkerOptions& options);
  void DispatchEvent(Event&& event);
  // A service check, from a worker or HTTP ingestion: to every backend runner, or the forwarder.
  void DispatchServiceCheck(ServiceCheck&& check);
  void SendLifecycleEvent(const char* title);
  void StopHttpServers();

  config::Config config_;
  pipeline::PipelineOptions pipeline_options_;
  Components parts_;  // before flusher_, which reads it until destroyed
  Flusher flusher_;

  int metrics_port_ = 0;
  int tcp_port_ = 0;
  std::shared_ptr<tls::TlsContext> tcp_tls_;  // set when the TCP input speaks TLS
  std::shared_ptr<http::HealthChecks> health_ = std::make_shared<http::HealthChecks>();

  // The threads (created in Start, joined in Stop).
  std::vector<std::thread> worker_threads_;  // the workers' and the TCP receiver's
  std::thread flusher_thread_;               // Flusher::Run (absent with no timed flush)
  std::thread forwarder_thread_;             // forwarder mode: HttpForwarder::Run
  std::thread cloud_thread_;                 // the cloud handler's lookups
  std::thread cloud_provider_thread_;        // the cloud provider's own loop
  std::thread discovery_thread_;             // api-endpoints-dns: DnsDiscovery::Run
  std::thread capture_thread_;               // --capture: CaptureWriter::Run
  std::vector<std::thread> http_threads_;    // one per HTTP server
  std::vector<size_t> http_abandoned_;       // servers whose requests outlived the shutdown timeout

  std::mutex stop_mu_;  // started_/stopping_ for FlushNow, which any thread may call
  bool stopping_ = false;
  bool started_ = false;
  bool stopped_ = false;
  bool timed_flush_ = true;  // false: forwarder mode flushes only on FlushNow / Stop
};

}  // namespace cstatsd::server
