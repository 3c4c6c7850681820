// The AWS Lambda Extensions API and Telemetry API as the extension speaks them (docs/lambda.md):
// the requests (method, URL, headers, JSON body) built as plain values, the answers parsed, and
// RuntimeApiClient, which sends them on a transport::BlockingHttpClient. The builders and parsers
// are pure (any thread); a RuntimeApiClient belongs to the thread that calls Do (the extension's
// event loop), and AbortLongPoll() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "transport/blocking_http_client.h"

namespace cstatsd::lambda {

inline constexpr std::string_view kExtensionNameHeader = "Lambda-Extension-Name";
inline constexpr std::string_view kExtensionIdHeader = "Lambda-Extension-Identifier";
inline constexpr std::string_view kErrorTypeHeader = "Lambda-Extension-Function-Error-Type";
inline constexpr std::string_view kInitErrorType = "extension.initialization.failed";
inline constexpr std::string_view kRuntimeErrorType = "extension.runtime.fault";
// The environment variable with the Runtime API's host:port.
inline constexpr std::string_view kRuntimeApiEnv = "AWS_LAMBDA_RUNTIME_API";

using ApiRequest = transport::HttpRequest;  // method GET, POST or PUT

struct ApiResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // A header by name, any case; "" if absent.
  std::string Header(std::string_view name) const;
};

// Builds the requests to the Runtime API at `host` (AWS_LAMBDA_RUNTIME_API, "host:port").
class RuntimeApi {
 public:
  explicit RuntimeApi(std::string host) : host_(std::move(host)) {}

  // POST /2020-01-01/extension/register, {"events":["INVOKE","SHUTDOWN"]}.
  ApiRequest Register(std::string_view extension_name) const;
  // GET /2020-01-01/extension/event/next (a long poll: answers when the next event comes).
  ApiRequest NextEvent(std::string_view id) const;
  // PUT /2022-07-01/telemetry: platform events, buffered 25 ms, to `destination_uri`.
  ApiRequest SubscribeTelemetry(std::string_view id, std::string_view destination_uri) const;
  // POST /2020-01-01/extension/init/error (InitializationError).
  ApiRequest InitError(std::string_view id, std::string_view message) const;
  // POST /2020-01-01/extension/exit/error (ShutdownError).
  ApiRequest ExitError(std::string_view id, std::string_view message) const;

  const std::string& host() const { return host_; }

 private:
  std::string Url(std::string_view path) const;
  std::string host_;
};

// The bodies, exposed for tests.
std::string RegisterBody();
std::string TelemetrySubscriptionBody(std::string_view destination_uri);
std::string ErrorBody(std::string_view message, std::string_view error_type);

// What the register answer says about the function (logged).
struct RegisterInfo {
  std::string function_name;
  std::string function_version;
  std::string handler;
};
Result<RegisterInfo> ParseRegisterResponse(std::string_view body);

enum class EventType { kInvoke, kShutdown, kOther };

struct NextEvent {
  EventType type = EventType::kOther;
  std::string type_name;        // eventType as sent
  std::string request_id;       // INVOKE
  std::string function_arn;     // INVOKE: invokedFunctionArn
  int64_t deadline_ms = 0;      // INVOKE: deadlineMs
  std::string shutdown_reason;  // SHUTDOWN: spindown, timeout, failure
};
Result<NextEvent> ParseNextEvent(std::string_view body);

// Sends requests (HTTP/1.1, no proxy: the Runtime API is local; one connection, reused). A response
// of any status is a value; only a transport failure (or Abort) is an error.
class RuntimeApiClient {
 public:
  RuntimeApiClient();

  // `timeout_ms` 0 = none. An `abortable` request (the event/next long poll) fails at once
  // after AbortLongPoll(), in progress or not yet sent; the others are never aborted, so the
  // error reports and the final requests still go out after a stop.
  Result<ApiResponse> Do(const ApiRequest& request, long timeout_ms = 0, bool abortable = false);
  // Ends the abortable request in progress, and makes every later one fail. Any thread.
  void AbortLongPoll() { http_.Abort(); }
  bool long_poll_aborted() const { return http_.aborted(); }

 private:
  transport::BlockingHttpClient http_;
};

}  // namespace cstatsd::lambda
