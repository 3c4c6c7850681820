#include "forward/shard_ring.h"

#include <xxhash.h>

namespace cstatsd::forward {

ShardRing::ShardRing(const std::vector<std::string>& urls)
    : ShardRing(urls, std::vector<bool>(urls.size(), true)) {}

ShardRing::ShardRing(const std::vector<std::string>& urls, const std::vector<bool>& take) {
  for (size_t i = 0; i < urls.size(); ++i) {
    if (i < take.size() && take[i]) {
      seeds_.push_back(Seed(urls[i]));
      ids_.push_back(static_cast<uint32_t>(i));
    }
  }
}

uint64_t ShardRing::Seed(std::string_view url) { return XXH3_64bits(url.data(), url.size()); }

}  // namespace cstatsd::forward
