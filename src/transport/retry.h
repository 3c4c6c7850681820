// Retrying HTTP requests as gostatsd does (docs/forwarder.md#what-is-sent): exponential backoff
// with cenkalti/backoff v2's defaults until a maximum elapsed time, which statuses are worth
// retrying, and Retry-After. Pure logic with an injectable clock and random source, so schedules
// are tested without sleeping. One RetryState per request; owned by whichever thread drives that
// request.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cstatsd::transport {

using Duration = std::chrono::nanoseconds;
using SteadyClock = std::chrono::steady_clock;

struct BackOffOptions {
  Duration initial_interval = std::chrono::milliseconds(500);
  double multiplier = 1.5;
  double randomization_factor = 0.5;  // each wait is interval × [1 - f, 1 + f]
  Duration max_interval = std::chrono::seconds(60);
  // No more retries once this much time has passed since the first attempt (checked before
  // each wait, as backoff v2 does: the last wait may end after it). 0 = retry forever.
  Duration max_elapsed_time = std::chrono::seconds(30);
};

// cenkalti/backoff v2 ExponentialBackOff: the n-th wait is a random value around
// initial × multiplierⁿ (capped at max_interval).
class ExponentialBackOff {
 public:
  using Now = std::function<SteadyClock::time_point()>;
  using Random = std::function<double()>;  // uniform in [0, 1)

  explicit ExponentialBackOff(BackOffOptions options = {}, Now now = nullptr,
                              Random random = nullptr);

  // Restarts the schedule and the elapsed-time clock.
  void Reset();
  // The next wait, or nullopt when max_elapsed_time has passed (give up).
  std::optional<Duration> Next();
  Duration Elapsed() const { return now_() - start_; }
  Duration current_interval() const { return current_; }

 private:
  BackOffOptions options_;
  Now now_;
  Random random_;
  SteadyClock::time_point start_;
  Duration current_;
};

// How one attempt ended.
enum class AttemptResult {
  kSuccess,       // HTTP 2xx
  kRetryable,     // transport error, or 408, 429, 500, 502, 503, 504
  kNonRetryable,  // any other status
};

// Classifies an attempt: `status` is the HTTP status, or 0 when the request failed before a
// response (connection refused, timeout, TLS, ...), which counts as retryable.
AttemptResult ClassifyAttempt(long status);
bool IsRetryableStatus(long status);

struct RetryOptions {
  // Total budget; -1 (any negative) = a single attempt, never retried.
  Duration max_elapsed_time = std::chrono::seconds(30);
  // Give up at once on a non-retryable failure (e.g. 400) instead of retrying it.
  bool fast_fail_non_retryable = false;
  // Wait at least as long as the server's Retry-After asks (HTTP backends; not the forwarder),
  // within the budget: when less than the Retry-After remains of max_elapsed_time the request
  // gives up at once; without a time budget (0) the wait is capped at backoff.max_interval.
  bool honour_retry_after = false;
  // At most this many retries after the first attempt (the otlp backend's max_retries); -1 = no
  // limit but the time budget.
  int max_retries = -1;
  BackOffOptions backoff;  // its max_elapsed_time is taken from above
  // Classifies an answer from its status and body instead of ClassifyAttempt (e.g. AWS's
  // throttling codes in a 400 answer); null = ClassifyAttempt(status).
  std::function<AttemptResult(long status, std::string_view body)> classify;
};

enum class RetryAction { kDone, kRetry, kGiveUp };

struct RetryDecision {
  RetryAction action = RetryAction::kDone;
  Duration wait{0};  // for kRetry
};

// The retry loop's decisions for one request: call Decide after each attempt.
class RetryState {
 public:
  explicit RetryState(const RetryOptions& options, ExponentialBackOff::Now now = nullptr,
                      ExponentialBackOff::Random random = nullptr);

  // `retry_after` is the parsed Retry-After of the response, if any.
  // `body` is the (start of the) response body, for RetryOptions::classify.
  RetryDecision Decide(long status, std::optional<Duration> retry_after = std::nullopt,
                       std::string_view body = {});
  int attempts() const { return attempts_; }

 private:
  RetryOptions options_;
  ExponentialBackOff backoff_;
  int attempts_ = 0;
};

// Parses a Retry-After value: delay-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00
// GMT", also the RFC 850 and asctime forms). A date in the past gives 0. Invalid → nullopt.
std::optional<Duration> ParseRetryAfter(std::string_view value,
                                        std::chrono::system_clock::time_point now);

}  // namespace cstatsd::transport
