#include "core/series_key.h"

#include <cstdlib>
#include <new>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cstatsd {

uint64_t SeriesKey::Hash(MetricType type, std::string_view name, std::string_view tags,
                         std::string_view source) {
  // Chained seeds: lengths and type go into the first seed so ("ab","c") and ("a","bc") differ.
  const uint64_t seed = static_cast<uint64_t>(type) | (static_cast<uint64_t>(name.size()) << 8) |
                        (static_cast<uint64_t>(tags.size()) << 32);
  uint64_t h = XXH3_64bits_withSeed(name.data(), name.size(), seed);
  h = XXH3_64bits_withSeed(tags.data(), tags.size(), h ^ source.size());
  if (!source.empty()) h = XXH3_64bits_withSeed(source.data(), source.size(), h);
  return h;
}

SeriesKey* SeriesKey::Create(MetricType type, std::string_view name, std::string_view tags,
                             std::string_view source, uint64_t hash) {
  const size_t bytes = name.size() + tags.size() + source.size();
  void* mem = ::operator new(sizeof(SeriesKey) + bytes);
  auto* key = new (mem) SeriesKey();
  key->hash_ = hash;
  key->type_ = type;
  key->name_len_ = static_cast<uint32_t>(name.size());
  key->tags_len_ = static_cast<uint32_t>(tags.size());
  key->source_len_ = static_cast<uint32_t>(source.size());
  char* out = reinterpret_cast<char*>(key + 1);
  if (!name.empty()) std::memcpy(out, name.data(), name.size());
  if (!tags.empty()) std::memcpy(out + name.size(), tags.data(), tags.size());
  if (!source.empty()) std::memcpy(out + name.size() + tags.size(), source.data(), source.size());
  return key;
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
