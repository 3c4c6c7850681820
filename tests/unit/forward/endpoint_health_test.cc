// EndpointHealth and EndpointRouter (docs/forwarder.md#health) with the time passed in: K failures
// in a row leave the ring, a success resets the count, probes back off up to the maximum and a
// successful probe rejoins; the router's route, its re-route verdict, its counts and the set
// replaced at run time.
#include "forward/endpoint_health.h"

#include <gtest/gtest.h>

#include <set>

#include "forward/endpoint_router.h"

namespace cstatsd::forward {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

TEST(EndpointHealthTest, LeavesAfterKFailuresInARow) {
  EndpointHealth h({3, 1s, 8s});
  const TimePoint t0{};
  EXPECT_FALSE(h.Failure(t0));
  EXPECT_FALSE(h.Failure(t0));
  EXPECT_TRUE(h.Success() == false);  // still up: a success resets the count
  EXPECT_EQ(h.consecutive_failures(), 0);
  EXPECT_FALSE(h.Failure(t0));
  EXPECT_FALSE(h.Failure(t0));
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.Failure(t0));  // the third in a row
  EXPECT_FALSE(h.up());
  EXPECT_FALSE(h.Failure(t0));  // already out
}

TEST(EndpointHealthTest, ProbesBackOffThenRejoin) {
  EndpointHealth h({1, 1s, 5s});
  TimePoint t{};
  ASSERT_TRUE(h.Failure(t));
  EXPECT_FALSE(h.ProbeDue(t + 999ms));
  std::vector<std::chrono::milliseconds> waits;
  for (int i = 0; i < 5; ++i) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(h.next_probe() - t);
    waits.push_back(wait);
    t = h.next_probe();
    ASSERT_TRUE(h.ProbeDue(t));
    h.ProbeStarted();
    EXPECT_FALSE(h.ProbeDue(t + 1h));  // one probe at a time
    EXPECT_FALSE(h.ProbeFinished(false, t));
  }
  EXPECT_EQ(waits,
            (std::vector<std::chrono::milliseconds>{1000ms, 2000ms, 4000ms, 5000ms, 5000ms}));
  t = h.next_probe();
  h.ProbeStarted();
  EXPECT_TRUE(h.ProbeFinished(true, t));
  EXPECT_TRUE(h.up());
  EXPECT_EQ(h.consecutive_failures(), 0);
  // Out again: the waits start from the beginning.
  ASSERT_TRUE(h.Failure(t));
  EXPECT_EQ(h.next_probe() - t, 1s);
}

TEST(EndpointHealthTest, ASuccessfulPostRejoinsToo) {
  EndpointHealth h({2, 1s, 5s});
  ASSERT_FALSE(h.Failure({}));
  ASSERT_TRUE(h.Failure({}));
  h.ProbeStarted();
  EXPECT_TRUE(h.Success());
  EXPECT_FALSE(h.ProbeFinished(false, {}));  // the late probe failure does not take it out
  EXPECT_TRUE(h.up());
}

TEST(EndpointRouterTest, AFailingEndpointLeavesTheRouteAndRejoins) {
  auto set = std::make_shared<EndpointSet>(EndpointSet::List{"http://a", "http://b", "http://c"});
  EndpointRouter r(set, {2, 1s, 10s});
  const TimePoint t0{};
  auto route = r.Current();
  EXPECT_EQ(route->urls, (std::vector<std::string>{"http://a", "http://b", "http://c"}));
  EXPECT_EQ(route->healthy, 3u);
  EXPECT_FALSE(r.Attempt("http://b", false, t0));
  EXPECT_EQ(r.Current(), route);                  // unchanged: the same object
  EXPECT_TRUE(r.Attempt("http://b", false, t0));  // out, and others are in: re-route
  route = r.Current();
  EXPECT_EQ(route->healthy, 2u);
  EXPECT_EQ(route->ring.size(), 2u);
  for (uint64_t k = 0; k < 1000; ++k)
    EXPECT_NE(route->urls[route->ring.Choose(k * 7919)], "http://b");
  EXPECT_TRUE(r.ProbesDue(t0 + 500ms).empty());
  EXPECT_EQ(r.ProbesDue(t0 + 1s), std::vector<std::string>{"http://b"});
  EXPECT_TRUE(r.ProbesDue(t0 + 1s).empty());  // in flight
  r.ProbeFinished("http://b", true, t0 + 1s);
  EXPECT_EQ(r.Current()->healthy, 3u);
  const auto totals = r.Totals();
  ASSERT_EQ(totals.size(), 3u);
  EXPECT_EQ(totals[1].url, "http://b");
  EXPECT_EQ(totals[1].counts.posts, 3u);
  EXPECT_EQ(totals[1].counts.failures, 2u);
}

TEST(EndpointRouterTest, WhenAllAreOutTheRingHoldsThemAllAndNothingIsReRouted) {
  auto set = std::make_shared<EndpointSet>(EndpointSet::List{"http://a", "http://b"});
  EndpointRouter r(set, {1, 1s, 10s});
  EXPECT_TRUE(r.Attempt("http://a", false, {}));
  EXPECT_FALSE(r.Attempt("http://b", false, {}));  // nowhere else to go: keep retrying
  const auto route = r.Current();
  EXPECT_EQ(route->healthy, 0u);
  EXPECT_EQ(route->ring.size(), 2u);
}

TEST(EndpointRouterTest, FollowsTheSetAndReportsDeltas) {
  auto set = std::make_shared<EndpointSet>(EndpointSet::List{"http://a", "http://b"});
  EndpointRouter r(set, {});
  r.CountRerouted("http://a", 5);
  r.CountDropped("http://b", 2, 1);
  auto d = r.TakeDeltas();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].counts.rerouted_series, 5u);
  EXPECT_EQ(d[1].counts.dropped_series, 2u);
  EXPECT_EQ(d[1].counts.dropped_messages, 1u);
  EXPECT_EQ(r.TakeDeltas()[0].counts.rerouted_series, 0u);

  ASSERT_TRUE(set->Replace({"http://c/", "http://a"}));
  EXPECT_FALSE(set->Replace({}));  // ignored: discovery found nothing
  const auto route = r.Current();
  EXPECT_EQ(route->urls, (std::vector<std::string>{"http://a", "http://c"}));
  d = r.TakeDeltas();  // b reported once more, out of the set, then forgotten
  ASSERT_EQ(d.size(), 3u);
  EXPECT_FALSE(d[1].in_set);
  EXPECT_EQ(r.TakeDeltas().size(), 2u);
  // Events go to each endpoint in turn.
  std::set<std::string> chosen = {r.ChooseAny(), r.ChooseAny()};
  EXPECT_EQ(chosen, (std::set<std::string>{"http://a", "http://c"}));
}

}  // namespace
}  // namespace cstatsd::forward
