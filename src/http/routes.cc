#include "http/routes.h"

#include <vector>

namespace cstatsd::http {
namespace {

constexpr std::string_view kProfPrefix = "/debug/pprof/";

// The route a path names on this server (whatever the method) and whether `method` is allowed.
struct PathRoute {
  Route route = Route::kNone;
  bool get = false;
  bool post = false;
};

PathRoute FindPath(const HttpServerOptions& o, std::string_view path) {
  if (o.enable_healthcheck) {
    if (path == "/healthcheck") return {Route::kHealthcheck, true, false};
    if (path == "/deepcheck") return {Route::kDeepcheck, true, false};
  }
  if (o.enable_expvar && path == "/expvar") return {Route::kExpvar, true, false};
  if (o.enable_status) {
    if (path == "/status") return {Route::kStatus, true, false};
    if (path == "/status.json") return {Route::kStatusJson, true, false};
  }
  if (o.enable_ingestion) {
    if (path == "/v2/raw") return {Route::kRaw, false, true};
    if (path == "/v2/event") return {Route::kEvent, false, true};
    if (path == "/v2/check") return {Route::kCheck, false, true};
  }
  if (o.enable_prof && path.substr(0, kProfPrefix.size()) == kProfPrefix) {
    const std::string_view name = path.substr(kProfPrefix.size());
    if (name.empty()) return {Route::kProfIndex, true, false};
    if (name == "cmdline") return {Route::kProfCmdline, true, false};
    if (name == "profile") return {Route::kProfProfile, true, false};
    if (name == "symbol") return {Route::kProfSymbol, true, false};
    if (name == "trace") return {Route::kProfTrace, true, true};
    if (name.find('/') == std::string_view::npos) return {Route::kProfNamed, true, false};
  }
  return {};
}

}  // namespace

std::string CleanPath(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();  // `..` above the root stays at the root
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  if (out.empty() || path.back() == '/') out += '/';
  return out;
}

RouteMatch MatchRoute(const HttpServerOptions& options, std::string_view method,
                      std::string_view path) {
  if (std::string clean = CleanPath(path); clean != path) return {Route::kNone, 301, clean};
  const PathRoute p = FindPath(options, path);
  if (p.route == Route::kNone) return {Route::kNone, 404, {}};
  if ((method == "GET" && p.get) || (method == "POST" && p.post)) return {p.route, 0, {}};
  return {p.route, 405, {}};
}

}  // namespace cstatsd::http
