// When the next flush happens (spec §3 MetricFlusher): every flush-interval from the previous
// tick, or, with flush-aligned, on the next multiple of the interval plus flush-offset (ticks
// missed while a flush ran are dropped). Pure functions of the time given, for the flusher and
// its tests.
#pragma once

#include <chrono>

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

}  // namespace cstatsd::server
