// SeriesTable<V>: an open-addressing hash table from SeriesKey to a value V, with the entries
// dense in a vector (cheap to iterate at flush) and an index of (entry, hash tag) slots probed
// linearly. Lookups by key parts never allocate; only a new series does. Single-threaded: the
// owner of the map (a worker, or the flusher) is the only thread that touches it.
#pragma once

#include <bit>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "core/series_key.h"

namespace cstatsd {

template <typename V>
class SeriesTable {
 public:
  struct Entry {
    SeriesKeyRef key;
    V value;
  };

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>& entries() { return entries_; }
  const std::vector<Entry>& entries() const { return entries_; }

  // A slot is 8 bytes: the entry's index and the hash's upper 32 bits, so a probe compares key
  // bytes only on a tag hit (then it reads the entry, whose line holds both the key pointer and
  // the value). With 1,000,000 series a table's slots take 16 MB instead of 32 MB.
  V* Find(uint64_t hash, const KeyParts& parts) {
    if (slots_.empty()) return nullptr;
    const uint32_t tag = static_cast<uint32_t>(hash >> 32);
    for (size_t pos = hash & mask_;; pos = (pos + 1) & mask_) {
      const Slot& s = slots_[pos];
      if (s.index_plus_one == 0) return nullptr;
      if (s.tag == tag) {
        Entry& e = entries_[s.index_plus_one - 1];
        if (e.key->Equals(parts)) return &e.value;
      }
    }
  }

  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & mask_]);
  }

  V* Find(const SeriesKey& key) {
    Entry* e = FindEntry(key);
    return e ? &e->value : nullptr;
  }

  Entry* FindEntry(const SeriesKey& key) {
    if (slots_.empty()) return nullptr;
    const uint64_t hash = key.hash();
    const uint32_t tag = static_cast<uint32_t>(hash >> 32);
    for (size_t pos = hash & mask_;; pos = (pos + 1) & mask_) {
      const Slot& s = slots_[pos];
      if (s.index_plus_one == 0) return nullptr;
      if (s.tag == tag) {
        Entry& e = entries_[s.index_plus_one - 1];
        if (e.key->Equals(key)) return &e;
      }
    }
  }

  // Makes entry `index` use `key`, an equal key object held elsewhere, so that one copy of the
  // key's bytes serves every map that holds the series.
  void ShareKey(size_t index, const SeriesKeyRef& key) {
    Entry& e = entries_[index];
    if (e.key.get() != key.get()) e.key = key;
  }

  // Inserts a series that is not in the table yet.
  V& Insert(SeriesKeyRef key, V value = V()) {
    if ((entries_.size() + 1) * 4 > slots_.size() * 3) Grow();
    const uint64_t hash = key->hash();
    entries_.push_back(Entry{std::move(key), std::move(value)});
    Place(hash, static_cast<uint32_t>(entries_.size()));
    return entries_.back().value;
  }

  // Removes every entry for which pred(Entry&) is true; keeps the order of the others.
  template <typename Pred>
  size_t EraseIf(Pred&& pred) {
    size_t out = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (pred(entries_[i])) continue;
      if (out != i) entries_[out] = std::move(entries_[i]);
      ++out;
    }
    const size_t removed = entries_.size() - out;
    if (removed == 0) return 0;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(out), entries_.end());
    if (entries_.size() * 4 < entries_.capacity() && entries_.capacity() > kMinShrinkEntries) {
      Shrink();
    } else {
      Rebuild(slots_.size());
    }
    return removed;
  }

  void Clear() {
    entries_.clear();
    std::fill(slots_.begin(), slots_.end(), Slot{});
  }

 private:
  struct Slot {
    uint32_t index_plus_one = 0;
    uint32_t tag = 0;
  };
  static_assert(sizeof(Slot) == 8);

  void Place(uint64_t hash, uint32_t index_plus_one) {
    for (size_t pos = hash & mask_;; pos = (pos + 1) & mask_) {
      if (slots_[pos].index_plus_one == 0) {
        slots_[pos] = Slot{index_plus_one, static_cast<uint32_t>(hash >> 32)};
        return;
      }
    }
  }

  // Below this many entries of capacity a table keeps its memory whatever it holds.
  static constexpr size_t kMinShrinkEntries = 64;

  void Grow() { Rebuild(slots_.empty() ? 16 : slots_.size() * 2); }

  // The table holds under a quarter of its capacity (a burst of series went idle, or a worker's
  // spare map was sized by a busier interval): give the memory back, keeping room to double
  // before the next growth, so a table that stays the same size never reallocates.
  void Shrink() {
    if (entries_.empty()) {
      std::vector<Entry>().swap(entries_);
      std::vector<Slot>().swap(slots_);
      mask_ = 0;
      return;
    }
    std::vector<Entry> kept;
    kept.reserve(entries_.size() * 2);
    for (Entry& e : entries_) kept.push_back(std::move(e));
    entries_.swap(kept);
    size_t capacity = 16;
    while (capacity * 3 < entries_.capacity() * 4) capacity *= 2;
    Rebuild(capacity);
  }

  void Rebuild(size_t capacity) {
    if (capacity == slots_.size()) {
      std::fill(slots_.begin(), slots_.end(), Slot{});
    } else {
      std::vector<Slot>(capacity).swap(slots_);  // assign() would keep a larger old buffer
    }
    mask_ = capacity - 1;
    for (size_t i = 0; i < entries_.size(); ++i) {
      Place(entries_[i].key->hash(), static_cast<uint32_t>(i + 1));
    }
  }

  std::vector<Entry> entries_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace cstatsd
