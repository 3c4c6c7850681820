// A token bucket for rate-limited log lines (bad lines, backend drops). Owned by one thread.
#pragma once

#include <chrono>

namespace cstatsd::stats {

class RateLimiter {
 public:
  // per_minute <= 0 never allows; burst is the bucket size.
  explicit RateLimiter(double per_minute, double burst = 1)
      : rate_per_ns_(per_minute / 60e9), burst_(burst), tokens_(burst) {}

  bool Allow() { return Allow(std::chrono::steady_clock::now()); }
  bool Allow(std::chrono::steady_clock::time_point now) {
    if (rate_per_ns_ <= 0) return false;
    const double elapsed = static_cast<double>((now - last_).count());
    last_ = now;
    tokens_ += elapsed * rate_per_ns_;
    if (tokens_ > burst_) tokens_ = burst_;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_per_ns_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace cstatsd::stats
