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

FlushClock::time_point NextIntervalTick(FlushClock::time_point previous, FlushClock::time_point now,
                                        std::chrono::nanoseconds interval) {
  const auto step = std::chrono::duration_cast<FlushClock::duration>(interval);
  FlushClock::time_point next = previous + step;
  if (next <= now) next = now + step;
  return next;
}

}  // namespace cstatsd::server
