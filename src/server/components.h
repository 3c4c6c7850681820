// Components: the parts a running Server is made of — metrics sockets, ingest workers, the TCP
// receiver, the cloud handler, the HTTP servers and their ingestion target, and the backend
// runners or (forwarder mode) the forwarder. The Server owns them and creates or destroys them on
// its controlling thread, before Start and after Stop only; while it runs, the flusher, the
// internal-metrics collector and /expvar read them (counters are atomics).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "capture/capture_writer.h"
#include "cloud/handler.h"
#include "forward/dns_discovery.h"
#include "forward/http_forwarder.h"
#include "http/http_server.h"
#include "http/ingestion.h"
#include "ingest/socket.h"
#include "ingest/tcp_receiver.h"
#include "ingest/worker.h"
#include "server/backend_runner.h"
#include "stats/internal_metrics.h"

namespace cstatsd::server {

class StatusBoard;  // server/status_board.h

struct Components {
  // First, so destroyed last: what the others' threads may still deliver to.
  std::vector<std::unique_ptr<BackendRunner>> runners;  // standalone mode
  std::unique_ptr<forward::HttpForwarder> forwarder;    // forwarder mode
  std::unique_ptr<forward::DnsDiscovery> discovery;     // forwarder mode with api-endpoints-dns
  std::vector<int> fds;          // metrics sockets: one per worker (UDP) or one shared (unix)
  ingest::SocketFile unix_file;  // the unix socket file this process bound (metrics-addr)
  int tcp_listen_fd = -1;        // metrics-tcp-addr
  std::unique_ptr<capture::CaptureWriter> capture;       // --capture: the workers' rings
  std::vector<std::unique_ptr<ingest::Worker>> workers;  // by id; the TCP input's is the last
  std::unique_ptr<ingest::TcpReceiver> tcp_receiver;
  std::unique_ptr<cloud::CloudHandler> cloud;
  std::shared_ptr<http::IngestTarget> http_ingest;  // set when a server enables ingestion
  std::vector<std::unique_ptr<http::HttpServer>> http_servers;
  // Set when a server enables /status: the flusher records each flush, the servers read it.
  std::shared_ptr<StatusBoard> status;
};

// The workers' receive and parse counters summed: totals since the start, for the internal
// metrics and /expvar. Any thread (the counters are atomics).
struct WorkerTotals {
  uint64_t datagrams = 0, batches = 0, metrics = 0, events = 0, bad_lines = 0, truncated = 0;
};
inline WorkerTotals SumWorkerCounters(const Components& parts) {
  WorkerTotals t;
  for (const auto& w : parts.workers) {
    const auto& c = w->counters();
    t.datagrams += stats::Read(c.datagrams_received);
    t.batches += stats::Read(c.batches_read);
    t.metrics += stats::Read(c.metrics_received);
    t.events += stats::Read(c.events_received);
    t.bad_lines += stats::Read(c.bad_lines_seen);
    t.truncated += stats::Read(c.truncated_datagrams);
  }
  return t;
}

}  // namespace cstatsd::server
