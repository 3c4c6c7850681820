// Issue 14 item 11: the cloudwatch backend retries what the AWS SDK retries (5xx, 429,
// throttling codes, no answer) and gives up at once on any other error (400
// InvalidParameterValue was resent before).

#include "backends/cloudwatch/cloudwatch_retry.h"

#include <gtest/gtest.h>

namespace cstatsd::backends::cloudwatch {
namespace {

using transport::AttemptResult;
using transport::RetryAction;

std::string QueryError(std::string_view code) {
  return "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error>"
         "<Type>Sender</Type><Code>" +
         std::string(code) +
         "</Code><Message>m</Message></Error><RequestId>r</RequestId>"
         "</ErrorResponse>";
}

TEST(CloudwatchRetry, ErrorCodes) {
  EXPECT_EQ(AwsErrorCode(QueryError("Throttling")), "Throttling");
  EXPECT_EQ(AwsErrorCode("{\"__type\":\"com.amazonaws.cloudwatch#ThrottlingException\"}"),
            "ThrottlingException");
  EXPECT_EQ(AwsErrorCode("{\"__type\": \"InvalidParameterValueException:http://x\"}"),
            "InvalidParameterValueException");
  EXPECT_EQ(AwsErrorCode("{\"code\": \"RequestLimitExceeded\"}"), "RequestLimitExceeded");
  EXPECT_EQ(AwsErrorCode("not an AWS answer"), "");
}

TEST(CloudwatchRetry, ClassifiesAsTheAwsSdk) {
  struct Case {
    long status;
    std::string body;
    AttemptResult want;
  };
  const Case cases[] = {
      {200, "", AttemptResult::kSuccess},
      {0, "", AttemptResult::kRetryable},
      {500, QueryError("InternalFailure"), AttemptResult::kRetryable},
      {502, "", AttemptResult::kRetryable},
      {503, QueryError("ServiceUnavailable"), AttemptResult::kRetryable},
      {504, "", AttemptResult::kRetryable},
      {501, "", AttemptResult::kNonRetryable},
      {429, "", AttemptResult::kRetryable},
      {400, QueryError("Throttling"), AttemptResult::kRetryable},
      {400, QueryError("ThrottlingException"), AttemptResult::kRetryable},
      {400, QueryError("RequestLimitExceeded"), AttemptResult::kRetryable},
      {400, QueryError("RequestThrottled"), AttemptResult::kRetryable},
      {400, QueryError("RequestTimeout"), AttemptResult::kRetryable},
      {400, QueryError("InvalidParameterValue"), AttemptResult::kNonRetryable},
      {400, QueryError("InvalidParameterCombination"), AttemptResult::kNonRetryable},
      {400, QueryError("MissingParameter"), AttemptResult::kNonRetryable},
      {403, QueryError("InvalidClientTokenId"), AttemptResult::kNonRetryable},
      {403, QueryError("SignatureDoesNotMatch"), AttemptResult::kNonRetryable},
      {408, "", AttemptResult::kNonRetryable},
      {413, "", AttemptResult::kNonRetryable},
      {400, "", AttemptResult::kNonRetryable},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyResponse(c.status, c.body), c.want) << c.status << " " << c.body;
  }
}

// The policy the backend hands to its HttpClient: one attempt for a 400 InvalidParameterValue,
// up to 3 retries for throttling and server errors.
TEST(CloudwatchRetry, PolicyGivesUpAtOnceOnAClientError) {
  const auto now = [] { return transport::SteadyClock::time_point{}; };
  const auto random = [] { return 0.5; };
  {
    transport::RetryState state(RetryPolicy(), now, random);
    EXPECT_EQ(state.Decide(400, std::nullopt, QueryError("InvalidParameterValue")).action,
              RetryAction::kGiveUp);
  }
  for (const auto& [status, body] : {std::pair<long, std::string>{400, QueryError("Throttling")},
                                     {500, ""},
                                     {429, ""},
                                     {0, ""}}) {
    transport::RetryState state(RetryPolicy(), now, random);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(state.Decide(status, std::nullopt, body).action, RetryAction::kRetry) << status;
    }
    EXPECT_EQ(state.Decide(status, std::nullopt, body).action, RetryAction::kGiveUp) << status;
  }
  transport::RetryState ok(RetryPolicy(), now, random);
  EXPECT_EQ(ok.Decide(200).action, RetryAction::kDone);
}

}  // namespace
}  // namespace cstatsd::backends::cloudwatch
