// The socket backends' reconnection policy (docs/compatibility.md#decision-5): the dial
// backoff's delays, its reset and its interruption at shutdown, on given time points (no sockets,
// no sleeps; the delivery over loopback is in tcp_delivery_loopback_test.cc).
#include "backends/common/dial_backoff.h"

#include <gtest/gtest.h>

#include <vector>

namespace cstatsd::backends {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(DialBackoffTest, DoublesFromHalfASecondToThirtySeconds) {
  DialBackoff b;
  auto t = DialBackoff::Clock::time_point{} + seconds(1000);
  EXPECT_EQ(b.next_dial(), DialBackoff::Clock::time_point{});  // dial at once
  std::vector<milliseconds> waits;
  for (int i = 0; i < 9; ++i) {
    b.Failed(t);  // each dial fails as soon as it may start
    waits.push_back(std::chrono::duration_cast<milliseconds>(b.next_dial() - t));
    t = b.next_dial();
  }
  EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds(500), seconds(1), seconds(2), seconds(4),
                                              seconds(8), seconds(16), seconds(30), seconds(30),
                                              seconds(30)}));
}

TEST(DialBackoffTest, AFailureBeforeTheWaitRanOutDoesNotLengthenIt) {
  DialBackoff b;
  const auto t0 = DialBackoff::Clock::time_point{} + seconds(1000);
  b.Failed(t0);
  b.Failed(t0 + milliseconds(1));  // the immediate retry
  EXPECT_EQ(b.next_dial() - t0, milliseconds(500));
  EXPECT_EQ(b.delay(), seconds(1));
  b.Failed(t0 + milliseconds(500));
  EXPECT_EQ(b.next_dial() - t0, milliseconds(1500));
}

TEST(DialBackoffTest, ASuccessfulDialResetsIt) {
  DialBackoff b;
  const auto t0 = DialBackoff::Clock::time_point{} + seconds(1000);
  b.Failed(t0);
  b.Failed(b.next_dial());
  EXPECT_EQ(b.delay(), seconds(2));
  b.Succeeded();
  EXPECT_EQ(b.next_dial(), DialBackoff::Clock::time_point{});
  b.Failed(t0);
  EXPECT_EQ(b.next_dial() - t0, milliseconds(500));
}

TEST(DialBackoffTest, InterruptEndsTheWaitAndEveryLaterOne) {
  DialBackoff b(seconds(3600), seconds(3600));
  b.Failed();  // the next dial would be an hour away
  b.Interrupt();
  EXPECT_FALSE(b.Wait());  // returns at once, or the test times out
  EXPECT_FALSE(b.Wait());
  EXPECT_TRUE(b.interrupted());
}

}  // namespace
}  // namespace cstatsd::backends
