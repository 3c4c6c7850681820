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

}  // namespace
}  // namespace cstatsd::server
