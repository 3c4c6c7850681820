// [http.<name>] sections (docs/http.md): defaults, validation messages naming the key, GSD_*
// environment overrides and unknown keys.
#include "http/http_options.h"

#include <gtest/gtest.h>

namespace cstatsd::http {
namespace {

config::Config ConfigWith(std::vector<std::string> servers, const char* file_json,
                          config::Environment env = {}) {
  config::Config c;
  c.options.http_servers = std::move(servers);
  c.file = nlohmann::json::parse(file_json);
  c.env = std::move(env);
  return c;
}

TEST(HttpOptionsTest, DefaultsOfASectionThatIsNotInTheFile) {
  std::vector<std::string> warnings;
  auto r = LoadHttpServerOptions(ConfigWith({"main"}, "{}"), warnings);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 1u);
  const HttpServerOptions& o = (*r)[0];
  EXPECT_EQ(o.name, "main");
  EXPECT_EQ(o.address, "127.0.0.1:8080");
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8080);
  EXPECT_TRUE(o.enable_healthcheck);
  EXPECT_FALSE(o.enable_expvar);
  EXPECT_FALSE(o.enable_ingestion);
  EXPECT_FALSE(o.enable_prof);
  EXPECT_EQ(o.max_request_body_size, 64 << 20);
  EXPECT_EQ(o.max_connections, 1024);
  EXPECT_EQ(o.max_connections_per_ip, 256);
  EXPECT_EQ(o.max_header_bytes, 65536);
  EXPECT_EQ(o.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(o.request_timeout, std::chrono::seconds(60));
  EXPECT_EQ(o.ingestion_threads, 4);
  EXPECT_TRUE(warnings.empty());
}

TEST(HttpOptionsTest, KeysFromTheFileAndTheEnvironment) {
  std::vector<std::string> warnings;
  auto r = LoadHttpServerOptions(
      ConfigWith({"a", "b"}, R"({"http": {"a": {"address": ":9000", "enable-ingestion": true,
                 "enable-expvar": "true", "max-request-body-size": 1000},
                 "b": {"address": "[::1]:0"}}})",
                 {{"GSD_HTTP_A_ENABLE_PROF", "true"}, {"GSD_HTTP_B_ENABLE_HEALTHCHECK", "1"}}),
      warnings);
  ASSERT_TRUE(r.ok()) << r.error();
  const HttpServerOptions& a = (*r)[0];
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 9000);
  EXPECT_TRUE(a.enable_ingestion);
  EXPECT_TRUE(a.enable_expvar);
  EXPECT_TRUE(a.enable_prof);
  EXPECT_EQ(a.max_request_body_size, 1000);
  const HttpServerOptions& b = (*r)[1];
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 0);
}

TEST(HttpOptionsTest, NothingEnabledIsAnErrorNamingTheSection) {
  std::vector<std::string> warnings;
  auto r = LoadHttpServerOptions(
      ConfigWith({"quiet"}, R"({"http": {"quiet": {"enable-healthcheck": false}}})"), warnings);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("http.quiet: must enable at least one of"), std::string::npos)
      << r.error();
}

TEST(HttpOptionsTest, EveryProblemIsListedWithItsKey) {
  std::vector<std::string> warnings;
  auto r = LoadHttpServerOptions(
      ConfigWith({"x", "x"}, R"({"http": {"x": {"address": "nope", "enable-expvar": "maybe",
                 "max-request-body-size": 0, "enable-ingeston": true}}})"),
      warnings);
  ASSERT_FALSE(r.ok());
  const std::string& e = r.error();
  EXPECT_NE(e.find("http.x.address: \"nope\" is not host:port"), std::string::npos) << e;
  EXPECT_NE(e.find("http.x.enable-expvar"), std::string::npos) << e;
  EXPECT_NE(e.find("http.x.max-request-body-size"), std::string::npos) << e;
  EXPECT_NE(e.find("http-servers: \"x\" is named twice"), std::string::npos) << e;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("http.x: unknown key \"enable-ingeston\""), std::string::npos);
}

TEST(HttpOptionsTest, ASectionThatHttpServersDoesNotNameIsWarnedAbout) {
  std::vector<std::string> warnings;
  auto r = LoadHttpServerOptions(
      ConfigWith({"a"}, R"({"http": {"a": {}, "b": {"enable-ingestion": true}}})"), warnings);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "[http.b] is not run: its name is not in http-servers (\"a\")");
}

TEST(HttpOptionsTest, BadPortsAndHosts) {
  for (const char* address :
       {"127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536", "::1:80", "127.0.0.1:-1"}) {
    std::vector<std::string> warnings;
    const std::string file = std::string(R"({"http": {"m": {"address": ")") + address + "\"}}}";
    auto r = LoadHttpServerOptions(ConfigWith({"m"}, file.c_str()), warnings);
    ASSERT_FALSE(r.ok()) << address;
    EXPECT_NE(r.error().find("http.m.address"), std::string::npos) << r.error();
  }
}

TEST(HttpOptionsTest, BodyLimitAboveOneGibIsRefused) {
  std::vector<std::string> warnings;
  auto r = LoadHttpServerOptions(
      ConfigWith({"m"}, R"({"http": {"m": {"max-request-body-size": 2147483648}}})"), warnings);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("http.m.max-request-body-size"), std::string::npos) << r.error();
}

TEST(HttpOptionsTest, MaxConnections) {
  std::vector<std::string> warnings;
  auto r = LoadHttpServerOptions(ConfigWith({"m"}, R"({"http": {"m": {"max-connections": 64}}})",
                                            {{"GSD_HTTP_M_MAX_CONNECTIONS", "4096"}}),
                                 warnings);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)[0].max_connections, 4096);  // the environment over the file
  EXPECT_TRUE(warnings.empty());
  for (const char* bad : {R"({"http": {"m": {"max-connections": 0}}})",
                          R"({"http": {"m": {"max-connections": 65537}}})",
                          R"({"http": {"m": {"max-connections": "many"}}})"}) {
    r = LoadHttpServerOptions(ConfigWith({"m"}, bad), warnings);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().find("http.m.max-connections"), std::string::npos) << r.error();
  }
}

TEST(HttpOptionsTest, HardeningLimits) {
  std::vector<std::string> warnings;
  auto r = LoadHttpServerOptions(
      ConfigWith({"m"}, R"({"http": {"m": {"max-connections-per-ip": 8, "max-header-bytes": 4096,
                 "header-timeout": "2s", "request-timeout": "1m30s", "ingestion-threads": 1}}})",
                 {{"GSD_HTTP_M_MAX_HEADER_BYTES", "8192"}}),
      warnings);
  ASSERT_TRUE(r.ok()) << r.error();
  const HttpServerOptions& o = (*r)[0];
  EXPECT_EQ(o.max_connections_per_ip, 8);
  EXPECT_EQ(o.max_header_bytes, 8192);  // the environment over the file
  EXPECT_EQ(o.header_timeout, std::chrono::seconds(2));
  EXPECT_EQ(o.request_timeout, std::chrono::seconds(90));
  EXPECT_EQ(o.ingestion_threads, 1);
  EXPECT_TRUE(warnings.empty());
  const std::pair<const char*, const char*> bad[] = {
      {R"({"http": {"m": {"max-connections-per-ip": 0}}})", "http.m.max-connections-per-ip"},
      {R"({"http": {"m": {"max-connections-per-ip": 65537}}})", "http.m.max-connections-per-ip"},
      {R"({"http": {"m": {"max-header-bytes": 100}}})", "http.m.max-header-bytes"},
      {R"({"http": {"m": {"max-header-bytes": 1073741824}}})", "http.m.max-header-bytes"},
      {R"({"http": {"m": {"header-timeout": "0s"}}})", "http.m.header-timeout"},
      {R"({"http": {"m": {"header-timeout": "soon"}}})", "http.m.header-timeout"},
      {R"({"http": {"m": {"request-timeout": "2h"}}})", "http.m.request-timeout"},
      {R"({"http": {"m": {"ingestion-threads": 0}}})", "http.m.ingestion-threads"},
      {R"({"http": {"m": {"ingestion-threads": 65}}})", "http.m.ingestion-threads"},
  };
  for (const auto& [file, key] : bad) {
    r = LoadHttpServerOptions(ConfigWith({"m"}, file), warnings);
    ASSERT_FALSE(r.ok()) << file;
    EXPECT_NE(r.error().find(key), std::string::npos) << r.error();
  }
}

}  // namespace
}  // namespace cstatsd::http
