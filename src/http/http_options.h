// The options of one HTTP server (spec §4.4): `http-servers` names [http.<name>] sections. Read
// and validated once at startup on the main thread; read-only afterwards.
#pragma once

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
  // max-request-body-size (cstatsd): bytes an ingestion body may have, as sent and after
  // decompression; beyond it the answer is 413. Default 64 MiB.
  int64_t max_request_body_size = int64_t{64} << 20;
  // max-connections (cstatsd): connections served at once. Each open connection has a request
  // thread while it is open (a kept-alive one too, until it has been idle 2 s or has carried
  // 100 requests); threads are started as connections need them, up to this many, and stay.
  // Connections beyond it wait for a thread. Default 1024.
  int max_connections = 1024;

  // The address split for binding: host ("0.0.0.0" when empty) and port.
  std::string host;
  int port = 8080;
};

// Reads every server named in options.http_servers. Errors list every problem, each naming
// "http.<name>.<key>"; unknown keys of a section, and [http.<name>] sections that http-servers
// does not name, are appended to `warnings`.
Result<std::vector<HttpServerOptions>> LoadHttpServerOptions(const config::Config& config,
                                                             std::vector<std::string>& warnings);

}  // namespace cstatsd::http
