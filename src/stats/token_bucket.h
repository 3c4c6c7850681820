// TokenBucket: `rate` tokens a second, at most `burst` stored (full at first), as client-go's
// and Go's x/time/rate. Reserve() takes a token and says how long to wait before using it, so
// a caller that must not exceed the rate waits that long (cloud lookups, k8s API requests).
// One owning thread (or the caller's lock); time is passed in, so tests need no clock.
#pragma once

#include <algorithm>
#include <chrono>

namespace cstatsd::stats {

class TokenBucket {
 public:
  using Duration = std::chrono::nanoseconds;

  // rate <= 0: unlimited (Reserve never waits). A burst below 1 holds one token.
  TokenBucket(double rate, double burst)
      : rate_(rate), burst_(std::max(1.0, burst)), tokens_(burst_) {}

  Duration Reserve(std::chrono::steady_clock::time_point now) {
    if (rate_ <= 0) return Duration::zero();
    if (!started_) {
      started_ = true;
      last_ = now;
    }
    if (now > last_) {
      tokens_ =
          std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
      last_ = now;
    }
    tokens_ -= 1;
    if (tokens_ >= 0) return Duration::zero();
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(-tokens_ / rate_));
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_{};
  bool started_ = false;
};

}  // namespace cstatsd::stats
