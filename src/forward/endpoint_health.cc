#include "forward/endpoint_health.h"

#include <algorithm>

namespace cstatsd::forward {

bool EndpointHealth::Failure(TimePoint now) {
  ++failures_;
  if (!up_ || failures_ < std::max(options_.failure_threshold, 1)) return false;
  up_ = false;
  wait_ = options_.probe_initial;
  next_probe_ = now + wait_;
  return true;
}

bool EndpointHealth::Success() {
  failures_ = 0;
  if (up_) return false;
  up_ = true;
  return true;
}

bool EndpointHealth::ProbeFinished(bool ok, TimePoint now) {
  probing_ = false;
  if (ok) return Success();
  if (up_) return false;  // rejoined meanwhile through a successful post
  wait_ = std::min(wait_ * 2, std::max(options_.probe_max, options_.probe_initial));
  next_probe_ = now + wait_;
  return false;
}

}  // namespace cstatsd::forward
