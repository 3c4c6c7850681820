// SeriesKey: the immutable identity of a series — (type, name, sorted tags, source) — hashed
// once. The type seeds the hash but is not stored: a key lives only in tables of its own type.
// The header is 16 bytes: the hash, the reference count and the three part lengths packed in 32
// bits (12 more bytes after it for a key whose parts do not fit). Created by the thread that first
// sees the series, then shared (reference-counted) by the worker maps, the aggregator state and
// every flush snapshot that mentions it, so a key's bytes exist once however many maps hold the
// series. Keys live in the KeyArena (core/key_arena.h) unless they are too long for it. Any thread
// may hold a SeriesKeyRef.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "core/metric.h"

namespace cstatsd {

// A series identity being looked up: name, tags (sorted, ','-joined) and source laid out one
// after the other in `bytes`, as a pipeline builds them in its scratch space. Hashing and
// comparing it is one pass over contiguous memory.
struct KeyParts {
  MetricType type = MetricType::kCounter;
  std::string_view bytes;  // name + tags + source
  uint32_t name_len = 0;
  uint32_t tags_len = 0;

  std::string_view name() const { return bytes.substr(0, name_len); }
  std::string_view tags() const { return bytes.substr(name_len, tags_len); }
  std::string_view source() const { return bytes.substr(name_len + tags_len); }
};

class SeriesKey {
 public:
  // The 64-bit hash of a key (XXH3 of the bytes, seeded with the type and the part lengths).
  static uint64_t Hash(const KeyParts& parts);
  // Convenience for callers that hold the parts apart (tests, cold paths).
  static uint64_t Hash(MetricType type, std::string_view name, std::string_view tags,
                       std::string_view source);

  // Allocates a key with one reference.
  static SeriesKey* Create(const KeyParts& parts, uint64_t hash);
  static SeriesKey* Create(MetricType type, std::string_view name, std::string_view tags,
                           std::string_view source, uint64_t hash);
  // A copy, for the aggregator state, of a key that is not in the KeyArena (Aggregator::Merge).
  static SeriesKey* Copy(const SeriesKey& key);

  uint64_t hash() const { return hash_; }
  std::string_view name() const { return {data(), name_len()}; }
  std::string_view tags() const { return {data() + name_len(), tags_len()}; }  // "a:b,c"
  std::string_view source() const { return {data() + name_len() + tags_len(), source_len()}; }

  // Same bytes and part lengths; the type is the table's to match (see above).
  bool Equals(const KeyParts& k) const {
    return k.name_len == name_len() && k.tags_len == tags_len() && k.bytes.size() == size() &&
           std::memcmp(data(), k.bytes.data(), k.bytes.size()) == 0;
  }
  bool Equals(const SeriesKey& o) const {
    return this == &o || (o.hash_ == hash_ && o.lens_ == lens_ && o.name_len() == name_len() &&
                          o.tags_len() == tags_len() && o.source_len() == source_len() &&
                          std::memcmp(data(), o.data(), size()) == 0);
  }

  // Calls fn(std::string_view tag) for each tag in sorted order.
  template <typename Fn>
  void ForEachTag(Fn&& fn) const {
    std::string_view t = tags();
    while (!t.empty()) {
      size_t comma = t.find(',');
      fn(t.substr(0, comma));
      if (comma == std::string_view::npos) break;
      t.remove_prefix(comma + 1);
    }
  }

  // gostatsd's tagsKey (docs/aggregation.md#identity): tags joined by ',' then ",s:<source>" when
  // source is set.
  std::string TagsKey() const;

  void Ref() const { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() const {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) Destroy(this);
  }

  SeriesKey(const SeriesKey&) = delete;
  SeriesKey& operator=(const SeriesKey&) = delete;

 private:
  // Packed part lengths: name (11 bits), tags (12), source (8); or kLong, and the three as
  // uint32_t after the header.
  static constexpr uint32_t kLong = uint32_t{1} << 31;
  static constexpr uint32_t kMaxName = (1u << 11) - 1, kMaxTags = (1u << 12) - 1,
                            kMaxSource = (1u << 8) - 1;

  SeriesKey() = default;
  static SeriesKey* New(uint32_t name_len, uint32_t tags_len, uint32_t source_len, uint64_t hash);
  static size_t AllocSize(uint32_t lens, size_t bytes) {
    return sizeof(SeriesKey) + ((lens & kLong) != 0 ? 3 * sizeof(uint32_t) : 0) + bytes;
  }
  static void Destroy(const SeriesKey* key);

  const uint32_t* long_lens() const { return reinterpret_cast<const uint32_t*>(this + 1); }
  uint32_t name_len() const { return (lens_ & kLong) != 0 ? long_lens()[0] : lens_ & kMaxName; }
  uint32_t tags_len() const {
    return (lens_ & kLong) != 0 ? long_lens()[1] : (lens_ >> 11) & kMaxTags;
  }
  uint32_t source_len() const {
    return (lens_ & kLong) != 0 ? long_lens()[2] : (lens_ >> 23) & kMaxSource;
  }
  const char* data() const {
    return reinterpret_cast<const char*>(this + 1) + ((lens_ & kLong) != 0 ? 12 : 0);
  }
  size_t size() const { return size_t{name_len()} + tags_len() + source_len(); }

  uint64_t hash_ = 0;
  mutable std::atomic<uint32_t> refs_{1};
  uint32_t lens_ = 0;
};
static_assert(sizeof(SeriesKey) == 16);

// An owning reference to a SeriesKey (intrusive count).
class SeriesKeyRef {
 public:
  SeriesKeyRef() = default;
  // Adopts a reference (e.g. from SeriesKey::Create).
  static SeriesKeyRef Adopt(SeriesKey* key) {
    SeriesKeyRef r;
    r.key_ = key;
    return r;
  }
  SeriesKeyRef(const SeriesKeyRef& o) : key_(o.key_) {
    if (key_) key_->Ref();
  }
  SeriesKeyRef(SeriesKeyRef&& o) noexcept : key_(std::exchange(o.key_, nullptr)) {}
  SeriesKeyRef& operator=(SeriesKeyRef o) noexcept {
    std::swap(key_, o.key_);
    return *this;
  }
  ~SeriesKeyRef() {
    if (key_) key_->Unref();
  }

  const SeriesKey* get() const { return key_; }
  const SeriesKey* operator->() const { return key_; }
  const SeriesKey& operator*() const { return *key_; }
  explicit operator bool() const { return key_ != nullptr; }

 private:
  SeriesKey* key_ = nullptr;
};

}  // namespace cstatsd
