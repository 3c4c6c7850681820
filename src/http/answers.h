// The answers of an HTTP server's routes other than ingestion (docs/http.md): redirects and
// errors of the route match, /healthcheck, /deepcheck, /expvar and what a C++ process offers of
// /debug/pprof. No socket: the event loop writes the answer. Any thread (the loop's, in practice).
#pragma once

#include <string>
#include <string_view>

#include "http/http_server.h"
#include "http/routes.h"

namespace cstatsd::http {

struct RouteAnswer {
  int status = 200;
  std::string body;
  const char* content_type = nullptr;  // none: no Content-Type header
  std::string location;                // a 301's Location (the clean path and the query)
};

// `target` is the request target as sent (with the query, kept by a redirect). Runs the deep
// checks and builds /expvar's document from `deps`.
RouteAnswer AnswerRoute(const RouteMatch& match, std::string_view target,
                        const HttpServerDeps& deps);

}  // namespace cstatsd::http
