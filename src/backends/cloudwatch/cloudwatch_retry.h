// Which CloudWatch answers are worth sending again, as the AWS SDK's default retryer decides
// (docs/backends.md): transport errors, 5xx (but 501), 429 and throttling error codes. A 400
// such as InvalidParameterValue will fail the same way every time and is given up at once.
// Pure; any thread.
#pragma once

#include <string_view>

#include "transport/retry.h"

namespace cstatsd::backends::cloudwatch {

// The error code of an AWS answer body: <Code>X</Code> (query protocol, XML) or "__type":
// "...#X" / "code":"X" (JSON protocols); empty when none is found.
std::string_view AwsErrorCode(std::string_view body);

// Throttling codes of the AWS SDK (aws-sdk-go's throttleCodes).
bool IsThrottlingCode(std::string_view code);

transport::AttemptResult ClassifyResponse(long status, std::string_view body);

// The backend's retry policy: the SDK's 3 retries with backoff within 15 s, Retry-After
// honoured, and only what ClassifyResponse calls retryable retried.
transport::RetryOptions RetryPolicy();

}  // namespace cstatsd::backends::cloudwatch
