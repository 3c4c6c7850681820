#include "lambda/runtime_api.h"

#include <curl/curl.h>

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

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ' ||
                              value.back() == '\t')) {
      value.remove_suffix(1);
    }
    (*static_cast<std::map<std::string, std::string>*>(user))[Lower(line.substr(0, colon))] =
        std::string(value);
  }
  return size * n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load(std::memory_order_relaxed) ? 1 : 0;
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

RuntimeApiClient::RuntimeApiClient() : curl_(curl_easy_init()) {}

RuntimeApiClient::~RuntimeApiClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<ApiResponse> RuntimeApiClient::Do(const ApiRequest& request, long timeout_ms,
                                         bool abortable) {
  if (curl_ == nullptr) return Status::Error("cannot initialise libcurl");
  if (abortable && long_poll_aborted()) return Status::Error("aborted");
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  ApiResponse response;
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (request.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.headers);
  if (abortable) {
    // AbortLongPoll() ends it: libcurl calls this about once a second, and at every read.
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &aborted_);
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Error("aborted");
    return Status::Error(std::string(curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace cstatsd::lambda
