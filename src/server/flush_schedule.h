// When the next flush happens (docs/aggregation.md#flush-timing): every flush-interval from the
// previous tick, or, with flush-aligned, on the next multiple of the interval plus flush-offset
// (ticks missed while a flush ran are dropped). Pure functions of the time given, and
// FlushSchedule, which the flusher thread drives with the times it reads, so tests inject any
// clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace cstatsd::server {

using FlushClock = std::chrono::system_clock;

// The first aligned boundary (multiple of interval, plus offset) strictly after `now`.
FlushClock::time_point NextAlignedTick(FlushClock::time_point now,
                                       std::chrono::nanoseconds interval,
                                       std::chrono::nanoseconds offset);

// The tick after `previous` when not aligned; if the flusher fell behind by more than an
// interval, the next tick is one interval after `now` (missed ticks are not replayed).
FlushClock::time_point NextIntervalTick(FlushClock::time_point previous, FlushClock::time_point now,
                                        std::chrono::nanoseconds interval);

// The flusher's ticks. A flush never overlaps the next one and a tick that falls while a flush
// runs is skipped, not queued: the next tick is the first one strictly after the flush ended
// (on the same phase, or the same aligned boundaries), and the flush that follows covers the
// whole time since the previous one, so its rates are computed over what it really holds.
class FlushSchedule {
 public:
  // `start`: when counting starts (the server's start); the first tick is one interval later,
  // or the first aligned boundary after it.
  FlushSchedule(std::chrono::nanoseconds interval, bool aligned, std::chrono::nanoseconds offset,
                FlushClock::time_point start);

  FlushClock::time_point next() const { return next_; }

  // A flush starts at `now` (>= next()): the tick time it flushes at (the boundary when aligned,
  // `now` otherwise) and the seconds since the previous flush's tick, for the rates.
  struct Tick {
    FlushClock::time_point at;
    double seconds;
  };
  Tick Begin(FlushClock::time_point now);

  // The flush ended at `now`: schedules the next tick strictly after it and returns how many
  // ticks fell while the flush ran (skipped; > 0 = the flush overran its interval).
  uint64_t End(FlushClock::time_point now);

 private:
  std::chrono::nanoseconds interval_;
  bool aligned_;
  std::chrono::nanoseconds offset_;
  FlushClock::time_point next_;  // the tick being waited for, or running
  FlushClock::time_point last_;  // the previous flush's tick time
};

}  // namespace cstatsd::server
