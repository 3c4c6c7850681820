#include "core/series_key.h"

#include <cstdlib>
#include <new>

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

SeriesKey* SeriesKey::Create(const KeyParts& k, uint64_t hash) {
  void* mem = ::operator new(sizeof(SeriesKey) + k.bytes.size());
  auto* key = new (mem) SeriesKey();
  key->hash_ = hash;
  key->name_len_ = k.name_len;
  key->tags_len_ = k.tags_len;
  key->source_len_ = static_cast<uint32_t>(k.bytes.size() - k.name_len - k.tags_len);
  if (!k.bytes.empty())
    std::memcpy(reinterpret_cast<char*>(key + 1), k.bytes.data(), k.bytes.size());
  return key;
}

SeriesKey* SeriesKey::Copy(const SeriesKey& key) {
  void* mem = ::operator new(sizeof(SeriesKey) + key.size());
  auto* copy = new (mem) SeriesKey();
  copy->hash_ = key.hash_;
  copy->name_len_ = key.name_len_;
  copy->tags_len_ = key.tags_len_;
  copy->source_len_ = key.source_len_;
  if (key.size() != 0) std::memcpy(reinterpret_cast<char*>(copy + 1), key.data(), key.size());
  return copy;
}

void SeriesKey::Destroy(const SeriesKey* key) {
  key->~SeriesKey();
  ::operator delete(const_cast<SeriesKey*>(key));
}

std::string SeriesKey::TagsKey() const {
  std::string out(tags());
  if (source_len_ > 0) {
    out += ",s:";
    out += source();
  }
  return out;
}

}  // namespace cstatsd
