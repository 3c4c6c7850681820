#include "backends/common/dial_backoff.h"

#include <algorithm>

namespace cstatsd::backends {

void DialBackoff::Failed(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now < next_dial_) return;
  next_dial_ = now + delay_;
  delay_ = std::min(delay_ * 2, max_);
}

void DialBackoff::Succeeded() {
  std::lock_guard lock(mu_);
  delay_ = initial_;
  next_dial_ = {};
}

DialBackoff::Clock::time_point DialBackoff::next_dial() const {
  std::lock_guard lock(mu_);
  return next_dial_;
}

std::chrono::nanoseconds DialBackoff::delay() const {
  std::lock_guard lock(mu_);
  return delay_;
}

bool DialBackoff::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, next_dial_, [&] { return interrupted_; });
  return !interrupted_;
}

void DialBackoff::Interrupt() {
  {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

bool DialBackoff::interrupted() const {
  std::lock_guard lock(mu_);
  return interrupted_;
}

}  // namespace cstatsd::backends
