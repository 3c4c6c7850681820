#include "backends/cloudwatch/cloudwatch_retry.h"

#include <algorithm>
#include <chrono>

namespace cstatsd::backends::cloudwatch {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The string value of "key": "value" in a JSON body (no unescaping; codes are plain words).
std::string_view JsonString(std::string_view body, std::string_view key) {
  size_t at = body.find(key);
  if (at == std::string_view::npos) return {};
  at = body.find(':', at + key.size());
  if (at == std::string_view::npos) return {};
  at = body.find('"', at);
  if (at == std::string_view::npos) return {};
  const size_t end = body.find('"', at + 1);
  if (end == std::string_view::npos) return {};
  return body.substr(at + 1, end - at - 1);
}

}  // namespace

std::string_view AwsErrorCode(std::string_view body) {
  if (size_t open = body.find("<Code>"); open != std::string_view::npos) {
    open += 6;
    const size_t close = body.find("</Code>", open);
    if (close != std::string_view::npos) return Trim(body.substr(open, close - open));
  }
  std::string_view type = JsonString(body, "\"__type\"");
  if (!type.empty()) {
    // "com.amazonaws.cloudwatch#ThrottlingException" or "ThrottlingException:http://..."
    if (size_t hash = type.rfind('#'); hash != std::string_view::npos) type.remove_prefix(hash + 1);
    if (size_t colon = type.find(':'); colon != std::string_view::npos)
      type = type.substr(0, colon);
    return type;
  }
  std::string_view code = JsonString(body, "\"code\"");
  if (code.empty()) code = JsonString(body, "\"Code\"");
  return code;
}

bool IsThrottlingCode(std::string_view code) {
  static constexpr std::string_view kCodes[] = {
      "ProvisionedThroughputExceededException",
      "ThrottledException",
      "Throttling",
      "ThrottlingException",
      "RequestLimitExceeded",
      "RequestThrottled",
      "RequestThrottledException",
      "TooManyRequestsException",
      "PriorRequestNotComplete",
      "TransactionInProgressException",
      "EC2ThrottledException",
  };
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

transport::AttemptResult ClassifyResponse(long status, std::string_view body) {
  using transport::AttemptResult;
  if (status >= 200 && status < 300) return AttemptResult::kSuccess;
  if (status == 0) return AttemptResult::kRetryable;  // no answer: connection, TLS, timeout
  if (status >= 500 && status != 501) return AttemptResult::kRetryable;
  if (status == 429) return AttemptResult::kRetryable;
  const std::string_view code = AwsErrorCode(body);
  if (IsThrottlingCode(code)) return AttemptResult::kRetryable;
  // The SDK also retries its own request timeouts.
  if (code == "RequestTimeout" || code == "RequestTimeoutException") {
    return AttemptResult::kRetryable;
  }
  return AttemptResult::kNonRetryable;
}

transport::RetryOptions RetryPolicy() {
  transport::RetryOptions r;
  r.max_retries = 3;
  r.max_elapsed_time = std::chrono::seconds(15);
  r.honour_retry_after = true;
  r.fast_fail_non_retryable = true;
  r.classify = ClassifyResponse;
  return r;
}

}  // namespace cstatsd::backends::cloudwatch
