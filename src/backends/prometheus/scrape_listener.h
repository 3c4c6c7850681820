// The prometheus backend's scrape endpoint (docs/prometheus.md#backend-prometheus): a small
// libmicrohttpd daemon of its own (docs/adr/0003-http-server-on-libmicrohttpd.md) that serves the
// latest published Exposition on `telemetry-path`, in the format and encoding the scraper asks
// for, with the process metrics appended at scrape time: gzip-encoded scrapes send the compressed
// exposition and finish the member, others read it back through an Inflater as they send it.
// libmicrohttpd runs it on one internal thread (epoll), started by Start() and joined by the
// destructor; Publish() may be called from any thread and never waits for a scrape: a scrape takes
// a reference to the exposition and copies it out, it never renders.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "backends/prometheus/gzip_stream.h"
#include "core/result.h"
#include "prometheus/exposition.h"

struct MHD_Daemon;

namespace cstatsd::backends::prometheus {

using cstatsd::prometheus::Format;
using cstatsd::prometheus::kFormatCount;

// One flush's exposition, kept only compressed (docs/prometheus.md#memory): per format the start
// of a gzip member (without the OpenMetrics `# EOF`, which the listener writes after what it
// appends); an empty prefix for a format not rendered. Immutable once published.
class Exposition {
 public:
  Exposition(GzipPrefix text, GzipPrefix openmetrics);
  const GzipPrefix& gzipped(Format f) const { return gzipped_[static_cast<size_t>(f)]; }

 private:
  GzipPrefix gzipped_[kFormatCount];
};

struct ScrapeListenerOptions {
  std::string host;  // empty: every address
  uint16_t port = 9102;
  std::string path = "/metrics";
  // Serve OpenMetrics to scrapers that ask for it; false: always text 0.0.4.
  bool openmetrics = false;
  std::string key = "prometheus.listen-address";  // named in errors
  // Hardening (docs/prometheus.md#backend-prometheus): connections at once, from one address,
  // seconds a connection may stay idle, bytes of a request's headers.
  unsigned max_connections = 64;
  unsigned max_connections_per_ip = 8;
  unsigned idle_timeout_seconds = 30;
  size_t max_header_bytes = 16 << 10;
};

class ScrapeListener {
 public:
  // Binds and starts serving (an empty exposition until the first Publish); an error names
  // options.key.
  static Result<std::unique_ptr<ScrapeListener>> Start(ScrapeListenerOptions options);
  ~ScrapeListener();
  ScrapeListener(const ScrapeListener&) = delete;
  ScrapeListener& operator=(const ScrapeListener&) = delete;

  void Publish(std::shared_ptr<const Exposition> e);
  uint16_t port() const { return port_; }
  uint64_t scrapes() const { return scrapes_.load(std::memory_order_relaxed); }

 private:
  explicit ScrapeListener(ScrapeListenerOptions options) : options_(std::move(options)) {}
  struct Handler;

  ScrapeListenerOptions options_;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's lock bit inside that atomic is
  // invisible to ThreadSanitizer, and one lock per flush and per scrape costs nothing.
  std::mutex latest_mutex_;
  std::shared_ptr<const Exposition> latest_;
  std::atomic<uint64_t> scrapes_{0};
};

// The scrape's format for an Accept header: OpenMetrics when it lists
// application/openmetrics-text (with q above 0), else text 0.0.4.
Format NegotiateFormat(std::string_view accept);
// Whether an Accept-Encoding header accepts gzip (q above 0).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace cstatsd::backends::prometheus
