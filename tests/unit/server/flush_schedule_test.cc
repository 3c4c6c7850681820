#include "server/flush_schedule.h"

#include <gtest/gtest.h>

namespace cstatsd::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

FlushClock::time_point At(milliseconds ms) {
  return FlushClock::time_point(std::chrono::duration_cast<FlushClock::duration>(ms));
}

TEST(FlushScheduleTest, AlignedTicksOnMultiplesPlusOffset) {
  EXPECT_EQ(NextAlignedTick(At(milliseconds(12300)), seconds(10), seconds(0)),
            At(milliseconds(20000)));
  EXPECT_EQ(NextAlignedTick(At(milliseconds(12300)), seconds(10), seconds(3)),
            At(milliseconds(13000)));
  EXPECT_EQ(NextAlignedTick(At(milliseconds(13000)), seconds(10), seconds(3)),
            At(milliseconds(23000)));  // strictly after now
  EXPECT_EQ(NextAlignedTick(At(milliseconds(59999)), seconds(60), seconds(0)),
            At(milliseconds(60000)));
  EXPECT_EQ(NextAlignedTick(At(milliseconds(1000)), seconds(10), seconds(5)),
            At(milliseconds(5000)));
}

TEST(FlushScheduleTest, IntervalTicksDoNotReplayMissedTicks) {
  EXPECT_EQ(NextIntervalTick(At(milliseconds(1000)), At(milliseconds(1001)), seconds(1)),
            At(milliseconds(2000)));
  // The flush ran 3.5 intervals late: the next tick is one interval after now.
  EXPECT_EQ(NextIntervalTick(At(milliseconds(1000)), At(milliseconds(4500)), seconds(1)),
            At(milliseconds(5500)));
}

// Issue 14 item 8: a flush that runs past the next tick never overlaps it nor queues it; the
// tick is skipped, counted, and the next flush's rates cover the whole time since the previous.
TEST(FlushScheduleTest, AnOverrunningFlushSkipsTheTickAndTheNextCoversItsTime) {
  FlushSchedule s(seconds(1), false, seconds(0), At(milliseconds(0)));
  EXPECT_EQ(s.next(), At(milliseconds(1000)));
  auto t = s.Begin(At(milliseconds(1000)));
  EXPECT_EQ(t.at, At(milliseconds(1000)));
  EXPECT_DOUBLE_EQ(t.seconds, 1.0);
  EXPECT_EQ(s.End(At(milliseconds(1300))), 0u);  // on time
  EXPECT_EQ(s.next(), At(milliseconds(2000)));

  t = s.Begin(At(milliseconds(2000)));
  EXPECT_DOUBLE_EQ(t.seconds, 1.0);
  // 1.6 s: the tick at 3 s fell while it ran. Not queued (no flush at 3.6 s right after it),
  // skipped: the next tick keeps the phase.
  EXPECT_EQ(s.End(At(milliseconds(3600))), 1u);
  EXPECT_EQ(s.next(), At(milliseconds(4000)));
  t = s.Begin(At(milliseconds(4000)));
  EXPECT_DOUBLE_EQ(t.seconds, 2.0);  // what it holds came in over 2 s

  // 3.5 intervals: three ticks skipped.
  EXPECT_EQ(s.End(At(milliseconds(7500))), 3u);
  EXPECT_EQ(s.next(), At(milliseconds(8000)));
  // Ending right on a tick counts it as fallen (the next is strictly after the end).
  s.Begin(At(milliseconds(8000)));
  EXPECT_EQ(s.End(At(milliseconds(9000))), 1u);
  EXPECT_EQ(s.next(), At(milliseconds(10000)));
}

TEST(FlushScheduleTest, AlignedRatesUseTheBoundariesAcrossASkippedTick) {
  FlushSchedule s(seconds(1), true, milliseconds(0), At(milliseconds(300)));
  EXPECT_EQ(s.next(), At(milliseconds(1000)));
  auto t = s.Begin(At(milliseconds(1005)));  // woke a little late: the boundary counts
  EXPECT_EQ(t.at, At(milliseconds(1000)));
  EXPECT_DOUBLE_EQ(t.seconds, 0.7);
  EXPECT_EQ(s.End(At(milliseconds(2600))), 1u);
  EXPECT_EQ(s.next(), At(milliseconds(3000)));
  t = s.Begin(At(milliseconds(3001)));
  EXPECT_EQ(t.at, At(milliseconds(3000)));
  // Before the fix the tick at 2 s was taken at 2.6 s with 1 s as its interval, for 1.6 s of
  // data: every rate of that flush was 60 % too high.
  EXPECT_DOUBLE_EQ(t.seconds, 2.0);
  EXPECT_EQ(s.End(At(milliseconds(3100))), 0u);
  EXPECT_EQ(s.next(), At(milliseconds(4000)));
}

TEST(FlushScheduleTest, AlignedWithOffset) {
  FlushSchedule s(seconds(10), true, seconds(3), At(milliseconds(12300)));
  EXPECT_EQ(s.next(), At(milliseconds(13000)));
  s.Begin(At(milliseconds(13000)));
  EXPECT_EQ(s.End(At(milliseconds(45000))), 3u);  // 23, 33, 43 fell
  EXPECT_EQ(s.next(), At(milliseconds(53000)));
}

}  // namespace
}  // namespace cstatsd::server
