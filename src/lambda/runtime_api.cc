#include "lambda/runtime_api.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace cstatsd::lambda {
namespace {

using Json = nlohmann::ordered_json;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A string member of a JSON object, or "" when absent or not a string.
std::string StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string ApiResponse::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string RegisterBody() { return Json{{"events", {"INVOKE", "SHUTDOWN"}}}.dump(); }

std::string TelemetrySubscriptionBody(std::string_view destination_uri) {
  return Json{{"schemaVersion", "2022-07-01"},
              {"types", {"platform"}},
              // The shortest buffering Lambda allows: runtimeDone arrives as soon as possible.
              {"buffering", {{"timeoutMs", 25}}},
              {"destination", {{"protocol", "HTTP"}, {"URI", std::string(destination_uri)}}}}
      .dump();
}

std::string ErrorBody(std::string_view message, std::string_view error_type) {
  return Json{{"errorMessage", std::string(message)},
              {"errorType", std::string(error_type)},
              {"stackTrace", Json::array()}}
      .dump();
}

std::string RuntimeApi::Url(std::string_view path) const {
  return "http://" + host_ + std::string(path);
}

ApiRequest RuntimeApi::Register(std::string_view extension_name) const {
  return {"POST",
          Url("/2020-01-01/extension/register"),
          {{std::string(kExtensionNameHeader), std::string(extension_name)},
           {"Content-Type", "application/json"}},
          RegisterBody()};
}

ApiRequest RuntimeApi::NextEvent(std::string_view id) const {
  return {"GET",
          Url("/2020-01-01/extension/event/next"),
          {{std::string(kExtensionIdHeader), std::string(id)}},
          ""};
}

ApiRequest RuntimeApi::SubscribeTelemetry(std::string_view id,
                                          std::string_view destination_uri) const {
  return {
      "PUT",
      Url("/2022-07-01/telemetry"),
      {{std::string(kExtensionIdHeader), std::string(id)}, {"Content-Type", "application/json"}},
      TelemetrySubscriptionBody(destination_uri)};
}

ApiRequest RuntimeApi::InitError(std::string_view id, std::string_view message) const {
  return {"POST",
          Url("/2020-01-01/extension/init/error"),
          {{std::string(kExtensionIdHeader), std::string(id)},
           {std::string(kErrorTypeHeader), std::string(kInitErrorType)},
           {"Content-Type", "application/json"}},
          ErrorBody(message, "InitializationError")};
}

ApiRequest RuntimeApi::ExitError(std::string_view id, std::string_view message) const {
  return {"POST",
          Url("/2020-01-01/extension/exit/error"),
          {{std::string(kExtensionIdHeader), std::string(id)},
           {std::string(kErrorTypeHeader), std::string(kRuntimeErrorType)},
           {"Content-Type", "application/json"}},
          ErrorBody(message, "ShutdownError")};
}

Result<RegisterInfo> ParseRegisterResponse(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Error("register response is not a JSON object");
  }
  return RegisterInfo{StringField(j, "functionName"), StringField(j, "functionVersion"),
                      StringField(j, "handler")};
}

Result<NextEvent> ParseNextEvent(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Error("event/next response is not a JSON object");
  }
  NextEvent e;
  e.type_name = StringField(j, "eventType");
  if (e.type_name == "INVOKE") {
    e.type = EventType::kInvoke;
  } else if (e.type_name == "SHUTDOWN") {
    e.type = EventType::kShutdown;
  } else if (e.type_name.empty()) {
    return Status::Error("event/next response has no eventType");
  }
  e.request_id = StringField(j, "requestId");
  e.function_arn = StringField(j, "invokedFunctionArn");
  e.shutdown_reason = StringField(j, "shutdownReason");
  if (auto it = j.find("deadlineMs"); it != j.end() && it->is_number()) {
    e.deadline_ms = it->get<int64_t>();
  }
  return e;
}

RuntimeApiClient::RuntimeApiClient()
    : http_([] {
        transport::BlockingClientOptions o;
        o.proxy_from_environment = false;
        o.http2 = false;
        o.connect_timeout = std::chrono::seconds(5);
        o.keep_alive_idle = transport::Duration(-1);  // no TCP keep-alive
        return o;
      }()) {}

Result<ApiResponse> RuntimeApiClient::Do(const ApiRequest& request, long timeout_ms,
                                         bool abortable) {
  transport::CallOptions call;
  call.timeout = std::chrono::milliseconds(timeout_ms);
  call.keep_headers = true;
  // AbortLongPoll() ends an abortable request at once; the others still go after it.
  call.abortable = abortable;
  transport::BlockingResponse r = http_.Do(request, call);
  if (r.aborted) return Status::Error("aborted");
  if (!r.error.empty()) return Status::Error(std::move(r.error));
  ApiResponse response;
  response.status = r.status;
  response.headers = std::move(r.headers);
  response.body = std::move(r.body);
  return response;
}

}  // namespace cstatsd::lambda
