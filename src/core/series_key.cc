#include "core/series_key.h"

#include <cstdlib>
#include <new>

#include "core/key_arena.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cstatsd {

uint64_t SeriesKey::Hash(const KeyParts& k) {
  // The type and the part lengths seed the hash, so ("ab","c") and ("a","bc") differ.
  const uint64_t seed = static_cast<uint64_t>(k.type) | (static_cast<uint64_t>(k.name_len) << 8) |
                        (static_cast<uint64_t>(k.tags_len) << 36);
  return XXH3_64bits_withSeed(k.bytes.data(), k.bytes.size(), seed);
}

namespace {

std::string Concat(std::string_view name, std::string_view tags, std::string_view source) {
  std::string s;
  s.reserve(name.size() + tags.size() + source.size());
  s.append(name).append(tags).append(source);
  return s;
}

}  // namespace

uint64_t SeriesKey::Hash(MetricType type, std::string_view name, std::string_view tags,
                         std::string_view source) {
  const std::string bytes = Concat(name, tags, source);
  return Hash(KeyParts{type, bytes, static_cast<uint32_t>(name.size()),
                       static_cast<uint32_t>(tags.size())});
}

SeriesKey* SeriesKey::Create(MetricType type, std::string_view name, std::string_view tags,
                             std::string_view source, uint64_t hash) {
  const std::string bytes = Concat(name, tags, source);
  return Create(
      KeyParts{type, bytes, static_cast<uint32_t>(name.size()), static_cast<uint32_t>(tags.size())},
      hash);
}

SeriesKey* SeriesKey::New(uint32_t name_len, uint32_t tags_len, uint32_t source_len,
                          uint64_t hash) {
  uint32_t lens = kLong;
  if (name_len <= kMaxName && tags_len <= kMaxTags && source_len <= kMaxSource) {
    lens = name_len | (tags_len << 11) | (source_len << 23);
  }
  const size_t bytes = AllocSize(lens, size_t{name_len} + tags_len + source_len);
  void* mem = KeyArena::Get().Allocate(bytes);
  if (mem == nullptr) mem = ::operator new(bytes);
  auto* key = new (mem) SeriesKey();
  key->hash_ = hash;
  key->lens_ = lens;
  if ((lens & kLong) != 0) {
    auto* long_lens = reinterpret_cast<uint32_t*>(key + 1);
    long_lens[0] = name_len;
    long_lens[1] = tags_len;
    long_lens[2] = source_len;
  }
  return key;
}

SeriesKey* SeriesKey::Create(const KeyParts& k, uint64_t hash) {
  SeriesKey* key = New(k.name_len, k.tags_len,
                       static_cast<uint32_t>(k.bytes.size() - k.name_len - k.tags_len), hash);
  if (!k.bytes.empty()) std::memcpy(const_cast<char*>(key->data()), k.bytes.data(), k.bytes.size());
  return key;
}

SeriesKey* SeriesKey::Copy(const SeriesKey& key) {
  SeriesKey* copy = New(key.name_len(), key.tags_len(), key.source_len(), key.hash_);
  if (key.size() != 0) std::memcpy(const_cast<char*>(copy->data()), key.data(), key.size());
  return copy;
}

void SeriesKey::Destroy(const SeriesKey* key) {
  auto* p = const_cast<SeriesKey*>(key);
  const size_t bytes = AllocSize(key->lens_, key->size());
  key->~SeriesKey();
  KeyArena& arena = KeyArena::Get();
  if (arena.Owns(p)) {
    arena.Free(p, bytes);
  } else {
    ::operator delete(p);
  }
}

std::string SeriesKey::TagsKey() const {
  std::string out(tags());
  if (source_len() > 0) {
    out += ",s:";
    out += source();
  }
  return out;
}

}  // namespace cstatsd
