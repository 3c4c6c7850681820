#include "core/key_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

namespace cstatsd {
namespace {

TEST(KeyArenaTest, RoomIsAlignedApartAndWritableAcrossCommitSteps) {
  KeyArena arena(size_t{64} << 20);
  std::vector<std::pair<char*, size_t>> blocks;
  size_t total = 0;
  for (size_t i = 0; total < 3 * KeyArena::kCommitStep; ++i) {
    const size_t size = 17 + (i * 37) % 300;
    auto* p = static_cast<char*>(arena.Allocate(size));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
    EXPECT_TRUE(arena.Owns(p));
    std::memset(p, static_cast<int>(i & 0xff), size);
    blocks.emplace_back(p, size);
    total += (size + 7) & ~size_t{7};
  }
  EXPECT_EQ(arena.in_use(), total);
  EXPECT_GE(arena.committed(), total);
  EXPECT_LT(arena.committed(), total + KeyArena::kCommitStep);
  for (size_t i = 0; i < blocks.size(); ++i) {  // nothing overwrote another block
    for (size_t j = 0; j < blocks[i].second; ++j) {
      ASSERT_EQ(static_cast<unsigned char>(blocks[i].first[j]), i & 0xff) << i;
    }
  }
  for (auto& [p, size] : blocks) arena.Free(p, size);
  EXPECT_EQ(arena.in_use(), 0u);
}

TEST(KeyArenaTest, FreedRoomIsReusedExactlyOrSplit) {
  KeyArena arena(size_t{8} << 20);
  void* a = arena.Allocate(48);
  void* b = arena.Allocate(48);
  arena.Free(a, 48);
  EXPECT_EQ(arena.Allocate(41), a);  // same class (48)
  void* c = arena.Allocate(96);
  arena.Free(c, 96);
  const size_t committed = arena.committed();
  // 56 from the 96-byte block; its rest (40) serves the next 40.
  EXPECT_EQ(arena.Allocate(56), c);
  EXPECT_EQ(arena.Allocate(40), static_cast<char*>(c) + 56);
  EXPECT_EQ(arena.committed(), committed);
  // A rest under 16 bytes is not made: 88 from a free 96 would leave 8.
  void* d = arena.Allocate(96);
  arena.Free(d, 96);
  void* e = arena.Allocate(88);
  EXPECT_NE(e, d);
  EXPECT_EQ(arena.Allocate(96), d);
  (void)b;
}

TEST(KeyArenaTest, LargeSizesAndNoReservationGoToMalloc) {
  KeyArena arena(size_t{8} << 20);
  EXPECT_EQ(arena.Allocate(KeyArena::kMaxSize + 1), nullptr);
  EXPECT_NE(arena.Allocate(KeyArena::kMaxSize), nullptr);
  KeyArena none(0);
  EXPECT_EQ(none.Allocate(48), nullptr);
  int on_stack = 0;
  EXPECT_FALSE(none.Owns(&on_stack));
  EXPECT_FALSE(arena.Owns(&on_stack));
}

TEST(KeyArenaTest, AFullReservationGoesToMalloc) {
  KeyArena arena(KeyArena::kCommitStep);
  size_t n = 0;
  while (arena.Allocate(1024) != nullptr) ++n;
  EXPECT_EQ(n, KeyArena::kCommitStep / 1024);
}

}  // namespace
}  // namespace cstatsd
