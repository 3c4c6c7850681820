// The retry policy (docs/forwarder.md#what-is-sent): backoff v2's schedule with injected randomness
// and clock, which attempts are retried, fast-fail, the -1 budget, and Retry-After parsing.
#include "transport/retry.h"

#include <gtest/gtest.h>

namespace cstatsd::transport {
namespace {

using namespace std::chrono_literals;

// A clock the test moves by hand.
struct FakeClock {
  SteadyClock::time_point now{};
  ExponentialBackOff::Now fn() {
    return [this] { return now; };
  }
};

TEST(BackOffTest, MiddleOfEachIntervalFollowsTheDefaults) {
  FakeClock clock;
  // r = 0.5 gives min + 0.5 × (max − min + 1) = interval + 0.5 ns, truncated: the interval.
  ExponentialBackOff b({}, clock.fn(), [] { return 0.5; });
  const std::vector<Duration> expected = {500ms, 750ms, 1125ms, 1687500us, 2531250us};
  for (Duration e : expected) {
    auto next = b.Next();
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(*next, e);
  }
}

TEST(BackOffTest, RandomisationSpansHalfToOneAndAHalfTimes) {
  FakeClock clock;
  double r = 0;
  ExponentialBackOff b({}, clock.fn(), [&] { return r; });
  EXPECT_EQ(*b.Next(), 250ms);  // r = 0: 500 ms × 0.5
  r = 0.999999999;
  const auto high = *b.Next();  // r → 1: 750 ms × 1.5
  EXPECT_GT(high, 1124ms);
  EXPECT_LE(high, 1125ms + 1ns);
}

TEST(BackOffTest, IntervalIsCappedAtSixtySeconds) {
  FakeClock clock;
  BackOffOptions o;
  o.max_elapsed_time = 0ns;  // never stop
  ExponentialBackOff b(o, clock.fn(), [] { return 0.5; });
  Duration last{};
  for (int i = 0; i < 40; ++i) last = *b.Next();
  EXPECT_EQ(last, 60s);
  EXPECT_EQ(b.current_interval(), 60s);
}

TEST(BackOffTest, StopsOnceTheElapsedTimeIsOverTheBudget) {
  FakeClock clock;
  BackOffOptions o;
  o.max_elapsed_time = 2s;
  ExponentialBackOff b(o, clock.fn(), [] { return 0.5; });
  EXPECT_TRUE(b.Next().has_value());
  clock.now += 2s;  // exactly the budget: v2 still allows one more wait
  EXPECT_TRUE(b.Next().has_value());
  clock.now += 1ns;
  EXPECT_FALSE(b.Next().has_value());
  b.Reset();
  EXPECT_EQ(*b.Next(), 500ms);
}

TEST(RetryTest, StatusClassification) {
  for (long s : {200L, 201L, 202L, 204L, 299L}) {
    EXPECT_EQ(ClassifyAttempt(s), AttemptResult::kSuccess) << s;
  }
  for (long s : {0L, 408L, 429L, 500L, 502L, 503L, 504L}) {
    EXPECT_EQ(ClassifyAttempt(s), AttemptResult::kRetryable) << s;
  }
  for (long s : {301L, 400L, 401L, 403L, 404L, 413L, 501L, 505L}) {
    EXPECT_EQ(ClassifyAttempt(s), AttemptResult::kNonRetryable) << s;
  }
}

TEST(RetryTest, DecisionsPerStatus) {
  FakeClock clock;
  auto state = [&](RetryOptions o) { return RetryState(o, clock.fn(), [] { return 0.5; }); };
  RetryOptions o;
  {
    auto s = state(o);
    EXPECT_EQ(s.Decide(202).action, RetryAction::kDone);
    EXPECT_EQ(s.attempts(), 1);
  }
  {
    auto s = state(o);
    auto d = s.Decide(500);
    EXPECT_EQ(d.action, RetryAction::kRetry);
    EXPECT_EQ(d.wait, 500ms);
    EXPECT_EQ(s.Decide(0).action, RetryAction::kRetry);  // transport error
    EXPECT_EQ(s.Decide(200).action, RetryAction::kDone);
    EXPECT_EQ(s.attempts(), 3);
  }
  {
    auto s = state(o);  // without fast-fail a 400 is retried like any failure
    EXPECT_EQ(s.Decide(400).action, RetryAction::kRetry);
  }
  {
    RetryOptions ff = o;
    ff.fast_fail_non_retryable = true;
    auto s = state(ff);
    EXPECT_EQ(s.Decide(400).action, RetryAction::kGiveUp);
    auto s2 = state(ff);
    EXPECT_EQ(s2.Decide(503).action, RetryAction::kRetry);  // retryable still retried
  }
  {
    RetryOptions none = o;
    none.max_elapsed_time = -1ns;  // -1: no retries at all
    auto s = state(none);
    EXPECT_EQ(s.Decide(500).action, RetryAction::kGiveUp);
  }
  {
    RetryOptions small = o;
    small.max_elapsed_time = 300ms;
    auto s = state(small);
    EXPECT_EQ(s.Decide(500).action, RetryAction::kRetry);
    clock.now += 301ms;
    EXPECT_EQ(s.Decide(500).action, RetryAction::kGiveUp);
  }
}

TEST(RetryTest, RetryAfterIsHonouredOnlyWhenAsked) {
  FakeClock clock;
  RetryOptions o;
  RetryState plain(o, clock.fn(), [] { return 0.5; });
  EXPECT_EQ(plain.Decide(429, 10s).wait, 500ms);
  o.honour_retry_after = true;
  RetryState honour(o, clock.fn(), [] { return 0.5; });
  EXPECT_EQ(honour.Decide(429, 10s).wait, 10s);
  EXPECT_EQ(honour.Decide(429, 1ms).wait, 750ms);  // never shorter than the backoff
}

TEST(RetryTest, RetryAfterWithinTheRemainingBudgetIsWaited) {
  FakeClock clock;
  RetryOptions o;
  o.honour_retry_after = true;
  o.max_elapsed_time = 15s;
  RetryState s(o, clock.fn(), [] { return 0.5; });
  clock.now += 5s;  // 10 s of the budget left
  auto d = s.Decide(429, 10s);
  EXPECT_EQ(d.action, RetryAction::kRetry);
  EXPECT_EQ(d.wait, 10s);  // exactly what remains: still waited
}

TEST(RetryTest, RetryAfterPastTheBudgetGivesUpAtOnce) {
  FakeClock clock;
  RetryOptions o;
  o.honour_retry_after = true;
  o.max_elapsed_time = 15s;
  {
    RetryState s(o, clock.fn(), [] { return 0.5; });
    EXPECT_EQ(s.Decide(429, 16s).action, RetryAction::kGiveUp);  // longer than the whole budget
    EXPECT_EQ(s.attempts(), 1);
  }
  {
    RetryState s(o, clock.fn(), [] { return 0.5; });
    EXPECT_EQ(s.Decide(500).action, RetryAction::kRetry);
    clock.now += 6s;  // 9 s left
    EXPECT_EQ(s.Decide(429, 9s + 1ms).action, RetryAction::kGiveUp);
  }
  {
    RetryState s(o, clock.fn(), [] { return 0.5; });
    EXPECT_EQ(s.Decide(429, std::chrono::seconds(999999999)).action, RetryAction::kGiveUp);
  }
  {
    // A Retry-After shorter than the backoff changes nothing, even near the end of the budget:
    // the backoff's own last wait may end past it (backoff v2).
    RetryState s(o, clock.fn(), [] { return 0.5; });
    clock.now += 14900ms;
    auto d = s.Decide(429, 1ms);
    EXPECT_EQ(d.action, RetryAction::kRetry);
    EXPECT_EQ(d.wait, 500ms);
  }
  {
    // Not honoured: a long Retry-After is ignored rather than a reason to give up.
    RetryOptions plain = o;
    plain.honour_retry_after = false;
    RetryState s(plain, clock.fn(), [] { return 0.5; });
    auto d = s.Decide(429, 1h);
    EXPECT_EQ(d.action, RetryAction::kRetry);
    EXPECT_EQ(d.wait, 500ms);
  }
}

TEST(RetryTest, RetryAfterWithoutATimeBudgetIsCappedAtTheMaxInterval) {
  FakeClock clock;
  RetryOptions o;
  o.honour_retry_after = true;
  o.max_elapsed_time = 0ns;  // otlp's 0: only max_retries limits
  o.max_retries = 3;
  RetryState s(o, clock.fn(), [] { return 0.5; });
  EXPECT_EQ(s.Decide(429, 20s).wait, 20s);
  EXPECT_EQ(s.Decide(429, std::chrono::seconds(999999999)).wait, 60s);
  EXPECT_EQ(s.Decide(429, 1ms).wait, 1125ms);
  EXPECT_EQ(s.Decide(429, 1s).action, RetryAction::kGiveUp);  // retries spent
}

TEST(RetryTest, MaxRetriesLimitsTheAttempts) {
  FakeClock clock;
  RetryOptions o;
  o.max_retries = 2;
  RetryState state(o, clock.fn(), [] { return 0.5; });
  EXPECT_EQ(state.Decide(500).action, RetryAction::kRetry);
  EXPECT_EQ(state.Decide(503).action, RetryAction::kRetry);
  EXPECT_EQ(state.Decide(500).action, RetryAction::kGiveUp);  // third failure: 2 retries spent
  o.max_retries = 0;
  RetryState none(o, clock.fn(), [] { return 0.5; });
  EXPECT_EQ(none.Decide(500).action, RetryAction::kGiveUp);
  EXPECT_EQ(RetryState(o, clock.fn(), [] { return 0.5; }).Decide(200).action, RetryAction::kDone);
}

TEST(RetryAfterTest, Parsing) {
  // 2015-10-21T07:28:00Z
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  EXPECT_EQ(ParseRetryAfter("120", now), Duration(120s));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), Duration(0s));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), Duration(30s));
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:29:00 GMT", now), Duration(60s));
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:05 2015", now), Duration(5s));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), Duration(0s));  // past
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-5", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("1.5", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT trailing", now).has_value());
}

}  // namespace
}  // namespace cstatsd::transport
