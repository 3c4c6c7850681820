// The Extensions and Telemetry API requests as the extension sends them (docs/lambda.md), and the
// parsing of the Runtime API's answers.
#include "lambda/runtime_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cstatsd::lambda {
namespace {

using ::testing::Contains;
using ::testing::Pair;
using Json = nlohmann::json;

std::string HeaderOf(const ApiRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(RuntimeApiTest, Register) {
  RuntimeApi api("127.0.0.1:9001");
  const ApiRequest r = api.Register("cstatsd-lambda-extension");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://127.0.0.1:9001/2020-01-01/extension/register");
  EXPECT_EQ(HeaderOf(r, "Lambda-Extension-Name"), "cstatsd-lambda-extension");
  EXPECT_EQ(HeaderOf(r, "Lambda-Extension-Identifier"), "<absent>");
  EXPECT_EQ(r.body, R"({"events":["INVOKE","SHUTDOWN"]})");
}

TEST(RuntimeApiTest, NextEventCarriesTheIdentifier) {
  const ApiRequest r = RuntimeApi("h:1").NextEvent("id-1");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "http://h:1/2020-01-01/extension/event/next");
  EXPECT_EQ(HeaderOf(r, "Lambda-Extension-Identifier"), "id-1");
  EXPECT_TRUE(r.body.empty());
}

TEST(RuntimeApiTest, TelemetrySubscription) {
  const ApiRequest r =
      RuntimeApi("h:1").SubscribeTelemetry("id-1", "http://sandbox:8083/telemetry");
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.url, "http://h:1/2022-07-01/telemetry");
  EXPECT_EQ(HeaderOf(r, "Lambda-Extension-Identifier"), "id-1");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
  EXPECT_EQ(Json::parse(r.body), Json::parse(R"({
      "schemaVersion": "2022-07-01", "types": ["platform"], "buffering": {"timeoutMs": 25},
      "destination": {"protocol": "HTTP", "URI": "http://sandbox:8083/telemetry"}})"));
  // In the order of docs/lambda.md#what-it-does, for people reading captures.
  EXPECT_EQ(r.body.find("\"schemaVersion\""), 1u);
}

TEST(RuntimeApiTest, InitError) {
  const ApiRequest r = RuntimeApi("h:1").InitError("id-1", "http-transport.api-endpoint: \"x\"");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://h:1/2020-01-01/extension/init/error");
  EXPECT_EQ(HeaderOf(r, "Lambda-Extension-Identifier"), "id-1");
  EXPECT_EQ(HeaderOf(r, "Lambda-Extension-Function-Error-Type"), "extension.initialization.failed");
  EXPECT_EQ(Json::parse(r.body),
            Json::parse(R"({"errorMessage": "http-transport.api-endpoint: \"x\"",
      "errorType": "InitializationError", "stackTrace": []})"));
}

TEST(RuntimeApiTest, ExitError) {
  const ApiRequest r = RuntimeApi("h:1").ExitError("id-1", "event/next failed: status 500");
  EXPECT_EQ(r.url, "http://h:1/2020-01-01/extension/exit/error");
  EXPECT_EQ(HeaderOf(r, "Lambda-Extension-Function-Error-Type"), "extension.runtime.fault");
  const Json body = Json::parse(r.body);
  EXPECT_EQ(body["errorType"], "ShutdownError");
  EXPECT_EQ(body["errorMessage"], "event/next failed: status 500");
  EXPECT_EQ(body["stackTrace"], Json::array());
}

TEST(RuntimeApiTest, ErrorBodyEscapes) {
  EXPECT_EQ(Json::parse(ErrorBody("a\nb \"c\" \\", "T"))["errorMessage"], "a\nb \"c\" \\");
}

TEST(RuntimeApiTest, ParsesInvoke) {
  auto e = ParseNextEvent(R"({"eventType":"INVOKE","deadlineMs":1700000000123,
      "requestId":"3da1f2dc-3222-475e-9205-e2e6c6318895",
      "invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn",
      "tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1"}})");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->type, EventType::kInvoke);
  EXPECT_EQ(e->request_id, "3da1f2dc-3222-475e-9205-e2e6c6318895");
  EXPECT_EQ(e->deadline_ms, 1700000000123);
  EXPECT_EQ(e->function_arn, "arn:aws:lambda:us-east-1:123456789012:function:fn");
}

TEST(RuntimeApiTest, ParsesShutdown) {
  auto e = ParseNextEvent(R"({"eventType":"SHUTDOWN","shutdownReason":"spindown",
      "deadlineMs":1700000002000})");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->type, EventType::kShutdown);
  EXPECT_EQ(e->shutdown_reason, "spindown");
}

TEST(RuntimeApiTest, UnknownEventTypeIsOther) {
  auto e = ParseNextEvent(R"({"eventType":"RESTORE"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, EventType::kOther);
  EXPECT_EQ(e->type_name, "RESTORE");
}

TEST(RuntimeApiTest, BadEventBodiesAreErrors) {
  EXPECT_FALSE(ParseNextEvent("").ok());
  EXPECT_FALSE(ParseNextEvent("not json").ok());
  EXPECT_FALSE(ParseNextEvent("[]").ok());
  EXPECT_FALSE(ParseNextEvent(R"({"requestId":"x"})").ok());
  EXPECT_FALSE(ParseNextEvent(R"({"eventType":7})").ok());
}

TEST(RuntimeApiTest, ParsesRegisterResponse) {
  auto info = ParseRegisterResponse(
      R"({"functionName":"fn","functionVersion":"$LATEST","handler":"index.handler"})");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->function_name, "fn");
  EXPECT_EQ(info->function_version, "$LATEST");
  EXPECT_EQ(info->handler, "index.handler");
  EXPECT_TRUE(ParseRegisterResponse("{}").ok());
  EXPECT_FALSE(ParseRegisterResponse("<html>").ok());
}

TEST(RuntimeApiTest, ResponseHeadersAnyCase) {
  ApiResponse r;
  r.headers["lambda-extension-identifier"] = "abc";
  EXPECT_EQ(r.Header("Lambda-Extension-Identifier"), "abc");
  EXPECT_EQ(r.Header("missing"), "");
}

}  // namespace
}  // namespace cstatsd::lambda
