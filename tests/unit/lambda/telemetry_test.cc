// Telemetry batches → the request ids of their platform.runtimeDone events, and the telemetry
// listener's address and destination URI (docs/lambda.md).
#include "lambda/telemetry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cstatsd::lambda {
namespace {

using ::testing::ElementsAre;

TEST(TelemetryTest, RuntimeDoneOnlyWithItsRequestId) {
  auto ids = RuntimeDoneRequestIds(R"([
    {"time":"2026-11-25T10:00:00.000Z","type":"platform.start","record":{"requestId":"a"}},
    {"time":"2026-11-25T10:00:00.100Z","type":"platform.runtimeDone",
     "record":{"requestId":"a","status":"success","metrics":{"durationMs":100.0}}},
    {"time":"2026-11-25T10:00:00.120Z","type":"platform.report","record":{"requestId":"a"}}
  ])");
  ASSERT_TRUE(ids.ok()) << ids.error();
  EXPECT_THAT(*ids, ElementsAre("a"));
}

TEST(TelemetryTest, SeveralInvocationsInOneBatchInOrder) {
  auto ids = RuntimeDoneRequestIds(
      R"([{"type":"platform.runtimeDone","record":{"requestId":"r1"}},
          {"type":"platform.runtimeDone","record":{"requestId":"r2","status":"timeout"}}])");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre("r1", "r2"));
}

TEST(TelemetryTest, RuntimeDoneWithoutRequestId) {
  auto ids = RuntimeDoneRequestIds(
      R"([{"type":"platform.runtimeDone"},{"type":"platform.runtimeDone","record":"x"},
          {"type":"platform.runtimeDone","record":{"requestId":7}}])");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre("", "", ""));
}

TEST(TelemetryTest, NothingToFlush) {
  for (const char* body :
       {"[]", R"([{"type":"platform.initStart"}])", R"([{"type":"platform.initRuntimeDone"}])",
        R"([{"type":"function","record":"platform.runtimeDone"}])",
        R"([1, "x", null, {"type": 3}, {"record": {}}])"}) {
    auto ids = RuntimeDoneRequestIds(body);
    ASSERT_TRUE(ids.ok()) << body;
    EXPECT_TRUE(ids->empty()) << body;
  }
}

TEST(TelemetryTest, NotAnArrayIsAnError) {
  EXPECT_FALSE(RuntimeDoneRequestIds("").ok());
  EXPECT_FALSE(RuntimeDoneRequestIds(R"({"type":"platform.runtimeDone"})").ok());
  EXPECT_FALSE(RuntimeDoneRequestIds("[{").ok());
}

TEST(TelemetryTest, DefaultSandboxAddress) {
  auto a = ParseTelemetryAddress("sandbox:8083");
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a->bind_host, "sandbox");
  EXPECT_EQ(a->port, 8083);
  EXPECT_EQ(DestinationUri(*a, 8083), "http://sandbox:8083/telemetry");
}

TEST(TelemetryTest, LoopbackWithAnyPort) {
  auto a = ParseTelemetryAddress("127.0.0.1:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bind_host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  EXPECT_EQ(DestinationUri(*a, 40001), "http://127.0.0.1:40001/telemetry");
}

TEST(TelemetryTest, AllInterfacesNameTheSandbox) {
  auto a = ParseTelemetryAddress(":8083");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bind_host, "0.0.0.0");
  EXPECT_EQ(DestinationUri(*a, 8083), "http://sandbox:8083/telemetry");
}

TEST(TelemetryTest, Ipv6) {
  auto a = ParseTelemetryAddress("[::1]:9000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bind_host, "::1");
  EXPECT_EQ(DestinationUri(*a, 9000), "http://[::1]:9000/telemetry");
}

TEST(TelemetryTest, BadAddressesNameTheKey) {
  for (const char* bad : {"sandbox", "sandbox:", "sandbox:http", "sandbox:70000", "sandbox:-1",
                          "::1:80", "[::1]", "[]:80", "[::1]80"}) {
    auto a = ParseTelemetryAddress(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.error().rfind("lambda-extension-telemetry-address: ", 0), 0u) << a.error();
  }
}

}  // namespace
}  // namespace cstatsd::lambda
