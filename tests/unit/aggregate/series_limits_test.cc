// Issue 14 item 8: max-series and max-series-per-metric. Beyond them a new series folds into its
// metric name's overflow series (tag cstatsd_overflow:true, no source) so totals stay right;
// a series already held keeps being updated; expiry frees room; the maps that feed the
// aggregator bound what a flood costs them between two flushes.
#include "core/series_limits.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "aggregate/aggregator.h"
#include "aggregate/name_counts.h"
#include "pipeline/pipeline.h"

namespace cstatsd::aggregate {
namespace {

constexpr int64_t kSecond = 1000000000;
constexpr std::string_view kOverflow = "cstatsd_overflow:true";

// Worker-style maps (attached to the aggregator's indexes, or not), fed through a pipeline.
class SeriesLimitsTest : public ::testing::TestWithParam<bool> {
 protected:
  Aggregator& agg() {
    if (!agg_) {
      agg_ = std::make_unique<Aggregator>(options_);
      if (GetParam()) {
        ids_.counters.index = &agg_->counter_index();
        ids_.gauges.index = &agg_->gauge_index();
        map_.ids = &ids_;
      }
    }
    return *agg_;
  }

  void Add(MetricType type, std::string_view name, double value,
           std::vector<std::string_view> tags = {}, std::string_view member = {},
           int64_t now = 100 * kSecond, MetricMap* map = nullptr) {
    agg();
    ParsedMetric m;
    m.type = type;
    m.name = name;
    m.values = {value};
    m.tags = std::move(tags);
    m.set_value = member;
    pipeline_.Receive(m, "", now, map != nullptr ? *map : map_);
  }

  SnapshotPtr FlushAt(int64_t now) {
    map_.TakeReceivedIds();
    agg().Merge(map_);
    auto s = agg().Flush(now, 1);
    agg().Reset(now);
    return s;
  }

  // Counter values by "name|tags" of one flush.
  static std::map<std::string, int64_t> Counters(const FlushSnapshot& s) {
    std::map<std::string, int64_t> out;
    for (const auto& c : s.counters) {
      out[std::string(c.key->name()) + "|" + std::string(c.key->tags())] = c.value;
    }
    return out;
  }

  AggregatorOptions options_;
  pipeline::PipelineOptions pipeline_options_;
  pipeline::Pipeline pipeline_{&pipeline_options_};
  MetricMap map_;
  IdValues ids_;
  std::unique_ptr<Aggregator> agg_;
};

INSTANTIATE_TEST_SUITE_P(Maps, SeriesLimitsTest, ::testing::Values(false, true),
                         [](const auto& param_info) {
                           return param_info.param ? "Attached" : "Plain";
                         });

std::vector<std::string> Tags(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("host:h" + std::to_string(i));
  return out;
}

TEST_P(SeriesLimitsTest, CountersBeyondThePerMetricLimitFoldIntoOneOverflowSeries) {
  options_.max_series_per_metric = 3;
  const auto tags = Tags(10);
  int64_t total = 0;
  for (int i = 0; i < 10; ++i) {
    Add(MetricType::kCounter, "req", i + 1, {tags[i]});
    total += i + 1;
  }
  Add(MetricType::kCounter, "other", 5, {"host:h9"});  // another name has its own limit
  auto s = FlushAt(100 * kSecond);
  auto c = Counters(*s);
  EXPECT_EQ(c["req|host:h0"], 1);
  EXPECT_EQ(c["req|host:h1"], 2);
  EXPECT_EQ(c["req|host:h2"], 3);
  EXPECT_EQ(c["req|" + std::string(kOverflow)], total - 6);  // the sum over the name is kept
  EXPECT_EQ(c["other|host:h9"], 5);
  EXPECT_EQ(s->counters.size(), 5u);
  EXPECT_EQ(agg().series_overflowed(), 7u);
  EXPECT_EQ(agg().overflow_series(), 1u);
  for (const auto& p : s->counters) {
    if (p.key->tags() == kOverflow) {
      EXPECT_EQ(p.key->source(), "");
    }
  }
}

TEST_P(SeriesLimitsTest, ASeriesAlreadyHeldKeepsBeingUpdated) {
  options_.max_series_per_metric = 2;
  Add(MetricType::kCounter, "req", 1, {"host:a"});
  Add(MetricType::kCounter, "req", 1, {"host:b"});
  FlushAt(100 * kSecond);
  // Full now: a new series folds, the known ones are updated as before.
  Add(MetricType::kCounter, "req", 10, {"host:a"}, {}, 101 * kSecond);
  Add(MetricType::kCounter, "req", 20, {"host:b"}, {}, 101 * kSecond);
  Add(MetricType::kCounter, "req", 30, {"host:c"}, {}, 101 * kSecond);
  Add(MetricType::kGauge, "g", 1, {"host:a"}, {}, 101 * kSecond);
  auto c = Counters(*FlushAt(101 * kSecond));
  EXPECT_EQ(c["req|host:a"], 10);
  EXPECT_EQ(c["req|host:b"], 20);
  EXPECT_EQ(c["req|" + std::string(kOverflow)], 30);
  EXPECT_EQ(c.count("req|host:c"), 0u);
}

TEST_P(SeriesLimitsTest, TimersSetsAndGaugesFoldWithEveryValueCounted) {
  options_.max_series_per_metric = 1;
  // Timers: every value of every folded series is in the overflow series (count, sum).
  Add(MetricType::kTimer, "t", 1, {"host:a"}, {}, 100 * kSecond);
  Add(MetricType::kTimer, "t", 2, {"host:b"}, {}, 100 * kSecond);
  Add(MetricType::kTimer, "t", 3, {"host:c"}, {}, 100 * kSecond);
  Add(MetricType::kTimer, "t", 4, {"host:c"}, {}, 100 * kSecond);
  // Sets: the overflow set holds the union of the members.
  Add(MetricType::kSet, "s", 0, {"host:a"}, "x", 100 * kSecond);
  Add(MetricType::kSet, "s", 0, {"host:b"}, "x", 100 * kSecond);
  Add(MetricType::kSet, "s", 0, {"host:c"}, "y", 100 * kSecond);
  // Gauges: the overflow gauge holds the value received last among the folded series.
  Add(MetricType::kGauge, "g", 1, {"host:a"}, {}, 100 * kSecond);
  Add(MetricType::kGauge, "g", 7, {"host:b"}, {}, 101 * kSecond);
  Add(MetricType::kGauge, "g", 5, {"host:c"}, {}, 100 * kSecond);
  auto s = FlushAt(102 * kSecond);

  ASSERT_EQ(s->timers.size(), 2u);
  for (const auto& t : s->timers) {
    if (t.key->tags() == kOverflow) {
      EXPECT_EQ(t.count, 3);
      EXPECT_EQ(t.sum, 9);
      EXPECT_EQ(t.max, 4);
    } else {
      EXPECT_EQ(t.key->tags(), "host:a");
      EXPECT_EQ(t.count, 1);
    }
  }
  ASSERT_EQ(s->sets.size(), 2u);
  for (const auto& p : s->sets) {
    EXPECT_EQ(p.cardinality, p.key->tags() == kOverflow ? 2u : 1u) << p.key->tags();
  }
  ASSERT_EQ(s->gauges.size(), 2u);
  for (const auto& g : s->gauges) {
    EXPECT_EQ(g.value, g.key->tags() == kOverflow ? 7 : 1) << g.key->tags();
  }
  // 2 timer, 2 set and 2 gauge series folded.
  EXPECT_EQ(agg().series_overflowed(), 6u);
  EXPECT_EQ(agg().overflow_series(), 3u);
}

TEST_P(SeriesLimitsTest, PerMetricLimitIsPerNameAndType) {
  options_.max_series_per_metric = 1;
  Add(MetricType::kCounter, "m", 1, {"host:a"});
  Add(MetricType::kGauge, "m", 1, {"host:b"});
  Add(MetricType::kTimer, "m", 1, {"host:c"});
  auto s = FlushAt(100 * kSecond);
  EXPECT_EQ(agg().series_overflowed(), 0u);
  EXPECT_EQ(agg().series(), 3u);
}

TEST_P(SeriesLimitsTest, GlobalLimitCountsEveryType) {
  options_.max_series = 3;
  Add(MetricType::kCounter, "a", 1);
  Add(MetricType::kGauge, "b", 1);
  Add(MetricType::kTimer, "c", 1);
  FlushAt(100 * kSecond);
  EXPECT_TRUE(agg().limits()->AllFull());
  Add(MetricType::kCounter, "a", 1, {}, {}, 101 * kSecond);  // held
  Add(MetricType::kCounter, "d", 4, {"x:1"}, {}, 101 * kSecond);
  Add(MetricType::kCounter, "d", 6, {"x:2"}, {}, 101 * kSecond);
  Add(MetricType::kSet, "e", 0, {}, "m", 101 * kSecond);
  auto s = FlushAt(101 * kSecond);
  auto c = Counters(*s);
  EXPECT_EQ(c["a|"], 1);
  EXPECT_EQ(c["d|" + std::string(kOverflow)], 10);
  // Overflow series beyond max-series: at most max(1, 3 / 10) = 1, d's. The set's values have
  // nowhere to go: dropped and counted.
  EXPECT_EQ(s->sets.size(), 0u);
  EXPECT_EQ(agg().series_overflowed(), 2u);
  EXPECT_EQ(agg().series_dropped(), 1u);
  EXPECT_EQ(agg().series(), 4u);  // 3 series + 1 overflow series
}

TEST_P(SeriesLimitsTest, ExpiryFreesRoomForNewSeries) {
  options_.max_series_per_metric = 2;
  options_.expiry_counter = std::chrono::seconds(5);
  Add(MetricType::kCounter, "req", 1, {"host:a"}, {}, 100 * kSecond);
  Add(MetricType::kCounter, "req", 1, {"host:b"}, {}, 100 * kSecond);
  Add(MetricType::kCounter, "req", 1, {"host:c"}, {}, 100 * kSecond);
  FlushAt(100 * kSecond);
  EXPECT_EQ(agg().series_overflowed(), 1u);
  // host:b keeps coming; host:a and the overflow series go idle and expire.
  Add(MetricType::kCounter, "req", 1, {"host:b"}, {}, 104 * kSecond);
  FlushAt(104 * kSecond);
  Add(MetricType::kCounter, "req", 1, {"host:b"}, {}, 108 * kSecond);
  FlushAt(108 * kSecond);
  EXPECT_EQ(agg().series(), 1u);
  Add(MetricType::kCounter, "req", 3, {"host:c"}, {}, 109 * kSecond);
  Add(MetricType::kCounter, "req", 4, {"host:d"}, {}, 109 * kSecond);
  auto c = Counters(*FlushAt(109 * kSecond));
  EXPECT_EQ(c["req|host:c"], 3);  // room again: a series of its own
  EXPECT_EQ(c["req|" + std::string(kOverflow)], 4);
  EXPECT_EQ(agg().series_overflowed(), 2u);
}

TEST_P(SeriesLimitsTest, TimerAndSetExpiryFreesRoomToo) {
  options_.max_series = 1;
  options_.expiry_timer = std::chrono::seconds(1);
  Add(MetricType::kTimer, "t", 1, {"host:a"}, {}, 100 * kSecond);
  FlushAt(100 * kSecond);
  FlushAt(102 * kSecond);  // expired
  EXPECT_EQ(agg().series(), 0u);
  Add(MetricType::kSet, "s", 0, {"host:a"}, "x", 103 * kSecond);
  auto s = FlushAt(103 * kSecond);
  ASSERT_EQ(s->sets.size(), 1u);
  EXPECT_EQ(s->sets[0].key->tags(), "host:a");
}

TEST_P(SeriesLimitsTest, OverflowSeriesAreBoundedThenValuesAreDroppedAndCounted) {
  options_.max_series = 10;  // overflow series: at most 1
  for (int i = 0; i < 10; ++i) Add(MetricType::kCounter, "n" + std::to_string(i), 1);
  FlushAt(100 * kSecond);
  Add(MetricType::kCounter, "late1", 2, {}, {}, 101 * kSecond);
  Add(MetricType::kCounter, "late2", 3, {}, {}, 101 * kSecond);
  auto c = Counters(*FlushAt(101 * kSecond));
  EXPECT_EQ(c["late1|" + std::string(kOverflow)], 2);
  EXPECT_EQ(c.count("late2|" + std::string(kOverflow)), 0u);
  EXPECT_EQ(agg().series_overflowed(), 1u);
  EXPECT_EQ(agg().series_dropped(), 1u);
  EXPECT_EQ(agg().series(), 11u);
}

TEST_P(SeriesLimitsTest, UnlimitedMergeAlwaysAdds) {
  options_.max_series = 1;
  Add(MetricType::kCounter, "a", 1);
  FlushAt(100 * kSecond);
  MetricMap internal;
  Add(MetricType::kGauge, "statsd.internal", 1, {}, {}, 100 * kSecond, &internal);
  agg().Merge(internal, /*limited=*/false);
  auto s = agg().Flush(101 * kSecond, 1);
  ASSERT_EQ(s->gauges.size(), 1u);
  EXPECT_EQ(s->gauges[0].key->name(), "statsd.internal");
  EXPECT_EQ(s->gauges[0].key->tags(), "");
}

TEST_P(SeriesLimitsTest, TheLimitNoteNamesTheMetricAndTheLimit) {
  options_.max_series_per_metric = 1;
  Add(MetricType::kCounter, "req", 1, {"host:a"});
  Add(MetricType::kCounter, "req", 1, {"host:b"});
  FlushAt(100 * kSecond);
  auto note = agg().TakeLimitNote();
  EXPECT_EQ(note.name, "req");
  EXPECT_EQ(note.type, MetricType::kCounter);
  EXPECT_EQ(note.limit, "max-series-per-metric");
  EXPECT_TRUE(agg().TakeLimitNote().name.empty());
}

// The maps: a name at its limit is published; a map then takes only map_new_while_full() new
// series of it between two merges and folds the rest on its own, with the same totals.
TEST_P(SeriesLimitsTest, AMapFoldsOnItsOwnOnceTheNameIsPublishedFull) {
  options_.max_series_per_metric = 2;
  map_.limits = agg().limits();
  Add(MetricType::kTimer, "t", 1, {"host:a"});
  Add(MetricType::kTimer, "t", 1, {"host:b"});
  FlushAt(100 * kSecond);
  EXPECT_TRUE(agg().limits()->NameFull(MetricNameHash(MetricType::kTimer, "t")));
  EXPECT_FALSE(agg().limits()->NameFull(MetricNameHash(MetricType::kCounter, "t")));

  const auto tags = Tags(100);
  for (int i = 10; i < 100; ++i) Add(MetricType::kTimer, "t", 1, {tags[i]}, {}, 101 * kSecond);
  Add(MetricType::kTimer, "t", 5, {"host:a"}, {}, 101 * kSecond);  // held: updated as ever
  // The map held its 2 series, took 2 new ones for the merge to decide, folded 88 itself.
  EXPECT_EQ(map_.timers.size(), 2u + 2u + 1u);
  EXPECT_EQ(map_.overflowed, 88u);
  auto s = FlushAt(101 * kSecond);
  double overflow_count = -1, a_sum = -1;
  for (const auto& t : s->timers) {
    if (t.key->tags() == kOverflow) overflow_count = static_cast<double>(t.count);
    if (t.key->tags() == "host:a") a_sum = t.sum;
  }
  EXPECT_EQ(overflow_count, 90);
  EXPECT_EQ(a_sum, 5);
  EXPECT_EQ(agg().series_overflowed(), 90u);
  // Folded series leave the map at the merge: it holds its 2 series and the overflow one.
  EXPECT_EQ(map_.timers.size(), 3u);
}

TEST_P(SeriesLimitsTest, AMapHoldsAtMostMaxSeriesBeforeTheFirstFlush) {
  options_.max_series = 20;  // overflow series: at most 2
  map_.limits = agg().limits();
  for (int i = 0; i < 20; ++i) Add(MetricType::kCounter, "c" + std::to_string(i), 1);
  for (int i = 0; i < 50; ++i) Add(MetricType::kCounter, "x", 1, {Tags(50)[i]});
  for (int i = 0; i < 50; ++i) Add(MetricType::kCounter, "y", 1, {Tags(50)[i]});
  for (int i = 0; i < 50; ++i) Add(MetricType::kCounter, "z" + std::to_string(i), 1);
  EXPECT_EQ(map_.counters.size(), 22u);  // 20, then the overflow series of x and y
  EXPECT_EQ(map_.overflowed, 100u);
  EXPECT_EQ(map_.dropped, 50u);  // z*: no room for another overflow series
  auto c = Counters(*FlushAt(100 * kSecond));
  EXPECT_EQ(c["x|" + std::string(kOverflow)], 50);
  EXPECT_EQ(c["y|" + std::string(kOverflow)], 50);
  EXPECT_EQ(agg().series_overflowed(), 100u);
  EXPECT_EQ(agg().series_dropped(), 50u);
  EXPECT_EQ(map_.overflowed, 0u);
}

// Forwarder mode: timers and sets are handed over whole at each TakeState, so their limits
// apply per interval; counters and gauges stay until idle.
TEST_P(SeriesLimitsTest, ForwarderMergeAppliesTheLimitsPerInterval) {
  options_.max_series_per_metric = 1;
  for (int round = 0; round < 2; ++round) {
    Add(MetricType::kTimer, "t", 1, {"host:a"});
    Add(MetricType::kTimer, "t", 2, {"host:b"});
    map_.TakeReceivedIds();
    agg().Merge(map_);
    MetricMap out = agg().TakeState();
    ASSERT_EQ(out.timers.size(), 2u) << round;
    bool overflow = false;
    for (const auto& e : out.timers.entries()) overflow |= e.key->tags() == kOverflow;
    EXPECT_TRUE(overflow) << round;
  }
}

TEST(NameCountsTest, CountsAndForgetsWithCollidingSlots) {
  ExactNameCounts n;
  // Hashes with equal low bits collide in a small table: removal must keep the others found.
  std::vector<uint64_t> hashes;
  for (uint64_t i = 1; i <= 40; ++i) hashes.push_back(i << 20 | 7);
  for (uint64_t h : hashes) {
    EXPECT_EQ(n.Add(h), 1u);
    EXPECT_EQ(n.Add(h), 2u);
  }
  EXPECT_EQ(n.size(), 40u);
  for (size_t i = 0; i < hashes.size(); i += 2) {
    EXPECT_EQ(n.Sub(hashes[i]), 1u);
    EXPECT_EQ(n.Sub(hashes[i]), 0u);
  }
  EXPECT_EQ(n.size(), 20u);
  for (size_t i = 0; i < hashes.size(); ++i) {
    EXPECT_EQ(n.Get(hashes[i]), i % 2 == 0 ? 0u : 2u) << i;
  }
  EXPECT_EQ(n.Sub(12345), 0u);  // not held
}

// The owner of NameCounts: the series it holds, by name hash, and the scan NameCounts asks for.
struct NameOwner {
  NameCounts counts;
  std::map<uint64_t, uint32_t> held;  // the truth
  uint32_t limit;

  explicit NameOwner(uint32_t l) : limit(l) {}
  uint32_t Add(uint64_t h) {
    ++held[h];
    return counts.Add(h, limit, [this](auto&& fn) {
      for (const auto& [name, n] : held) {
        for (uint32_t i = 0; i < n; ++i) fn(name);
      }
    });
  }
  uint32_t Sub(uint64_t h) {
    if (--held[h] == 0) held.erase(h);
    return counts.Sub(h, limit);
  }
};

// A name hash in the given bucket (the hash's top 12 bits).
uint64_t InBucket(uint64_t bucket, uint64_t name) { return bucket << 52 | name << 8 | 1; }

TEST(NameCountsTest, NamesAreCountedOneByOneOnlyInABucketAtTheLimit) {
  NameOwner o(5);
  const uint64_t a = InBucket(7, 1), b = InBucket(7, 2), c = InBucket(9, 1);
  EXPECT_LT(o.Add(a), 5u);
  EXPECT_LT(o.Add(a), 5u);
  EXPECT_LT(o.Add(b), 5u);
  EXPECT_LT(o.Add(c), 5u);
  EXPECT_LT(o.Add(b), 5u);
  EXPECT_EQ(o.counts.exact_names(), 0u);  // bucket 7 holds 4 series: no name can be at 5
  EXPECT_EQ(o.Add(a), 3u);                // bucket 7 at 5: its names counted by the scan
  EXPECT_EQ(o.counts.exact_buckets(), 1u);
  EXPECT_EQ(o.counts.exact_names(), 2u);  // a and b, not c
  EXPECT_EQ(o.counts.Get(b), 2u);
  EXPECT_EQ(o.Add(a), 4u);
  EXPECT_EQ(o.Add(a), 5u);  // the caller's "at the limit"
  EXPECT_EQ(o.counts.Get(a), 5u);
  EXPECT_LT(o.counts.Get(c), 5u);
  // Below half the limit (2) again: summed, not counted by name.
  EXPECT_EQ(o.Sub(a), 4u);
  EXPECT_EQ(o.Sub(a), 3u);
  EXPECT_EQ(o.Sub(a), 2u);
  EXPECT_EQ(o.Sub(b), 1u);
  EXPECT_EQ(o.Sub(b), 0u);  // bucket 7 holds 2 series (a's): not below half the limit yet
  EXPECT_EQ(o.counts.exact_buckets(), 1u);
  EXPECT_EQ(o.Sub(a), 1u);  // 1 series left in bucket 7: below 2
  EXPECT_EQ(o.counts.exact_buckets(), 0u);
  EXPECT_EQ(o.counts.exact_names(), 0u);
  EXPECT_EQ(o.counts.Get(a), 1u);
}

TEST(NameCountsTest, PastEightBucketsAtTheLimitEveryBucketIsCounted) {
  NameOwner o(2);
  for (uint64_t bucket = 0; bucket < NameCounts::kMaxExactBuckets; ++bucket) {
    o.Add(InBucket(bucket, 1));
    EXPECT_EQ(o.Add(InBucket(bucket, 1)), 2u);
  }
  EXPECT_EQ(o.counts.exact_buckets(), NameCounts::kMaxExactBuckets);
  for (uint64_t bucket = 100; bucket < 110; ++bucket) o.Add(InBucket(bucket, 5));
  o.Add(InBucket(200, 1));
  EXPECT_EQ(o.Add(InBucket(200, 1)), 2u);  // the ninth: every bucket from now on
  EXPECT_EQ(o.counts.exact_buckets(), NameCounts::kBuckets);
  EXPECT_EQ(o.counts.exact_names(), NameCounts::kMaxExactBuckets + 10 + 1);
  for (uint64_t bucket = 100; bucket < 110; ++bucket) EXPECT_EQ(o.Sub(InBucket(bucket, 5)), 0u);
  EXPECT_EQ(o.counts.exact_buckets(), NameCounts::kBuckets);  // for good
}

// The contract max-series-per-metric needs, over random adds and removes: a name is at or over
// the limit exactly when it holds that many series, and Add returns the limit exactly when the
// name reaches it.
TEST(NameCountsTest, AtTheLimitExactlyWhenTheNameIs) {
  for (uint32_t limit : {1u, 3u, 10u}) {
    NameOwner o(limit);
    std::mt19937_64 rng(limit);
    std::vector<uint64_t> names;
    for (uint64_t i = 0; i < 60; ++i) names.push_back(InBucket(rng() % 6, i));
    for (int step = 0; step < 20000; ++step) {
      const uint64_t h = names[rng() % names.size()];
      const bool add = o.held.count(h) == 0 || rng() % 3 != 0;
      const uint32_t before = o.held.count(h) != 0 ? o.held[h] : 0;
      if (add) {
        const uint32_t n = o.Add(h);
        ASSERT_EQ(n == limit, before + 1 == limit) << limit << " step " << step;
      } else {
        const uint32_t n = o.Sub(h);
        ASSERT_EQ(n + 1 == limit, before == limit) << limit << " step " << step;
      }
      for (uint64_t name : names) {
        const uint32_t truth = o.held.count(name) != 0 ? o.held[name] : 0;
        ASSERT_EQ(o.counts.Get(name) >= limit, truth >= limit) << limit << " step " << step;
      }
    }
  }
}

TEST(SeriesLimitsPublishTest, NamesAndEverythingFull) {
  SeriesLimits l(100, 10);
  EXPECT_EQ(l.max_overflow_series(), 10u);
  EXPECT_EQ(l.map_new_while_full(), 10u);
  EXPECT_EQ(l.map_max_entries(), 100u);
  const uint64_t a = MetricNameHash(MetricType::kCounter, "a");
  const uint64_t b = MetricNameHash(MetricType::kCounter, "b");
  EXPECT_FALSE(l.NameFull(a));
  l.Publish(false, {a});
  EXPECT_TRUE(l.NameFull(a));
  EXPECT_FALSE(l.NameFull(b));
  EXPECT_FALSE(l.AllFull());
  l.Publish(true, {b});
  EXPECT_FALSE(l.NameFull(a));
  EXPECT_TRUE(l.NameFull(b));
  EXPECT_TRUE(l.AllFull());
  EXPECT_NE(MetricNameHash(MetricType::kCounter, "a"), MetricNameHash(MetricType::kGauge, "a"));
  SeriesLimits none(0, 0);
  EXPECT_FALSE(none.enabled());
  EXPECT_EQ(none.max_overflow_series(), 0u);
}

}  // namespace
}  // namespace cstatsd::aggregate
