#include "core/series_table.h"

#include <gtest/gtest.h>

#include <string>

#include "unit/support/series.h"

namespace cstatsd {
namespace {

using test::Key;

TEST(SeriesKeyTest, PartsAndTagsKey) {
  auto k = Key(MetricType::kCounter, "foo", "a:b,c", "10.0.0.1");
  EXPECT_EQ(k->name(), "foo");
  EXPECT_EQ(k->tags(), "a:b,c");
  EXPECT_EQ(k->source(), "10.0.0.1");
  EXPECT_EQ(k->TagsKey(), "a:b,c,s:10.0.0.1");
  EXPECT_EQ(Key(MetricType::kCounter, "foo", "", "10.0.0.1")->TagsKey(), ",s:10.0.0.1");
  EXPECT_EQ(Key(MetricType::kCounter, "foo")->TagsKey(), "");
  std::vector<std::string> tags;
  k->ForEachTag([&](std::string_view t) { tags.emplace_back(t); });
  EXPECT_EQ(tags, (std::vector<std::string>{"a:b", "c"}));
}

TEST(SeriesKeyTest, HashSeparatesParts) {
  EXPECT_NE(SeriesKey::Hash(MetricType::kCounter, "ab", "c", ""),
            SeriesKey::Hash(MetricType::kCounter, "a", "bc", ""));
  EXPECT_NE(SeriesKey::Hash(MetricType::kCounter, "a", "", "b"),
            SeriesKey::Hash(MetricType::kCounter, "a", "b", ""));
  EXPECT_NE(SeriesKey::Hash(MetricType::kCounter, "a", "", ""),
            SeriesKey::Hash(MetricType::kGauge, "a", "", ""));
}

// Parts too long for the packed lengths (name > 2047, tags > 4095, source > 255 bytes) take the
// long header; a copy (the aggregator state's, in the KeyArena) equals its original.
TEST(SeriesKeyTest, LongPartsAndCopiesKeepTheirBytes) {
  const std::string long_name(3000, 'n'), long_tags(5000, 't'), long_source(300, 's');
  const std::string cases[][3] = {
      {"foo", "a:b", "h"},
      {long_name, "a:b", "h"},
      {"foo", long_tags, "h"},
      {"foo", "a:b", long_source},
      {std::string(2047, 'n'), std::string(4095, 't'), std::string(255, 's')},
      {"", "", ""}};
  for (const auto& c : cases) {
    auto k = Key(MetricType::kCounter, c[0], c[1], c[2]);
    EXPECT_EQ(k->name(), c[0]);
    EXPECT_EQ(k->tags(), c[1]);
    EXPECT_EQ(k->source(), c[2]);
    auto copy = SeriesKeyRef::Adopt(SeriesKey::Copy(*k));
    EXPECT_TRUE(copy->Equals(*k));
    EXPECT_TRUE(k->Equals(*copy));
    EXPECT_EQ(copy->hash(), k->hash());
    EXPECT_EQ(copy->source(), c[2]);
    const std::string bytes = c[0] + c[1] + c[2];
    EXPECT_TRUE(
        copy->Equals(KeyParts{MetricType::kCounter, bytes, static_cast<uint32_t>(c[0].size()),
                              static_cast<uint32_t>(c[1].size())}));
    EXPECT_FALSE(
        copy->Equals(KeyParts{MetricType::kCounter, bytes, static_cast<uint32_t>(c[0].size() + 1),
                              static_cast<uint32_t>(c[1].size())}));
  }
  // Same bytes, parts split differently: not equal, whichever header each has.
  auto a = Key(MetricType::kCounter, long_name + "x", "", "");
  auto b = Key(MetricType::kCounter, long_name, "x", "");
  EXPECT_FALSE(a->Equals(*b));
}

TEST(SeriesTableTest, InsertFindGrowEraseIf) {
  SeriesTable<int> t;
  for (int i = 0; i < 1000; ++i) {
    std::string name = "m" + std::to_string(i);
    t.Insert(Key(MetricType::kCounter, name), i);
  }
  EXPECT_EQ(t.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    std::string name = "m" + std::to_string(i);
    int* v = t.Find(*Key(MetricType::kCounter, name));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, i);
  }
  EXPECT_EQ(t.Find(*Key(MetricType::kGauge, "m1")), nullptr);
  EXPECT_EQ(t.EraseIf([](auto& e) { return e.value % 2 == 0; }), 500u);
  EXPECT_EQ(t.size(), 500u);
  for (int i = 0; i < 1000; ++i) {
    std::string name = "m" + std::to_string(i);
    int* v = t.Find(*Key(MetricType::kCounter, name));
    EXPECT_EQ(v != nullptr, i % 2 == 1) << name;
  }
}

TEST(SeriesTableTest, FindByContiguousParts) {
  SeriesTable<int> t;
  t.Insert(Key(MetricType::kTimer, "name", "a:b,c", "10.0.0.1"), 7);
  const std::string bytes = "namea:b,c10.0.0.1";
  KeyParts parts{MetricType::kTimer, bytes, 4, 5};
  EXPECT_EQ(parts.source(), "10.0.0.1");
  EXPECT_EQ(SeriesKey::Hash(parts),
            SeriesKey::Hash(MetricType::kTimer, "name", "a:b,c", "10.0.0.1"));
  int* v = t.Find(SeriesKey::Hash(parts), parts);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 7);
  KeyParts other{MetricType::kTimer, bytes, 4, 4};  // same bytes, different split
  EXPECT_EQ(t.Find(SeriesKey::Hash(other), other), nullptr);
}

TEST(SeriesTableTest, KeysAreSharedNotCopied) {
  SeriesTable<int> a, b;
  auto k = Key(MetricType::kSet, "s", "t", "h");
  a.Insert(k, 1);
  b.Insert(k, 2);
  EXPECT_EQ(a.entries()[0].key.get(), b.entries()[0].key.get());
  EXPECT_NE(b.Find(*k), nullptr);
}

TEST(SeriesTableTest, ShareKeyKeepsTheSeriesFindable) {
  SeriesTable<int> t;
  t.Insert(Key(MetricType::kCounter, "a"), 1);
  t.Insert(Key(MetricType::kCounter, "b"), 2);
  auto shared = Key(MetricType::kCounter, "b");
  t.ShareKey(1, shared);
  EXPECT_EQ(t.entries()[1].key.get(), shared.get());
  const std::string bytes = "b";
  KeyParts parts{MetricType::kCounter, bytes, 1, 0};
  int* v = t.Find(SeriesKey::Hash(parts), parts);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 2);
  EXPECT_NE(t.Find(*Key(MetricType::kCounter, "a")), nullptr);
}

TEST(SeriesTableTest, EraseIfGivesBackTheMemoryOfASparseTable) {
  SeriesTable<int> t;
  for (int i = 0; i < 10000; ++i) t.Insert(Key(MetricType::kCounter, "m" + std::to_string(i)), i);
  const size_t full = t.entries().capacity();
  // Erasing a few entries keeps the memory: a steady table never reallocates.
  EXPECT_EQ(t.EraseIf([](auto& e) { return e.value < 100; }), 100u);
  EXPECT_EQ(t.entries().capacity(), full);
  // Keeping under a quarter shrinks the table to twice what it holds.
  EXPECT_EQ(t.EraseIf([](auto& e) { return e.value >= 200; }), 9800u);
  EXPECT_EQ(t.size(), 100u);
  EXPECT_EQ(t.entries().capacity(), 200u);
  for (int i = 0; i < 10000; ++i) {
    int* v = t.Find(*Key(MetricType::kCounter, "m" + std::to_string(i)));
    EXPECT_EQ(v != nullptr, i >= 100 && i < 200) << i;
    if (v != nullptr) {
      EXPECT_EQ(*v, i);
    }
  }
  // It grows again as usual.
  for (int i = 10000; i < 10500; ++i) {
    t.Insert(Key(MetricType::kCounter, "m" + std::to_string(i)), i);
  }
  EXPECT_EQ(t.size(), 600u);
  EXPECT_NE(t.Find(*Key(MetricType::kCounter, "m10499")), nullptr);
  EXPECT_NE(t.Find(*Key(MetricType::kCounter, "m150")), nullptr);
  // Erasing everything frees everything; the table still works.
  EXPECT_EQ(t.EraseIf([](auto&) { return true; }), 600u);
  EXPECT_EQ(t.entries().capacity(), 0u);
  EXPECT_EQ(t.Find(*Key(MetricType::kCounter, "m150")), nullptr);
  t.Insert(Key(MetricType::kCounter, "again"), 1);
  EXPECT_NE(t.Find(*Key(MetricType::kCounter, "again")), nullptr);
}

}  // namespace
}  // namespace cstatsd
