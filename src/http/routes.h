// The routes of an HTTP server (docs/http.md) and how a request maps onto them, the way gostatsd's
// gorilla/mux router answers: a path that is not clean (`//x`, `/a/../x`) is redirected (301)
// to its clean form, an unknown path is 404 "not found", a known path with another method is
// 405 (empty body). Routes of a disabled feature do not exist. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "http/http_options.h"

namespace cstatsd::http {

enum class Route {
  kNone,
  kHealthcheck,  // GET /healthcheck
  kDeepcheck,    // GET /deepcheck
  kExpvar,       // GET /expvar
  kStatus,       // GET /status (cstatsd: the live status page, docs/status-page.md)
  kStatusJson,   // GET /status.json (cstatsd)
  kRaw,          // POST /v2/raw
  kEvent,        // POST /v2/event
  kCheck,        // POST /v2/check (cstatsd: DogStatsD service checks)
  kProfIndex,    // GET /debug/pprof/
  kProfCmdline,  // GET /debug/pprof/cmdline
  kProfProfile,  // GET /debug/pprof/profile
  kProfSymbol,   // GET /debug/pprof/symbol
  kProfTrace,    // GET, POST /debug/pprof/trace
  kProfNamed,    // GET /debug/pprof/<name> (heap, goroutine, ...)
};

struct RouteMatch {
  Route route = Route::kNone;
  int status = 404;      // 0: serve `route`; 301 see `location`; 404 unknown; 405 other method
  std::string location;  // 301: the clean path
};

// gorilla/mux's cleanPath: Go's path.Clean (no repeated slashes, no `.` or `..` elements),
// keeping a trailing slash; "" is "/".
std::string CleanPath(std::string_view path);

RouteMatch MatchRoute(const HttpServerOptions& options, std::string_view method,
                      std::string_view path);

}  // namespace cstatsd::http
