#include "server/flush_schedule.h"

namespace cstatsd::server {

FlushClock::time_point NextAlignedTick(FlushClock::time_point now,
                                       std::chrono::nanoseconds interval,
                                       std::chrono::nanoseconds offset) {
  const auto since =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()) - offset;
  auto n = since / interval;
  if (since.count() < 0 && since % interval != std::chrono::nanoseconds(0)) --n;  // floor
  const auto tick = (n + 1) * interval + offset;
  return FlushClock::time_point(std::chrono::duration_cast<FlushClock::duration>(tick));
}

FlushSchedule::FlushSchedule(std::chrono::nanoseconds interval, bool aligned,
                             std::chrono::nanoseconds offset, FlushClock::time_point start)
    : interval_(interval > std::chrono::nanoseconds(0) ? interval : std::chrono::nanoseconds(1)),
      aligned_(aligned),
      offset_(offset),
      next_(aligned ? NextAlignedTick(start, interval_, offset)
                    : start + std::chrono::duration_cast<FlushClock::duration>(interval_)),
      last_(start) {}

FlushSchedule::Tick FlushSchedule::Begin(FlushClock::time_point now) {
  // With flush-aligned, rates are computed over the boundaries, not the wake-up times.
  const FlushClock::time_point at = aligned_ ? next_ : now;
  const double seconds = std::chrono::duration<double>(at - last_).count();
  last_ = at;
  return Tick{at, seconds};
}

uint64_t FlushSchedule::End(FlushClock::time_point now) {
  const FlushClock::time_point due = next_;
  if (aligned_) {
    next_ = NextAlignedTick(now, interval_, offset_);
  } else {
    next_ = due + std::chrono::duration_cast<FlushClock::duration>(interval_);
    if (next_ <= now) {  // keep the phase: the first tick of it after now
      const auto behind = std::chrono::duration_cast<std::chrono::nanoseconds>(now - due);
      next_ = due + std::chrono::duration_cast<FlushClock::duration>((behind / interval_ + 1) *
                                                                     interval_);
    }
  }
  // Ticks in (due, next_) fell while the flush ran.
  const auto gap = std::chrono::duration_cast<std::chrono::nanoseconds>(next_ - due);
  const int64_t ticks = gap / interval_;
  return ticks > 1 ? static_cast<uint64_t>(ticks - 1) : 0;
}

FlushClock::time_point NextIntervalTick(FlushClock::time_point previous, FlushClock::time_point now,
                                        std::chrono::nanoseconds interval) {
  const auto step = std::chrono::duration_cast<FlushClock::duration>(interval);
  FlushClock::time_point next = previous + step;
  if (next <= now) next = now + step;
  return next;
}

}  // namespace cstatsd::server
