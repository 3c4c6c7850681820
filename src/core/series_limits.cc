#include "core/series_limits.h"

#include <algorithm>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cstatsd {

uint64_t MetricNameHash(MetricType type, std::string_view name) {
  const uint64_t h = XXH3_64bits_withSeed(name.data(), name.size(), static_cast<uint64_t>(type));
  return h != 0 ? h : 1;
}

namespace {

uint64_t FirstNonZero(uint64_t a, uint64_t b) { return a != 0 ? a : b; }

}  // namespace

SeriesLimits::SeriesLimits(uint64_t max_series, uint64_t max_series_per_metric)
    : max_series_(max_series),
      max_series_per_metric_(max_series_per_metric),
      max_overflow_(max_series == 0 ? 0 : std::max<uint64_t>(1, max_series / 10)),
      map_new_while_full_(FirstNonZero(max_series_per_metric, max_series)),
      map_max_entries_(max_series) {}

bool SeriesLimits::NameFull(uint64_t name_hash) const {
  if (!any_name_full_.load(std::memory_order_relaxed)) return false;
  for (size_t pos = name_hash & (kSlots - 1);; pos = (pos + 1) & (kSlots - 1)) {
    const uint64_t h = names_[pos].load(std::memory_order_relaxed);
    if (h == name_hash) return true;
    if (h == 0) return false;
  }
}

void SeriesLimits::Publish(bool all_full, const std::vector<uint64_t>& full_names) {
  all_full_.store(all_full, std::memory_order_relaxed);
  std::vector<uint64_t> names(full_names);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.size() > kMaxPublishedNames) names.resize(kMaxPublishedNames);
  if (names == published_) return;
  any_name_full_.store(false, std::memory_order_relaxed);
  for (auto& slot : names_) slot.store(0, std::memory_order_relaxed);
  for (uint64_t h : names) {
    for (size_t pos = h & (kSlots - 1);; pos = (pos + 1) & (kSlots - 1)) {
      if (names_[pos].load(std::memory_order_relaxed) == 0) {
        names_[pos].store(h, std::memory_order_relaxed);
        break;
      }
    }
  }
  any_name_full_.store(!names.empty(), std::memory_order_relaxed);
  published_ = std::move(names);
}

}  // namespace cstatsd
