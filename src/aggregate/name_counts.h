// NameCounts: how many series the aggregator holds per metric name (a MetricNameHash, never 0),
// for max-series-per-metric. Flusher thread only.
//
// A slot for every name cost 25 bytes a series when every series has a name of its own
// (docs/performance.md#memory-per-series), and the count matters only for a name that can reach
// the limit. So the names fall into kBuckets buckets by hash, each with the total of its names'
// series, and only the names of a bucket whose total reached the limit ("exact" buckets) are
// counted one by one, in ExactNameCounts: below the limit, no name of the bucket can be at it.
// Making a bucket exact needs its names' counts, which only the owner knows: Add takes a scan that
// calls back with the name hash of every counted series the owner holds (the one being added
// included). After kMaxExactBuckets exact buckets, one more scan makes every bucket exact, so a
// low limit costs at most kMaxExactBuckets + 1 scans. An exact bucket whose total falls below half
// the limit is summed again.
#pragma once

#include <cstdint>
#include <vector>

namespace cstatsd::aggregate {

// Every name counted: an open-addressing table of 12-byte slots with backward-shift deletion, so
// a name whose last series leaves leaves no tombstone.
class ExactNameCounts {
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

  // Removes every name for which pred(hash) is true.
  template <typename Pred>
  void RemoveIf(Pred&& pred) {
    std::vector<Slot> old;
    old.swap(slots_);
    Clear();
    for (const Slot& s : old) {
      if (s.hash() == 0 || pred(s.hash())) continue;
      if ((used_ + 1) * 4 > slots_.size() * 3) Grow();
      Place(s);
      ++used_;
    }
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
      if (s.hash() != 0) Place(s);
    }
  }

  void Place(const Slot& s) {
    size_t pos = s.hash() & mask_;
    while (slots_[pos].hash() != 0) pos = (pos + 1) & mask_;
    slots_[pos] = s;
  }

  std::vector<Slot> slots_;
  size_t used_ = 0;
  size_t mask_ = 0;
};

class NameCounts {
 public:
  static constexpr size_t kBuckets = 4096;
  static constexpr size_t kMaxExactBuckets = 8;

  // The name's count when it may be at the limit; below it, a bound under the limit.
  uint32_t Get(uint64_t hash) const {
    if (buckets_.empty()) return 0;
    const Bucket& b = buckets_[BucketOf(hash)];
    return b.exact ? exact_.Get(hash) : b.total;
  }

  // Adds one series of the name (which the owner already holds); returns Get's new answer.
  // limit: max-series-per-metric (> 0); scan(fn) calls fn(name_hash) for every series the owner
  // counts.
  template <typename Scan>
  uint32_t Add(uint64_t hash, uint64_t limit, Scan&& scan) {
    if (buckets_.empty()) buckets_.resize(kBuckets);
    Bucket& b = buckets_[BucketOf(hash)];
    ++b.total;
    if (b.exact) return exact_.Add(hash);
    if (b.total < limit) return b.total;
    if (exact_buckets_ == kMaxExactBuckets) {  // the last scan: every bucket exact
      MakeExact(scan, [](const Bucket& c) { return !c.exact; });
    } else {
      MakeExact(scan, [&b](const Bucket& c) { return &c == &b; });
    }
    return exact_.Get(hash);
  }

  // Removes one series of the name (counted); returns Get's new answer.
  uint32_t Sub(uint64_t hash, uint64_t limit) {
    if (buckets_.empty()) return 0;
    Bucket& b = buckets_[BucketOf(hash)];
    if (b.total == 0) return 0;  // not counted: nothing to do
    --b.total;
    if (!b.exact) return b.total;
    const uint32_t n = exact_.Sub(hash);
    if (exact_buckets_ <= kMaxExactBuckets && b.total < limit / 2) {
      b.exact = false;
      --exact_buckets_;
      const size_t index = static_cast<size_t>(&b - buckets_.data());
      exact_.RemoveIf([index](uint64_t h) { return BucketOf(h) == index; });
    }
    return n;
  }

  void Clear() {
    std::vector<Bucket>().swap(buckets_);
    exact_.Clear();
    exact_buckets_ = 0;
  }

  size_t exact_names() const { return exact_.size(); }  // names counted one by one
  size_t exact_buckets() const { return exact_buckets_; }

 private:
  // The hash's top bits: ExactNameCounts places by the low ones, so one bucket's names spread.
  static size_t BucketOf(uint64_t hash) { return static_cast<size_t>(hash >> 52); }
  static_assert(kBuckets == size_t{1} << 12);

  struct Bucket {
    uint32_t total = 0;  // series of the bucket's names
    bool exact = false;
  };

  // Counts the names of the buckets that pick(bucket) chooses and makes them exact.
  template <typename Scan, typename Pick>
  void MakeExact(Scan& scan, Pick&& pick) {
    std::vector<bool> picked(kBuckets);
    for (size_t i = 0; i < kBuckets; ++i) {
      picked[i] = pick(buckets_[i]);
      if (picked[i]) buckets_[i].total = 0;
    }
    scan([&](uint64_t h) {
      if (!picked[BucketOf(h)]) return;
      ++buckets_[BucketOf(h)].total;
      exact_.Add(h);
    });
    for (size_t i = 0; i < kBuckets; ++i) {
      if (!picked[i]) continue;
      buckets_[i].exact = true;
      ++exact_buckets_;
    }
  }

  std::vector<Bucket> buckets_;  // kBuckets once a name is added
  ExactNameCounts exact_;
  size_t exact_buckets_ = 0;  // > kMaxExactBuckets: all of them, for good
};

}  // namespace cstatsd::aggregate
