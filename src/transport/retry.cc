#include "transport/retry.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <string>

namespace cstatsd::transport {
namespace {

double DefaultRandom() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

ExponentialBackOff::ExponentialBackOff(BackOffOptions options, Now now, Random random)
    : options_(options),
      now_(now ? std::move(now) : Now([] { return SteadyClock::now(); })),
      random_(random ? std::move(random) : Random(DefaultRandom)) {
  Reset();
}

void ExponentialBackOff::Reset() {
  current_ = options_.initial_interval;
  start_ = now_();
}

std::optional<Duration> ExponentialBackOff::Next() {
  if (options_.max_elapsed_time != Duration::zero() && Elapsed() > options_.max_elapsed_time) {
    return std::nullopt;
  }
  const double current = static_cast<double>(current_.count());
  const double delta = options_.randomization_factor * current;
  const double min = current - delta;
  const double max = current + delta;
  // As backoff v2: min + r × (max − min + 1), in nanoseconds.
  const auto wait = Duration(static_cast<int64_t>(min + random_() * (max - min + 1)));
  if (current >= static_cast<double>(options_.max_interval.count()) / options_.multiplier) {
    current_ = options_.max_interval;
  } else {
    current_ = Duration(static_cast<int64_t>(current * options_.multiplier));
  }
  return wait;
}

bool IsRetryableStatus(long status) {
  switch (status) {
    case 408:  // Request Timeout
    case 429:  // Too Many Requests
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

AttemptResult ClassifyAttempt(long status) {
  if (status >= 200 && status < 300) return AttemptResult::kSuccess;
  if (status == 0 || IsRetryableStatus(status)) return AttemptResult::kRetryable;
  return AttemptResult::kNonRetryable;
}

RetryState::RetryState(const RetryOptions& options, ExponentialBackOff::Now now,
                       ExponentialBackOff::Random random)
    : options_(options),
      backoff_(
          [&] {
            BackOffOptions b = options.backoff;
            b.max_elapsed_time = options.max_elapsed_time > Duration::zero()
                                     ? options.max_elapsed_time
                                     : Duration::zero();
            return b;
          }(),
          std::move(now), std::move(random)) {}

RetryDecision RetryState::Decide(long status, std::optional<Duration> retry_after,
                                 std::string_view body) {
  ++attempts_;
  const AttemptResult result =
      options_.classify ? options_.classify(status, body) : ClassifyAttempt(status);
  if (result == AttemptResult::kSuccess) return {RetryAction::kDone, {}};
  if (options_.max_elapsed_time < Duration::zero()) return {RetryAction::kGiveUp, {}};
  if (result == AttemptResult::kNonRetryable && options_.fast_fail_non_retryable) {
    return {RetryAction::kGiveUp, {}};
  }
  if (options_.max_retries >= 0 && attempts_ > options_.max_retries) {
    return {RetryAction::kGiveUp, {}};
  }
  std::optional<Duration> wait = backoff_.Next();
  if (!wait) return {RetryAction::kGiveUp, {}};
  if (options_.honour_retry_after && retry_after && *retry_after > *wait) {
    if (options_.max_elapsed_time > Duration::zero()) {
      // Capped by the budget (docs/backends.md#newrelic): a Retry-After that ends past
      // max-request-elapsed-time gives up now rather than hold the request (and its slot) past the
      // budget to fail then.
      if (*retry_after > options_.max_elapsed_time - backoff_.Elapsed()) {
        return {RetryAction::kGiveUp, {}};
      }
      wait = *retry_after;
    } else {
      // No time budget (otlp's 0: only max_retries limits): at most the longest backoff
      // interval, so a server's "Retry-After: 999999999" cannot park the request for years.
      wait = std::min(*retry_after, std::max(*wait, options_.backoff.max_interval));
    }
  }
  return {RetryAction::kRetry, *wait};
}

std::optional<Duration> ParseRetryAfter(std::string_view value,
                                        std::chrono::system_clock::time_point now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (value.size() > 9) return std::chrono::seconds(999999999);  // absurdly far: saturate
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  // HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, then the obsolete RFC 850 and asctime forms.
  static constexpr const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT",
                                             "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  const std::string text(value);
  for (const char* format : kFormats) {
    struct tm tm = {};
    const char* end = strptime(text.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    const time_t at = timegm(&tm);
    if (at == static_cast<time_t>(-1)) continue;
    const auto when = std::chrono::system_clock::from_time_t(at);
    if (when <= now) return Duration::zero();
    return std::chrono::duration_cast<Duration>(when - now);
  }
  return std::nullopt;
}

}  // namespace cstatsd::transport
