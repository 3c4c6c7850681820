// SeriesIndex: ids, erase and release by rounds, growth, and lock-free readers while the owner
// inserts, erases, grows and frees (run under ThreadSanitizer in CI).
#include "core/series_index.h"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/metric_map.h"

namespace cstatsd {
namespace {

SeriesKeyRef Key(const std::string& name) {
  return SeriesKeyRef::Adopt(SeriesKey::Create(
      MetricType::kCounter, name, "", "", SeriesKey::Hash(MetricType::kCounter, name, "", "")));
}

uint32_t FindByParts(const SeriesIndex<CounterAgg>& index, const std::string& name) {
  const KeyParts parts{MetricType::kCounter, name, static_cast<uint32_t>(name.size()), 0};
  return index.Find(SeriesKey::Hash(parts), parts);
}

TEST(SeriesIndexTest, InsertFindGrow) {
  SeriesIndex<CounterAgg> index;
  EXPECT_EQ(FindByParts(index, "a"), kNoSeriesId);
  std::vector<uint32_t> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back(index.Insert(Key("s" + std::to_string(i))));
  EXPECT_EQ(index.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    const std::string name = "s" + std::to_string(i);
    ASSERT_EQ(FindByParts(index, name), ids[static_cast<size_t>(i)]) << name;
    EXPECT_EQ(index.entry(ids[static_cast<size_t>(i)]).key->name(), name);
    EXPECT_EQ(index.Find(*Key(name)), ids[static_cast<size_t>(i)]);
  }
  EXPECT_EQ(FindByParts(index, "s5000"), kNoSeriesId);
  EXPECT_EQ(index.FindOrInsert(Key("s17")), ids[17]);
  size_t seen = 0;
  index.ForEach([&](uint32_t id, auto& e) {
    EXPECT_EQ(index.Find(*e.key), id);
    ++seen;
  });
  EXPECT_EQ(seen, 5000u);
}

TEST(SeriesIndexTest, AnErasedIdIsReusedOnlyAfterEveryReaderHandedOverLater) {
  SeriesIndex<CounterAgg> index;
  const uint32_t a = index.Insert(Key("a"));
  const uint32_t b = index.Insert(Key("b"));
  index.entry(a).value.value = 7;
  index.Erase(a);  // round 0
  EXPECT_FALSE(index.live(a));
  EXPECT_TRUE(index.live(b));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(FindByParts(index, "a"), kNoSeriesId);
  EXPECT_EQ(FindByParts(index, "b"), b);
  // A late delta for `a` finds its key still there; the series comes back under a new id.
  ASSERT_TRUE(index.entry(a).key);
  const uint32_t again = index.FindOrInsert(index.entry(a).key);
  EXPECT_NE(again, a);
  EXPECT_EQ(FindByParts(index, "a"), again);
  EXPECT_EQ(index.entry(again).value.value, 0);  // a fresh value: the erased one was flushed

  index.Release(0);  // nobody has handed over since round 0: nothing freed
  ASSERT_TRUE(index.entry(a).key);
  index.EndRound();
  index.Release(1);  // every reader handed over in round 1
  EXPECT_FALSE(index.entry(a).key);
  EXPECT_EQ(index.Insert(Key("c")), a);  // the freed id is used again
  EXPECT_EQ(FindByParts(index, "c"), a);
  EXPECT_EQ(FindByParts(index, "a"), again);
}

TEST(SeriesIndexTest, TombstonesDoNotHideLaterSeriesAndAreReused) {
  SeriesIndex<CounterAgg> index;
  std::vector<uint32_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(index.Insert(Key("k" + std::to_string(i))));
  for (int round = 0; round < 200; ++round) {
    // Erase and re-add every other series: probes run across tombstones, rebuilds drop them.
    for (int i = 0; i < 10; i += 2) {
      const std::string name = "k" + std::to_string(i);
      index.Erase(ids[static_cast<size_t>(i)]);
      ids[static_cast<size_t>(i)] = index.Insert(Key(name));
    }
    index.EndRound();
    index.Release(index.round());
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(FindByParts(index, "k" + std::to_string(i)), ids[static_cast<size_t>(i)]);
    }
  }
  EXPECT_EQ(index.size(), 10u);
}

// Readers look series up while the owner inserts (growing the slot array many times), erases
// and frees. A reader "hands over" between batches by publishing the round it has seen; the
// owner frees only what was retired before every reader's last hand-over, as the server does.
TEST(SeriesIndexTest, ReadersFindEverySeriesWhileTheOwnerInsertsErasesAndFrees) {
  SeriesIndex<CounterAgg> index;
  constexpr int kStable = 20000;  // inserted one by one, never erased
  std::atomic<int> published{0};
  std::atomic<uint64_t> round{0};
  std::atomic<bool> done{false};
  constexpr int kReaders = 2;
  std::atomic<uint64_t> handed[kReaders] = {};
  std::atomic<int> errors{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      uint32_t seed = static_cast<uint32_t>(r) * 7919u + 1;
      while (!done.load(std::memory_order_acquire)) {
        const uint64_t seen_round = round.load(std::memory_order_acquire);
        const int n = published.load(std::memory_order_acquire);
        for (int i = 0; i < 64 && n > 0; ++i) {  // a batch
          seed = seed * 1664525u + 1013904223u;
          const std::string name = "stable." + std::to_string(seed % static_cast<uint32_t>(n));
          const uint32_t id = FindByParts(index, name);
          if (id == kNoSeriesId || index.entry(id).key->name() != name) ++errors;
          seed = seed * 1664525u + 1013904223u;
          const std::string churn = "churn." + std::to_string(seed % 512);
          const uint32_t cid = FindByParts(index, churn);
          if (cid != kNoSeriesId && index.entry(cid).key->name() != churn) ++errors;
        }
        handed[r].store(seen_round, std::memory_order_release);  // between two batches
      }
    });
  }

  std::vector<uint32_t> churn_ids(512, kNoSeriesId);
  for (int i = 0; i < kStable; ++i) {
    index.Insert(Key("stable." + std::to_string(i)));
    published.store(i + 1, std::memory_order_release);
    const size_t c = static_cast<size_t>(i) % churn_ids.size();
    if (churn_ids[c] != kNoSeriesId) index.Erase(churn_ids[c]);
    churn_ids[c] = index.Insert(Key("churn." + std::to_string(c)));
    if (i % 500 == 499) {
      index.EndRound();
      round.store(index.round(), std::memory_order_release);
      uint64_t safe = UINT64_MAX;
      for (auto& h : handed) safe = std::min(safe, h.load(std::memory_order_acquire));
      index.Release(safe);
    }
  }
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(index.size(), static_cast<size_t>(kStable) + churn_ids.size());
}

TEST(IdColumnTest, TakeReceivedMovesOnlyWhatWasReceivedAndResets) {
  SeriesIndex<CounterAgg> index;
  IdColumn<CounterAgg> column;
  column.index = &index;
  auto add = [&](uint32_t id, int64_t delta) {  // the counter receive rule
    CounterAgg& c = column.Receive(id);
    c.value += delta;
    c.last_ns = 100;
  };
  add(3, 5);
  add(200, 1);
  add(3, 2);
  std::vector<IdDelta<CounterAgg>> out;
  column.TakeReceived(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, 3u);
  EXPECT_EQ(out[0].value.value, 7);
  EXPECT_EQ(out[1].id, 200u);
  EXPECT_EQ(out[1].value.value, 1);
  out.clear();
  column.TakeReceived(out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(column.Receive(3).value, 0);
  EXPECT_FALSE(Received(column.Receive(200)));
}

// The worker's 8-byte counters (docs/performance.md#memory-per-series): a count of 0 is still
// "received", the delta carries the latest line's time, and neither an int count saturated at
// INT64_MIN nor a float sum can be taken for "not received".
TEST(CounterColumnTest, ZeroIsReceivedAndEveryDeltaHasTheLatestTime) {
  SeriesIndex<CounterAgg> index;
  const uint32_t a = index.Insert(Key("a"));
  const uint32_t b = index.Insert(Key("b"));
  CounterColumn column;
  column.index = &index;
  auto find = [&](const std::string& name, int64_t now_ns) {
    const KeyParts parts{MetricType::kCounter, name, static_cast<uint32_t>(name.size()), 0};
    return column.Find(SeriesKey::Hash(parts), parts, now_ns);
  };
  EXPECT_EQ(find("c", 1), nullptr);  // not in the index
  CounterColumn::Add(*find("a", 100), 0);
  CounterColumn::Add(*find("b", 300), 4);
  CounterColumn::Add(*find("a", 200), 3);
  std::vector<IdDelta<CounterAgg>> out;
  column.TakeReceived(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, a);
  EXPECT_EQ(out[0].value.value, 3);
  EXPECT_EQ(out[0].value.last_ns, 300);
  EXPECT_EQ(out[1].id, b);
  EXPECT_EQ(out[1].value.value, 4);
  out.clear();
  CounterColumn::Add(*find("a", 400), 0);  // a zero line counts as an update
  column.TakeReceived(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value.value, 0);
  EXPECT_EQ(out[0].value.last_ns, 400);
  out.clear();
  column.TakeReceived(out);
  EXPECT_TRUE(out.empty());
}

TEST(CounterColumnTest, NoSumLooksUnset) {
  SeriesIndex<CounterAgg> index;
  index.Insert(Key("a"));
  CounterColumn column;
  column.index = &index;
  const KeyParts parts{MetricType::kCounter, "a", 1, 0};
  const uint64_t hash = SeriesKey::Hash(parts);
  std::vector<IdDelta<CounterAgg>> out;
  CounterColumn::Add(*column.Find(hash, parts, 1), std::numeric_limits<int64_t>::min());
  column.TakeReceived(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value.value, std::numeric_limits<int64_t>::min() + 1);  // kept one above
  out.clear();
  CounterColumn::AddFloat(*column.Find(hash, parts, 2), -0.0);  // +0.0 + -0.0 is +0.0
  column.TakeReceived(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(FloatCount(out[0].value.value), 0.0);
}

}  // namespace
}  // namespace cstatsd
