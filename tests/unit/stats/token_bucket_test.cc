#include "stats/token_bucket.h"

#include <gtest/gtest.h>

namespace cstatsd::stats {
namespace {

using Duration = TokenBucket::Duration;
const auto kT0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);

TEST(TokenBucketTest, BurstThenRate) {
  TokenBucket bucket(/*rate=*/5, /*burst=*/3);
  EXPECT_EQ(bucket.Reserve(kT0), Duration::zero());
  EXPECT_EQ(bucket.Reserve(kT0), Duration::zero());
  EXPECT_EQ(bucket.Reserve(kT0), Duration::zero());
  EXPECT_EQ(bucket.Reserve(kT0), std::chrono::milliseconds(200));
  EXPECT_EQ(bucket.Reserve(kT0), std::chrono::milliseconds(400));
  // A second later: 5 tokens earned, 2 owed: 3 free, then waits again.
  const auto t1 = kT0 + std::chrono::seconds(1);
  EXPECT_EQ(bucket.Reserve(t1), Duration::zero());
  EXPECT_EQ(bucket.Reserve(t1), Duration::zero());
  EXPECT_EQ(bucket.Reserve(t1), Duration::zero());
  EXPECT_EQ(bucket.Reserve(t1), std::chrono::milliseconds(200));
  // Never more than the burst stored.
  const auto t2 = t1 + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.Reserve(t2), Duration::zero());
  EXPECT_GT(bucket.Reserve(t2), Duration::zero());
}

TEST(TokenBucketTest, FractionalBurstAllowsOne) {
  TokenBucket bucket(/*rate=*/1, /*burst=*/0.5);
  EXPECT_EQ(bucket.Reserve(kT0), Duration::zero());
  EXPECT_EQ(bucket.Reserve(kT0), std::chrono::seconds(1));
}

TEST(TokenBucketTest, ZeroRateIsUnlimited) {
  TokenBucket bucket(/*rate=*/0, /*burst=*/1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(bucket.Reserve(kT0), Duration::zero());
}

}  // namespace
}  // namespace cstatsd::stats
