// ShardRing: which aggregator a series goes to (docs/forwarder.md#sharding). Rendezvous
// (highest-random-weight) hashing: a series' score at an endpoint is a 64-bit mix of its key hash
// (SeriesKey::hash(), already computed when the series was received) and the endpoint's seed (a
// hash of its URL); the series goes to the endpoint with the highest score, and when that one
// leaves, to the next highest. Immutable once built; any thread may read it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cstatsd::forward {

class ShardRing {
 public:
  ShardRing() = default;
  // One member per URL; Choose answers the member's position in `urls`.
  explicit ShardRing(const std::vector<std::string>& urls);
  // Only the members whose `take[i]` is true (the healthy ones), still answered as positions in
  // `urls`.
  ShardRing(const std::vector<std::string>& urls, const std::vector<bool>& take);

  // The seed of an endpoint: XXH3 of its URL, so every forwarder configured with the same URLs
  // sends a series to the same aggregator.
  static uint64_t Seed(std::string_view url);
  // The series' weight at an endpoint (a bijective 64-bit mixer of hash ^ seed).
  static uint64_t Score(uint64_t key_hash, uint64_t seed) {
    uint64_t x = key_hash ^ seed;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
  }

  bool empty() const { return seeds_.empty(); }
  size_t size() const { return seeds_.size(); }

  // The position (in the URL list the ring was built from) of the member with the highest
  // score for `key_hash`. The ring must not be empty. Costs one mix per member, no allocation.
  uint32_t Choose(uint64_t key_hash) const {
    uint32_t best = ids_[0];
    uint64_t best_score = Score(key_hash, seeds_[0]);
    for (size_t i = 1; i < seeds_.size(); ++i) {
      const uint64_t s = Score(key_hash, seeds_[i]);
      if (s > best_score) {
        best_score = s;
        best = ids_[i];
      }
    }
    return best;
  }

 private:
  std::vector<uint64_t> seeds_;
  std::vector<uint32_t> ids_;
};

}  // namespace cstatsd::forward
