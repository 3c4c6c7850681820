// The options of one HTTP server (docs/http.md): `http-servers` names [http.<name>] sections. Read
// and validated once at startup on the main thread; read-only afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"

namespace cstatsd::http {

struct HttpServerOptions {
  std::string name;  // the section name: [http.<name>], tag server-name:<name>
  std::string address = "127.0.0.1:8080";  // address: host:port to listen on (port 0 = any)
  bool enable_healthcheck = true;          // enable-healthcheck: GET /healthcheck, /deepcheck
  bool enable_expvar = false;              // enable-expvar: GET /expvar
  bool enable_ingestion = false;           // enable-ingestion: POST /v2/raw, /v2/event
  bool enable_prof = false;                // enable-prof: /debug/pprof/ (see docs/http.md)
  // enable-status (cstatsd): GET /status, the live status page, and GET /status.json
  // (docs/status-page.md). Default false: the page shows metric names.
  bool enable_status = false;
  // max-request-body-size (cstatsd): bytes an ingestion body may have, as sent and after
  // decompression; beyond it the answer is 413. Default 64 MiB.
  int64_t max_request_body_size = int64_t{64} << 20;
  // max-connections (cstatsd): connections open at once, from every client together. One event
  // loop serves them all, so an idle or slow connection costs no thread. A connection beyond
  // it is closed as soon as it is accepted (counted). Default 1024.
  int max_connections = 1024;
  // max-connections-per-ip (cstatsd): connections open at once from one client address; beyond
  // it a new connection is closed as soon as it is accepted (counted). Default 256.
  int max_connections_per_ip = 256;
  // max-header-bytes (cstatsd): bytes the request line and headers of one request may take;
  // beyond them the answer is 431 (or 414 for the request line alone) and the connection
  // closes. Default 64 KiB.
  int64_t max_header_bytes = int64_t{64} << 10;
  // header-timeout (cstatsd): from a connection's accept, or from the end of the previous
  // answer on a kept-alive connection, until the end of the request's headers. Not restarted
  // by each byte received; beyond it the connection is closed (counted). Default 10s.
  std::chrono::nanoseconds header_timeout = std::chrono::seconds(10);
  // request-timeout (cstatsd): from the same start until the request's body has been read in
  // full; beyond it the connection is closed (counted). Default 60s.
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(60);
  // ingestion-threads (cstatsd): threads that decompress, decode and ingest request bodies, off
  // the event loop (which keeps answering /healthcheck meanwhile). Default 4.
  int ingestion_threads = 4;

  // Limits of one /v2/raw or /v2/event request (cstatsd; docs/limits.md, "HTTP ingestion"). A
  // request beyond one is refused whole (413, counted as failure:limit); gostatsd forwarders send
  // a whole flush interval of a host in one request, hundreds of thousands of series.
  int64_t max_ingest_series = 2'000'000;        // max-ingest-series: series per request
  int64_t max_ingest_tags = 1'000;              // max-ingest-tags: tags per series (or event)
  int64_t max_ingest_tag_length = 65'536;       // max-ingest-tag-length: bytes of a tag/member
  int64_t max_ingest_name_length = 65'536;      // max-ingest-name-length: bytes of name/hostname
  int64_t max_ingest_timer_values = 1'000'000;  // max-ingest-timer-values: values per timer
  int64_t max_ingest_set_members = 1'000'000;   // max-ingest-set-members: members per set
  // max-ingest-request-set-members: members of all sets of one request together. A member
  // costs ~70 bytes in the aggregation map until the flush, 11 times its wire size: 10 sets of
  // 1,000,000 distinct members (12.6 MB deflated) held 621 MB without it.
  int64_t max_ingest_request_set_members = 1'000'000;
  // max-ingest-memory (cstatsd): bytes all ingestion requests of this server may hold at once
  // (body as sent + decompressed + decoder scratch). A request that would pass it is answered
  // 503 with Retry-After (failure:over-budget); one that alone needs more, 413. 256 MiB.
  int64_t max_ingest_memory = int64_t{256} << 20;

  // SO_REUSEPORT on the listener (the server's metrics-reuse-port, not a key of the section):
  // a new process binds the port while this one still runs (docs/restarts.md).
  bool reuse_port = false;

  // The address split for binding: host ("0.0.0.0" when empty) and port.
  std::string host;
  int port = 8080;

  friend bool operator==(const HttpServerOptions&, const HttpServerOptions&) = default;
};

// Reads every server named in options.http_servers. Errors list every problem, each naming
// "http.<name>.<key>"; unknown keys of a section, and [http.<name>] sections that http-servers
// does not name, are appended to `warnings`.
Result<std::vector<HttpServerOptions>> LoadHttpServerOptions(const config::Config& config,
                                                             std::vector<std::string>& warnings);

}  // namespace cstatsd::http
