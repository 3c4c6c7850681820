// ShardRing (docs/forwarder.md#sharding): a series' choice is stable and the same for every ring
// built from the same URLs, the series spread evenly, and adding or removing one of N endpoints
// moves about 1/N of 100,000 series, all of them to (or from) that endpoint.
#include "forward/shard_ring.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/series_key.h"

namespace cstatsd::forward {
namespace {

constexpr int kKeys = 100000;

std::vector<uint64_t> Keys() {
  std::vector<uint64_t> keys;
  for (int i = 0; i < kKeys; ++i) {
    const std::string name = "app.requests." + std::to_string(i);
    keys.push_back(SeriesKey::Hash(MetricType::kCounter, name, "env:prod,host:web1", ""));
  }
  return keys;
}

std::vector<std::string> Urls(int n) {
  std::vector<std::string> urls;
  for (int i = 0; i < n; ++i) urls.push_back("http://10.0.0." + std::to_string(i + 1) + ":8080");
  return urls;
}

TEST(ShardRingTest, TheChoiceDependsOnTheUrlsOnly) {
  const auto keys = Keys();
  const auto urls = Urls(3);
  ShardRing a(urls), b(urls);
  for (uint64_t k : keys) ASSERT_EQ(a.Choose(k), b.Choose(k));
  // A ring of the same URLs in another order names the same URL.
  std::vector<std::string> reversed(urls.rbegin(), urls.rend());
  ShardRing c(reversed);
  for (uint64_t k : keys) ASSERT_EQ(urls[a.Choose(k)], reversed[c.Choose(k)]);
}

TEST(ShardRingTest, SeriesSpreadEvenly) {
  const auto keys = Keys();
  for (int n : {2, 3, 5, 10}) {
    ShardRing ring(Urls(n));
    std::vector<int> count(static_cast<size_t>(n));
    for (uint64_t k : keys) ++count[ring.Choose(k)];
    const double expected = static_cast<double>(kKeys) / n;
    for (int c : count) {
      // Binomial spread: σ ≈ 150–300 here; 5 % of the mean is many σ.
      EXPECT_NEAR(c, expected, 0.05 * expected) << "n=" << n;
    }
  }
}

// The fraction of keys whose URL differs between two rings, and whether every moved key moved
// to (or from) `changed`.
double Moved(const ShardRing& before, const std::vector<std::string>& ub, const ShardRing& after,
             const std::vector<std::string>& ua, const std::string& changed, bool* only_changed) {
  const auto keys = Keys();
  int moved = 0;
  *only_changed = true;
  for (uint64_t k : keys) {
    const std::string& x = ub[before.Choose(k)];
    const std::string& y = ua[after.Choose(k)];
    if (x != y) {
      ++moved;
      if (x != changed && y != changed) *only_changed = false;
    }
  }
  return static_cast<double>(moved) / kKeys;
}

TEST(ShardRingTest, AddingOneOfNMovesAboutOneNth) {
  for (int n : {3, 4, 10}) {
    const auto ub = Urls(n - 1), ua = Urls(n);
    bool only = false;
    const double f = Moved(ShardRing(ub), ub, ShardRing(ua), ua, ua.back(), &only);
    EXPECT_NEAR(f, 1.0 / n, 0.1 / n) << "n=" << n;
    EXPECT_TRUE(only) << "a series moved between two endpoints that stayed";
  }
}

TEST(ShardRingTest, RemovingOneOfNMovesOnlyItsSeries) {
  for (int n : {3, 4, 10}) {
    const auto ub = Urls(n);
    auto ua = ub;
    const std::string gone = ua[1];
    ua.erase(ua.begin() + 1);
    bool only = false;
    const double f = Moved(ShardRing(ub), ub, ShardRing(ua), ua, gone, &only);
    EXPECT_NEAR(f, 1.0 / n, 0.1 / n) << "n=" << n;
    EXPECT_TRUE(only);
  }
}

TEST(ShardRingTest, AnEndpointLeftOutGivesItsSeriesToTheirNextChoice) {
  const auto urls = Urls(3);
  ShardRing all(urls), without1(urls, {true, false, true});
  EXPECT_EQ(without1.size(), 2u);
  const auto keys = Keys();
  int moved = 0;
  for (uint64_t k : keys) {
    const uint32_t a = all.Choose(k), b = without1.Choose(k);
    ASSERT_NE(b, 1u);
    if (a != 1) {
      ASSERT_EQ(a, b);
    } else {
      ++moved;
    }
  }
  EXPECT_NEAR(moved, kKeys / 3.0, kKeys * 0.02);
}

}  // namespace
}  // namespace cstatsd::forward
