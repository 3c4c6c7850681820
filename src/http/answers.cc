#include "http/answers.h"

#include <nlohmann/json.hpp>

#include "http/health_checks.h"
#include "http/process_info.h"
#include "http/status_page.h"

namespace cstatsd::http {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kText = "text/plain; charset=utf-8";

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

RouteAnswer Prof(Route route) {
  if (route == Route::kProfCmdline) {
    // As Go's pprof.Cmdline: the arguments joined by NUL bytes.
    std::string out;
    for (const auto& a : CommandLine()) {
      if (!out.empty()) out.push_back('\0');
      out += a;
    }
    return {200, std::move(out), kText, {}};
  }
  if (route == Route::kProfIndex) {
    return {200,
            "cstatsd is a C++ program: Go's profiles do not exist here.\n"
            "/debug/pprof/cmdline   the command line, NUL-separated\n"
            "Everything else under /debug/pprof/ answers 501. Profile with perf instead, e.g.\n"
            "  perf record -g -p <pid> -- sleep 30 && perf report\n"
            "and see /expvar for memory and thread figures.\n",
            kText,
            {}};
  }
  return {501,
          "not available in cstatsd (a C++ program has no Go profiler); profile with perf, e.g. "
          "perf record -g -p <pid> -- sleep 30\n",
          kText,
          {}};
}

}  // namespace

RouteAnswer AnswerRoute(const RouteMatch& m, std::string_view target, const HttpServerDeps& deps) {
  switch (m.status) {
    case 301: {
      // As gorilla/mux: to the clean path, with the query kept.
      std::string location = m.location;
      const size_t q = target.find('?');
      if (q != std::string_view::npos) location += target.substr(q);
      return {301, {}, nullptr, std::move(location)};
    }
    case 404:
      return {404, "not found", kText, {}};
    case 405:
      return {405, {}, nullptr, {}};
    default:
      break;
  }
  switch (m.route) {
    case Route::kHealthcheck:
      return {200, HealthReport{}.Json(), kJson, {}};  // liveness: no checks (as gostatsd)
    case Route::kDeepcheck: {
      const HealthReport report = deps.health ? deps.health->Run() : HealthReport{};
      return {report.healthy() ? 200 : 500, report.Json(), kJson, {}};
    }
    case Route::kExpvar: {
      nlohmann::json j = nlohmann::json::object();
      j["cmdline"] = CommandLine();
      j["process"] = ProcessStats();
      j["cstatsd"] = deps.vars ? deps.vars() : nlohmann::json::object();
      return {200, Dump(j), "application/json; charset=utf-8", {}};
    }
    case Route::kStatus:
      return {200, std::string(StatusPageHtml()), "text/html; charset=utf-8", {}};
    case Route::kStatusJson:
      return {200,
              deps.status ? deps.status() : std::string("{}"),
              "application/json; charset=utf-8",
              {}};
    default:
      return Prof(m.route);
  }
}

}  // namespace cstatsd::http
