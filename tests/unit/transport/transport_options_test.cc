// [transport.<name>] (docs/forwarder.md#transport): defaults, every key, validation errors naming
// the key, the fallback to `default`, and the GSD_ environment overlay.
#include "transport/transport_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cstatsd::transport {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

config::Config MakeConfig(const char* json, config::Environment env = {}) {
  config::Config c;
  c.file = nlohmann::json::parse(json);
  c.env = std::move(env);
  return c;
}

TEST(TransportOptionsTest, DefaultsWhenNothingIsConfigured) {
  const auto c = MakeConfig("{}");
  std::vector<std::string> warnings;
  auto t = LoadTransportOptions(c, "default", &warnings);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(t->name, "default");
  EXPECT_EQ(t->type, "http");
  EXPECT_EQ(t->client_timeout, 10s);
  EXPECT_EQ(t->dialer_keep_alive, 30s);
  EXPECT_EQ(t->dialer_timeout, 5s);
  EXPECT_FALSE(t->enable_http2);
  EXPECT_EQ(t->idle_connection_timeout, 1min);
  EXPECT_EQ(t->max_idle_connections, 50);
  EXPECT_EQ(t->network, "tcp");
  EXPECT_EQ(t->tls_handshake_timeout, 3s);  // the code's default, not TRANSPORT.md's 3m
  EXPECT_EQ(t->response_header_timeout, 0s);
}

TEST(TransportOptionsTest, EveryKeyIsRead) {
  const auto c = MakeConfig(R"({"transport": {"fast": {
      "type": "http", "client-timeout": "2s", "dialer-keep-alive": "-1", "dialer-timeout": "1s",
      "enable-http2": true, "idle-connection-timeout": "30s", "max-idle-connections": 7,
      "network": "tcp6", "tls-handshake-timeout": "4s", "response-header-timeout": "3s"}}})");
  auto t = LoadTransportOptions(c, "fast", nullptr);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->name, "fast");
  EXPECT_EQ(t->client_timeout, 2s);
  EXPECT_EQ(t->dialer_keep_alive, -1ns);
  EXPECT_EQ(t->dialer_timeout, 1s);
  EXPECT_TRUE(t->enable_http2);
  EXPECT_EQ(t->idle_connection_timeout, 30s);
  EXPECT_EQ(t->max_idle_connections, 7);
  EXPECT_EQ(t->network, "tcp6");
  EXPECT_EQ(t->tls_handshake_timeout, 4s);
  EXPECT_EQ(t->response_header_timeout, 3s);
}

TEST(TransportOptionsTest, UnknownNameFallsBackToDefaultWithAWarning) {
  const auto c = MakeConfig(R"({"transport": {"default": {"client-timeout": "3s"}}})");
  std::vector<std::string> warnings;
  auto t = LoadTransportOptions(c, "missing", &warnings);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->name, "default");
  EXPECT_EQ(t->client_timeout, 3s);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("\"missing\""));
}

TEST(TransportOptionsTest, UnknownKeysAreWarnedAbout) {
  const auto c = MakeConfig(R"({"transport": {"default": {"client-timout": "3s"}}})");
  std::vector<std::string> warnings;
  auto t = LoadTransportOptions(c, "default", &warnings);
  ASSERT_TRUE(t.ok()) << t.error();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("transport.default.client-timout"));
}

TEST(TransportOptionsTest, EnvironmentOverridesTheFile) {
  const auto c = MakeConfig(R"({"transport": {"default": {"client-timeout": "3s"}}})",
                            {{"GSD_TRANSPORT_DEFAULT_CLIENT_TIMEOUT", "7s"}});
  auto t = LoadTransportOptions(c, "default", nullptr);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->client_timeout, 7s);
}

TEST(TransportOptionsTest, ErrorsNameEveryBadKey) {
  const auto c = MakeConfig(R"({"transport": {"default": {
      "type": "grpc", "client-timeout": "-1s", "dialer-keep-alive": "-5s",
      "dialer-timeout": "-1s", "max-idle-connections": -1, "network": "udp",
      "tls-handshake-timeout": "-2s", "response-header-timeout": "-1s",
      "idle-connection-timeout": "-1s", "enable-http2": "maybe"}}})");
  auto t = LoadTransportOptions(c, "default", nullptr);
  ASSERT_FALSE(t.ok());
  for (const char* key :
       {"transport.default.type", "transport.default.client-timeout",
        "transport.default.dialer-keep-alive", "transport.default.dialer-timeout",
        "transport.default.max-idle-connections", "transport.default.network",
        "transport.default.tls-handshake-timeout", "transport.default.response-header-timeout",
        "transport.default.idle-connection-timeout", "transport.default.enable-http2"}) {
    EXPECT_THAT(t.error(), HasSubstr(key));
  }
}

TEST(TransportOptionsTest, KeepAliveZeroAndMinusOneAreAllowed) {
  for (const char* v : {"0", "-1", "-1s", "15s"}) {
    const auto c = MakeConfig(
        (std::string(R"({"transport": {"default": {"dialer-keep-alive": ")") + v + "\"}}}")
            .c_str());
    EXPECT_TRUE(LoadTransportOptions(c, "default", nullptr).ok()) << v;
  }
}

}  // namespace
}  // namespace cstatsd::transport
