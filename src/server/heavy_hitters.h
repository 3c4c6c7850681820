// HeavyHitters: the most frequent keys of a stream in bounded memory — the Space-Saving
// algorithm (Metwally, Agrawal, El Abbadi, 2005) with `capacity` counters in a min-heap and an
// open-addressing index by key hash. A key offered n times out of N is held with a count in
// [n, n + error] once n > N / capacity; the status board counts series per metric name with it
// (docs/status-page.md#top-lists). Nothing allocates after construction. One owning thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace cstatsd::server {

template <typename Item>
class HeavyHitters {
 public:
  struct Entry {
    uint64_t hash = 0;   // the key (never 0)
    uint64_t count = 0;  // an upper bound of the key's occurrences
    uint64_t error = 0;  // count - error is a lower bound
    Item item{};         // what was offered with the key when its counter was taken
    uint32_t heap_pos = 0;
  };

  explicit HeavyHitters(size_t capacity) : entries_(capacity), heap_(capacity) {
    size_t slots = 16;
    while (slots < capacity * 2) slots *= 2;
    slots_.assign(slots, 0);
    mask_ = slots - 1;
  }

  void Clear() {
    used_ = 0;
    total_ = 0;
    std::fill(slots_.begin(), slots_.end(), 0);
  }

  // One occurrence of `hash` (0 is read as 1).
  void Add(uint64_t hash, const Item& item) {
    if (entries_.empty()) return;
    if (hash == 0) hash = 1;
    ++total_;
    size_t pos = hash & mask_;
    for (; slots_[pos] != 0; pos = (pos + 1) & mask_) {
      Entry& e = entries_[slots_[pos] - 1];
      if (e.hash == hash) {
        ++e.count;
        SiftDown(e.heap_pos);
        return;
      }
    }
    if (used_ < entries_.size()) {  // a free counter
      const auto idx = static_cast<uint32_t>(used_);
      entries_[idx] = Entry{hash, 1, 0, item, idx};
      heap_[used_] = idx;
      ++used_;
      slots_[pos] = idx + 1;
      SiftUp(idx);
      return;
    }
    // The least counter is taken over: it keeps its count as the new key's error.
    const uint32_t idx = heap_[0];
    Entry& e = entries_[idx];
    Erase(e.hash);
    e.error = e.count;
    ++e.count;
    e.hash = hash;
    e.item = item;
    Insert(hash, idx);
    SiftDown(0);
  }

  uint64_t total() const { return total_; }
  size_t size() const { return used_; }
  const Entry& entry(size_t i) const { return entries_[i]; }  // i < size(), no order

 private:
  void Swap(size_t a, size_t b) {
    std::swap(heap_[a], heap_[b]);
    entries_[heap_[a]].heap_pos = static_cast<uint32_t>(a);
    entries_[heap_[b]].heap_pos = static_cast<uint32_t>(b);
  }
  uint64_t CountAt(size_t p) const { return entries_[heap_[p]].count; }
  void SiftUp(size_t p) {
    while (p > 0 && CountAt((p - 1) / 2) > CountAt(p)) {
      Swap(p, (p - 1) / 2);
      p = (p - 1) / 2;
    }
  }
  void SiftDown(size_t p) {
    for (;;) {
      size_t least = p;
      const size_t l = 2 * p + 1, r = l + 1;
      if (l < used_ && CountAt(l) < CountAt(least)) least = l;
      if (r < used_ && CountAt(r) < CountAt(least)) least = r;
      if (least == p) return;
      Swap(p, least);
      p = least;
    }
  }
  void Insert(uint64_t hash, uint32_t idx) {
    size_t pos = hash & mask_;
    while (slots_[pos] != 0) pos = (pos + 1) & mask_;
    slots_[pos] = idx + 1;
  }
  // Backward-shift deletion: no tombstones, so the index never fills up.
  void Erase(uint64_t hash) {
    size_t hole = hash & mask_;
    while (entries_[slots_[hole] - 1].hash != hash) hole = (hole + 1) & mask_;
    for (size_t next = (hole + 1) & mask_; slots_[next] != 0; next = (next + 1) & mask_) {
      const size_t home = entries_[slots_[next] - 1].hash & mask_;
      const bool between =
          hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
      if (!between) {
        slots_[hole] = slots_[next];
        hole = next;
      }
    }
    slots_[hole] = 0;
  }

  std::vector<Entry> entries_;
  std::vector<uint32_t> heap_;   // entry indexes, least count first
  std::vector<uint32_t> slots_;  // entry index + 1, 0 = empty
  size_t mask_ = 0;
  size_t used_ = 0;
  uint64_t total_ = 0;
};

}  // namespace cstatsd::server
