// Routes of an HTTP server (docs/http.md): what gostatsd's gorilla/mux router answers.
#include "http/routes.h"

#include <gtest/gtest.h>

namespace cstatsd::http {
namespace {

HttpServerOptions All() {
  HttpServerOptions o;
  o.enable_healthcheck = o.enable_expvar = o.enable_ingestion = o.enable_prof = true;
  return o;
}

TEST(RoutesTest, KnownRoutesWithTheirMethods) {
  const HttpServerOptions o = All();
  const std::vector<std::tuple<const char*, const char*, Route>> cases = {
      {"GET", "/healthcheck", Route::kHealthcheck},
      {"GET", "/deepcheck", Route::kDeepcheck},
      {"GET", "/expvar", Route::kExpvar},
      {"POST", "/v2/raw", Route::kRaw},
      {"POST", "/v2/event", Route::kEvent},
      {"GET", "/debug/pprof/", Route::kProfIndex},
      {"GET", "/debug/pprof/cmdline", Route::kProfCmdline},
      {"GET", "/debug/pprof/profile", Route::kProfProfile},
      {"GET", "/debug/pprof/symbol", Route::kProfSymbol},
      {"GET", "/debug/pprof/trace", Route::kProfTrace},
      {"POST", "/debug/pprof/trace", Route::kProfTrace},
      {"GET", "/debug/pprof/heap", Route::kProfNamed},
  };
  for (const auto& [method, path, route] : cases) {
    const RouteMatch m = MatchRoute(o, method, path);
    EXPECT_EQ(m.status, 0) << method << " " << path;
    EXPECT_EQ(m.route, route) << method << " " << path;
  }
}

TEST(RoutesTest, UnknownPathsAre404) {
  const HttpServerOptions o = All();
  for (const char* path : {"/", "/nope", "/healthcheck/", "/v2/raw/x", "/v1/raw", "/HEALTHCHECK",
                           "/debug/pprof", "/debug/pprof/a/b", "/expvar?x"}) {
    EXPECT_EQ(MatchRoute(o, "GET", path).status, 404) << path;
    EXPECT_EQ(MatchRoute(o, "POST", path).status, 404) << path;
  }
}

TEST(RoutesTest, PathsThatAreNotCleanAreRedirected) {
  const HttpServerOptions o = All();
  const RouteMatch m = MatchRoute(o, "POST", "//v2/raw");
  EXPECT_EQ(m.status, 301);
  EXPECT_EQ(m.location, "/v2/raw");
  EXPECT_EQ(MatchRoute(o, "GET", "/a/../healthcheck").location, "/healthcheck");
  EXPECT_EQ(MatchRoute(o, "GET", "/nope//x").status, 301);  // before 404, as mux
}

TEST(RoutesTest, CleanPathIsGosPathCleanKeepingATrailingSlash) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"", "/"},
      {"/", "/"},
      {"//", "/"},
      {"/a//b", "/a/b"},
      {"/a/./b", "/a/b"},
      {"/a/../b", "/b"},
      {"/../a", "/a"},
      {"/a/b/", "/a/b/"},
      {"/a/..", "/"},
      {"/a/../", "/"},
      {"a", "/a"},
      {"/debug/pprof/", "/debug/pprof/"},
      {"/./", "/"},
      {"/a/b/../../..", "/"},
      {"/a/.../b", "/a/.../b"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(CleanPath(in), want) << in;
}

TEST(RoutesTest, OtherMethodsOnAKnownPathAre405) {
  const HttpServerOptions o = All();
  EXPECT_EQ(MatchRoute(o, "POST", "/healthcheck").status, 405);
  EXPECT_EQ(MatchRoute(o, "HEAD", "/healthcheck").status, 405);
  EXPECT_EQ(MatchRoute(o, "GET", "/v2/raw").status, 405);
  EXPECT_EQ(MatchRoute(o, "PUT", "/v2/event").status, 405);
  EXPECT_EQ(MatchRoute(o, "DELETE", "/expvar").status, 405);
  EXPECT_EQ(MatchRoute(o, "POST", "/debug/pprof/cmdline").status, 405);
}

TEST(RoutesTest, RoutesOfDisabledFeaturesDoNotExist) {
  HttpServerOptions o;  // healthcheck only (the default)
  EXPECT_EQ(MatchRoute(o, "GET", "/healthcheck").status, 0);
  EXPECT_EQ(MatchRoute(o, "GET", "/expvar").status, 404);
  EXPECT_EQ(MatchRoute(o, "POST", "/v2/raw").status, 404);
  EXPECT_EQ(MatchRoute(o, "GET", "/debug/pprof/cmdline").status, 404);
  o.enable_healthcheck = false;
  o.enable_ingestion = true;
  EXPECT_EQ(MatchRoute(o, "GET", "/healthcheck").status, 404);
  EXPECT_EQ(MatchRoute(o, "POST", "/v2/raw").status, 0);
}

TEST(RoutesTest, StatusPageWithEnableStatusOnly) {  // docs/status-page.md
  HttpServerOptions o;
  EXPECT_EQ(MatchRoute(o, "GET", "/status").status, 404);
  EXPECT_EQ(MatchRoute(o, "GET", "/status.json").status, 404);
  o.enable_status = true;
  EXPECT_EQ(MatchRoute(o, "GET", "/status").route, Route::kStatus);
  EXPECT_EQ(MatchRoute(o, "GET", "/status").status, 0);
  EXPECT_EQ(MatchRoute(o, "GET", "/status.json").route, Route::kStatusJson);
  EXPECT_EQ(MatchRoute(o, "POST", "/status.json").status, 405);
  EXPECT_EQ(MatchRoute(o, "GET", "/status/").status, 404);
  EXPECT_EQ(MatchRoute(o, "GET", "//status").location, "/status");
}

}  // namespace
}  // namespace cstatsd::http
