// SeriesIndex<V>: the aggregator's state for one fixed-size metric type (counters, gauges), by
// series id, with a hash index that the workers read without a lock (ADR 0002).
//
// The flusher owns it: it alone inserts, erases, writes values and frees. Workers only call
// Find(), to learn the id of a series the aggregator already holds, and receive into their own
// per-id values (IdColumn in core/metric_map.h); a series not found goes the old way, into the
// worker map's table, and the flusher adds it here at the merge.
//
// Why a reader never sees freed memory: entries live in chunks that never move; a slot is
// published with a release store after its entry is written; a slot array replaced by a larger
// one and an erased series' id and key are only *retired*, stamped with the current round, and
// freed by Release(safe) once every worker has handed over in a later round (between two of its
// batches, where it holds nothing from the index). Which round is safe is the flusher's
// decision, made in one place (HandOverLedger, server/flusher.h). A worker that found an id just
// before it was erased may still receive into it: its delta names a retired id, whose key is still
// there, and the merge looks the series up again (FindOrInsert(entry(id).key)).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "core/series_key.h"

namespace cstatsd {

inline constexpr uint32_t kNoSeriesId = UINT32_MAX;

template <typename V>
class SeriesIndex {
 public:
  struct Entry {
    SeriesKeyRef key;  // set while the id is live or retired
    V value;
  };

  SeriesIndex() : dir_(new Entry*[kMaxChunks]()) {}
  ~SeriesIndex() {
    if (Slots* t = slots_.load(std::memory_order_relaxed)) Slots::Destroy(t);
    for (Retired& r : retired_) {
      if (r.slots != nullptr) Slots::Destroy(r.slots);
    }
    for (size_t c = 0; c < kMaxChunks && dir_[c] != nullptr; ++c) delete[] dir_[c];
  }
  SeriesIndex(const SeriesIndex&) = delete;
  SeriesIndex& operator=(const SeriesIndex&) = delete;

  // Any thread, no lock: the id of the series with these parts and hash, or kNoSeriesId.
  uint32_t Find(uint64_t hash, const KeyParts& parts) const {
    return Probe(hash, parts, std::memory_order_acquire);
  }

  void Prefetch(uint64_t hash) const {
    const Slots* t = slots_.load(std::memory_order_acquire);
    if (t != nullptr) __builtin_prefetch(&t->slots()[hash & t->mask]);
  }

  // The rest is the owner's (the flusher's).

  size_t size() const { return live_count_; }
  bool live(uint32_t id) const { return (live_[id >> 6] >> (id & 63)) & 1; }
  Entry& entry(uint32_t id) { return dir_[id >> kChunkBits][id & kChunkMask]; }
  const Entry& entry(uint32_t id) const { return dir_[id >> kChunkBits][id & kChunkMask]; }

  uint32_t Find(const SeriesKey& key) const {
    return Probe(key.hash(), key, std::memory_order_relaxed);
  }

  // Adds a series that is not live (with a default value): its id, or kNoSeriesId when the
  // index holds kMaxIds series.
  uint32_t Insert(const SeriesKeyRef& key) {
    Slots* t = slots_.load(std::memory_order_relaxed);
    if (t == nullptr || (live_count_ + tombstones_ + 1) * 4 > (t->mask + 1) * 3) {
      t = Rebuild();
    }
    const uint32_t id = NewId();
    if (id == kNoSeriesId) return id;
    Entry& e = entry(id);
    e.key = key;
    e.value = V();
    live_[id >> 6] |= uint64_t{1} << (id & 63);
    ++live_count_;
    Place(*t, key->hash(), id, std::memory_order_release);
    return id;
  }

  // The id of `key`'s series, inserted if it is not live.
  uint32_t FindOrInsert(const SeriesKeyRef& key) {
    const uint32_t id = Find(*key);
    return id != kNoSeriesId ? id : Insert(key);
  }

  // Calls fn(id, Entry&) for every live series, in id order.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (size_t w = 0; w < live_.size(); ++w) {
      for (uint64_t bits = live_[w]; bits != 0; bits &= bits - 1) {
        const auto id = static_cast<uint32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits)));
        fn(id, entry(id));
      }
    }
  }

  // Takes the series out of the index; its id and key stay until Release() frees them.
  void Erase(uint32_t id) {
    Slots* t = slots_.load(std::memory_order_relaxed);
    const uint64_t hash = entry(id).key->hash();
    for (size_t pos = hash & t->mask;; pos = (pos + 1) & t->mask) {
      const uint32_t s = t->slots()[pos].load(std::memory_order_relaxed);
      if ((s >> kTagBits) == id + 1) {
        t->slots()[pos].store((kTombstone << kTagBits) | (s & kTagMask), std::memory_order_release);
        break;
      }
    }
    live_[id >> 6] &= ~(uint64_t{1} << (id & 63));
    --live_count_;
    ++tombstones_;
    retired_.push_back(Retired{round_, id, nullptr});
  }

  // Ends a round (a flush); what is retired from now on is stamped with the next one.
  void EndRound() { ++round_; }
  uint64_t round() const { return round_; }

  // Frees what was retired in rounds before `safe`: every worker has handed over since.
  void Release(uint64_t safe) {
    size_t kept = 0;
    for (Retired& r : retired_) {
      if (r.round >= safe) {
        retired_[kept++] = r;
        continue;
      }
      if (r.slots != nullptr) {
        Slots::Destroy(r.slots);
      } else {  // an erased id: FindOrInsert gives a series that comes back a new one
        Entry& e = entry(r.id);
        e.key = SeriesKeyRef();
        e.value = V();
        free_ids_.push_back(r.id);
      }
    }
    retired_.resize(kept);
  }

 private:
  // A slot is 4 bytes: the id + 1 (28 bits; 0 = empty, all ones = erased) and 4 bits of the
  // hash above the ones that pick the slot, so a probe reads a key only for 1 in 16 of the
  // other series it passes. A million series take 8 MB of slots, 8 bytes each.
  static constexpr unsigned kTagBits = 4;
  static constexpr uint32_t kTagMask = (1u << kTagBits) - 1;
  static constexpr uint32_t kTombstone = UINT32_MAX >> kTagBits;
  static constexpr unsigned kChunkBits = 12;  // 4096 entries a chunk
  static constexpr uint32_t kChunkMask = (1u << kChunkBits) - 1;
  static constexpr size_t kMaxChunks = size_t{1} << 16;
  static constexpr uint32_t kMaxIds = kTombstone - 1;  // ids + 1 below the tombstone

  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 60); }

  // A slot array: the mask, then the slots in the same allocation (one load less a probe).
  struct Slots {
    size_t mask;
    std::atomic<uint32_t>* slots() { return reinterpret_cast<std::atomic<uint32_t>*>(this + 1); }
    const std::atomic<uint32_t>* slots() const {
      return reinterpret_cast<const std::atomic<uint32_t>*>(this + 1);
    }
    static Slots* Create(size_t n) {
      auto* t =
          new (::operator new(sizeof(Slots) + n * sizeof(std::atomic<uint32_t>))) Slots{n - 1};
      for (size_t i = 0; i < n; ++i) new (&t->slots()[i]) std::atomic<uint32_t>(0);
      return t;
    }
    static void Destroy(Slots* t) { ::operator delete(t); }
  };
  struct Retired {
    uint64_t round;
    uint32_t id;   // an erased series (slots == nullptr)
    Slots* slots;  // or a replaced slot array
  };

  // `k` is a KeyParts (a worker's lookup) or a SeriesKey (the owner's).
  template <typename K>
  uint32_t Probe(uint64_t hash, const K& k, std::memory_order order) const {
    const Slots* t = slots_.load(order);
    if (t == nullptr) return kNoSeriesId;
    const uint32_t tag = Tag(hash);
    for (size_t pos = hash & t->mask;; pos = (pos + 1) & t->mask) {
      const uint32_t s = t->slots()[pos].load(order);
      if (s == 0) return kNoSeriesId;
      const uint32_t id_plus_one = s >> kTagBits;
      if ((s & kTagMask) == tag && id_plus_one != kTombstone &&
          entry(id_plus_one - 1).key->Equals(k)) {
        return id_plus_one - 1;
      }
    }
  }

  uint32_t NewId() {
    if (!free_ids_.empty()) {
      const uint32_t id = free_ids_.back();
      free_ids_.pop_back();
      return id;
    }
    if (next_id_ == kMaxIds) return kNoSeriesId;
    const uint32_t id = next_id_++;
    if ((id & kChunkMask) == 0) dir_[id >> kChunkBits] = new Entry[size_t{1} << kChunkBits];
    if ((id >> 6) >= live_.size()) live_.resize((id >> 6) + 1, 0);
    return id;
  }

  // Into an empty or tombstoned slot (the series is not in the index).
  void Place(Slots& t, uint64_t hash, uint32_t id, std::memory_order order) {
    for (size_t pos = hash & t.mask;; pos = (pos + 1) & t.mask) {
      const uint32_t s = t.slots()[pos].load(std::memory_order_relaxed);
      if (s == 0 || (s >> kTagBits) == kTombstone) {
        if (s != 0) --tombstones_;
        t.slots()[pos].store(((id + 1) << kTagBits) | Tag(hash), order);
        return;
      }
    }
  }

  // A new slot array for the live series (at most half full), published; the old one retired.
  Slots* Rebuild() {
    size_t n = 16;
    while (n < (live_count_ + 1) * 2) n *= 2;
    Slots* t = Slots::Create(n);
    tombstones_ = 0;
    ForEach(
        [&](uint32_t id, Entry& e) { Place(*t, e.key->hash(), id, std::memory_order_relaxed); });
    Slots* old = slots_.exchange(t, std::memory_order_release);
    if (old != nullptr) retired_.push_back(Retired{round_, 0, old});
    return t;
  }

  std::unique_ptr<Entry*[]> dir_;  // chunk pointers, written before any slot names their ids
  std::atomic<Slots*> slots_{nullptr};
  std::vector<uint64_t> live_;  // a bit per id
  std::vector<uint32_t> free_ids_;
  std::vector<Retired> retired_;
  size_t live_count_ = 0;
  size_t tombstones_ = 0;
  uint32_t next_id_ = 0;
  uint64_t round_ = 0;
};

}  // namespace cstatsd
