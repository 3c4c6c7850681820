// The top-level options of cstatsd (gostatsd's flags, docs/configuration.md#top-level-options and
// docs/configuration.md#disabled-sub-metrics), as a plain struct with gostatsd's defaults. Built
// once by config::Load on the main thread, then read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace cstatsd::config {

using Duration = std::chrono::nanoseconds;

// [disabled-sub-metrics]: true suppresses that timer sub-metric
// (docs/configuration.md#disabled-sub-metrics).
struct DisabledSubMetrics {
  bool count = false;             // timer count
  bool count_per_second = false;  // count_ps / rate
  bool mean = false;
  bool median = false;
  bool lower = false;   // min
  bool upper = false;   // max
  bool stddev = false;  // key `stddev`, also `std` (docs/compatibility.md#decision-8)
  bool sum = false;
  bool sum_squares = false;
  bool count_pct = false;        // count_XX
  bool mean_pct = false;         // mean_XX
  bool sum_pct = false;          // sum_XX
  bool sum_squares_pct = false;  // sum_squares_XX
  bool upper_pct = false;        // upper_XX
  bool lower_pct = false;        // lower_-XX
};

struct Options {
  // --- mode and I/O ---
  std::string server_mode = "standalone";            // server-mode: standalone | forwarder
  std::vector<std::string> backends = {"graphite"};  // backends: names of the backends to send to
  std::string metrics_addr = ":8125";  // metrics-addr: UDP host:port, or absolute path = unixgram
  std::string namespace_ = "";         // namespace: prefix "<ns>." for every metric name

  // --- flushing and expiry ---
  Duration flush_interval = std::chrono::seconds(1);   // flush-interval
  bool flush_aligned = false;                          // flush-aligned: ticks on multiples of it
  Duration flush_offset{0};                            // flush-offset: added to aligned ticks
  Duration expiry_interval = std::chrono::minutes(5);  // expiry-interval: 0 never, <0 at once
  std::optional<Duration> expiry_interval_counter;  // expiry-interval-counter (= expiry-interval)
  std::optional<Duration> expiry_interval_gauge;    // expiry-interval-gauge
  std::optional<Duration> expiry_interval_set;      // expiry-interval-set
  std::optional<Duration> expiry_interval_timer;    // expiry-interval-timer
  // Series limits (docs/limits.md): beyond them a new series folds into its metric name's
  // overflow series (tag cstatsd_overflow:true). 0 = no limit.
  uint32_t max_series = 5000000;            // max-series: over all types
  uint32_t max_series_per_metric = 100000;  // max-series-per-metric: per metric name and type

  // --- source and tags ---
  bool ignore_host = false;               // ignore-host: first host: tag becomes the source
  std::vector<std::string> default_tags;  // default-tags: added to every metric and event
  std::string hostname;                   // hostname: default the OS hostname

  // --- threads and buffers ---
  int max_readers = 0;  // max-readers: default min(8, CPUs); accepted, see docs/compatibility.md
  int max_parsers = 0;  // max-parsers: default CPUs; accepted, see docs/compatibility.md
  int max_workers = 0;  // max-workers: receive+parse+aggregate threads, default CPUs
  int max_queue_size = 10000;        // max-queue-size
  int max_concurrent_events = 1024;  // max-concurrent-events: events in flight per backend
  int estimated_tags = 4;            // estimated-tags: allocation hint
  int receive_batch_size = 50;       // receive-batch-size: datagrams per recvmmsg
  int receive_buffer_size = 65535;   // receive-buffer-size: bytes per datagram buffer
  bool conn_per_reader = false;      // conn-per-reader: cstatsd always uses one socket per worker
  double bad_lines_per_minute = 0;   // bad-lines-per-minute: bad-line log rate, 0 = never
  bool log_raw_metric = false;       // log-raw-metric

  // --- timers ---
  std::vector<double> percent_threshold = {90};  // percent-threshold: in (-100, 100], not 0
  uint32_t timer_histogram_limit = std::numeric_limits<uint32_t>::max();  // timer-histogram-limit
  // max-histogram-bounds: a timer line (or forwarded timer) whose gsd_histogram tag lists more
  // '_'-separated bounds is refused as a bad line (docs/limits.md)
  uint32_t max_histogram_bounds = 100;
  DisabledSubMetrics disabled_sub_metrics;  // [disabled-sub-metrics]

  // --- internal metrics ---
  std::vector<std::string> internal_tags;     // internal-tags
  std::string internal_namespace = "statsd";  // internal-namespace
  std::string statser_type = "internal";      // statser-type: internal | logging | null
  bool heartbeat_enabled = false;             // heartbeat-enabled
  bool disable_internal_events = false;       // disable-internal-events

  // --- cloud providers (issue 7) ---
  std::string cloud_provider;                                     // cloud-provider: aws | k8s
  int max_cloud_requests = 10;                                    // max-cloud-requests
  int burst_cloud_requests = 15;                                  // burst-cloud-requests
  Duration cloud_cache_refresh_period = std::chrono::minutes(1);  // cloud-cache-refresh-period
  Duration cloud_cache_evict_after_idle_period = std::chrono::minutes(10);
  Duration cloud_cache_ttl = std::chrono::minutes(30);          // cloud-cache-ttl
  Duration cloud_cache_negative_ttl = std::chrono::minutes(1);  // cloud-cache-negative-ttl

  // --- HTTP, filters, forwarder, lambda (later issues) ---
  std::vector<std::string> http_servers;           // http-servers: names of [http.<name>] sections
  std::vector<std::string> filters;                // filters: names of [filter.<name>] sections
  bool fast_fail_on_non_retryable_errors = false;  // accepted, unused (as gostatsd)
  bool lambda_extension_manual_flush = true;
  std::string lambda_extension_telemetry_address = "sandbox:8083";

  // --- cstatsd extensions ---
  std::string metrics_tcp_addr;      // metrics-tcp-addr: also accept newline-delimited statsd over
                                     // TCP on host:port (empty = off)
  std::string metrics_tcp_tls_cert;  // metrics-tcp-tls-cert: PEM certificate; with the key,
  std::string metrics_tcp_tls_key;   //   the TCP input speaks TLS only (metrics-tcp-tls-key)
  std::string metrics_tcp_tls_client_ca;   // metrics-tcp-tls-client-ca: require client certs
  int metrics_tcp_max_connections = 1024;  // metrics-tcp-max-connections: more are refused
  // metrics-tcp-idle-timeout: a TCP connection sending no line data this long is closed (0 never)
  Duration metrics_tcp_idle_timeout = std::chrono::minutes(5);
  bool metrics_reuse_port = false;  // metrics-reuse-port: share UDP/TCP ports for a hand-over
  // Etsy statsd semantics, off by default because they change the numbers a gostatsd user sees
  // (docs/aggregation.md#gauge-deltas, docs/aggregation.md#float-counters).
  bool gauge_deltas = false;    // gauge-deltas: a gauge value written +N / -N adjusts the gauge
  bool float_counters = false;  // float-counters: a counter keeps its fraction end to end
  int backend_queue_size = 10;  // backend-queue-size: pending flushes per backend before dropping
  Duration backend_shutdown_timeout = std::chrono::seconds(5);  // backend-shutdown-timeout
  // state-file: where SIGTERM keeps the gauges and a flush some backend did not receive, read
  // back at the next start (docs/state-file.md); empty = none.
  std::string state_file;
  // receive-memory-limit: bytes the receive buffers of all workers may take together,
  // receive-batch-size x receive-buffer-size x max-workers (default 1 GiB).
  uint32_t receive_memory_limit = 1U << 30;
  int max_default_tags = 1000;  // max-default-tags: most tags default-tags or internal-tags list
  // tag-dialects: the tag sections read in metric names (docs/protocol.md#tag-dialects): any of
  // influxdb, graphite, librato, signalfx; empty = none (names sanitised as gostatsd does).
  std::vector<std::string> tag_dialects = {"influxdb", "graphite", "librato", "signalfx"};
  // capture (docs/capture.md): record every datagram the metrics sockets receive, with its time
  // and sender, into this pcapng file (empty = off). It rotates at capture-max-size bytes and
  // capture-files files are kept (FILE, FILE.1 ...), so it takes at most their product on disk.
  std::string capture;
  uint32_t capture_max_size = 64U << 20;  // capture-max-size: bytes per file (64 MiB)
  int capture_files = 4;                  // capture-files: files kept, the current one included
  // Config file limits (flag and environment only): bytes, nesting depth of tables and arrays,
  // and values after YAML aliases are expanded.
  int config_max_bytes = 16 << 20;  // config-max-bytes (16 MiB)
  int config_max_depth = 64;        // config-max-depth
  int config_max_nodes = 1000000;   // config-max-nodes

  // --- binary-only flags ---
  std::string config_path;  // --config-path: TOML, YAML or JSON by extension
  bool verbose = false;     // --verbose: debug logs
  bool json_logs = false;   // --json: JSON log lines

  Duration ExpiryCounter() const { return expiry_interval_counter.value_or(expiry_interval); }
  Duration ExpiryGauge() const { return expiry_interval_gauge.value_or(expiry_interval); }
  Duration ExpirySet() const { return expiry_interval_set.value_or(expiry_interval); }
  Duration ExpiryTimer() const { return expiry_interval_timer.value_or(expiry_interval); }
};

}  // namespace cstatsd::config
