// NameCounts: how many series the aggregator holds per metric name (a MetricNameHash, never 0),
// for max-series-per-metric. An open-addressing table of 12-byte slots with backward-shift
// deletion, so a name whose last series expires leaves no tombstone. Flusher thread only.
#pragma once

#include <cstdint>
#include <vector>

namespace cstatsd::aggregate {

class NameCounts {
 public:
  uint32_t Get(uint64_t hash) const {
    if (slots_.empty()) return 0;
    for (size_t pos = hash & mask_;; pos = (pos + 1) & mask_) {
      if (slots_[pos].hash() == hash) return slots_[pos].count;
      if (slots_[pos].hash() == 0) return 0;
    }
  }

  // Adds one series of the name; returns the new count.
  uint32_t Add(uint64_t hash) {
    if ((used_ + 1) * 4 > slots_.size() * 3) Grow();
    for (size_t pos = hash & mask_;; pos = (pos + 1) & mask_) {
      Slot& s = slots_[pos];
      if (s.hash() == hash) return ++s.count;
      if (s.hash() == 0) {
        s = Slot::Of(hash, 1);
        ++used_;
        return 1;
      }
    }
  }

  // Removes one series of the name (held); returns the new count. At 0 the name leaves.
  uint32_t Sub(uint64_t hash) {
    if (slots_.empty()) return 0;
    size_t pos = hash & mask_;
    while (slots_[pos].hash() != hash) {
      if (slots_[pos].hash() == 0) return 0;  // not held: nothing to do
      pos = (pos + 1) & mask_;
    }
    if (--slots_[pos].count > 0) return slots_[pos].count;
    // Backward shift: move later slots of the probe run into the hole.
    size_t hole = pos;
    for (size_t next = (hole + 1) & mask_; slots_[next].hash() != 0; next = (next + 1) & mask_) {
      const size_t home = slots_[next].hash() & mask_;
      // `next` may fill the hole if its home is not in (hole, next] (cyclically).
      const bool between =
          hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
      if (!between) {
        slots_[hole] = slots_[next];
        hole = next;
      }
    }
    slots_[hole] = Slot{};
    --used_;
    if (used_ == 0) Clear();
    return 0;
  }

  size_t size() const { return used_; }
  void Clear() {
    std::vector<Slot>().swap(slots_);
    used_ = 0;
    mask_ = 0;
  }

 private:
  // The hash in two halves, so a slot is 12 bytes, not 16: one slot per name, and with a
  // million names of one series each (every series its own name) the table is 24 MB, not 32
  // (docs/performance.md#memory-per-series).
  struct Slot {
    uint32_t hash_lo = 0;
    uint32_t hash_hi = 0;
    uint32_t count = 0;

    uint64_t hash() const { return (uint64_t{hash_hi} << 32) | hash_lo; }
    static Slot Of(uint64_t hash, uint32_t count) {
      return Slot{static_cast<uint32_t>(hash), static_cast<uint32_t>(hash >> 32), count};
    }
  };
  static_assert(sizeof(Slot) == 12);

  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(old.empty() ? 16 : old.size() * 2);
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.hash() == 0) continue;
      size_t pos = s.hash() & mask_;
      while (slots_[pos].hash() != 0) pos = (pos + 1) & mask_;
      slots_[pos] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t used_ = 0;
  size_t mask_ = 0;
};

}  // namespace cstatsd::aggregate
