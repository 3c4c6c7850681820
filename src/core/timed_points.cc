#include "core/timed_points.h"

#include <algorithm>
#include <cstring>

namespace cstatsd {

TimedPoints::Point* TimedPoints::Find(const KeyParts& parts, uint64_t series_hash,
                                      int64_t timestamp, uint64_t mixed) {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = mixed & mask;; i = (i + 1) & mask) {
    const uint32_t s = slots_[i];
    if (s == 0) return nullptr;
    Point& p = points_[s - 1];
    if (p.series_hash == series_hash && p.timestamp == timestamp && p.type == parts.type &&
        p.name_len == parts.name_len && p.tags_len == parts.tags_len &&
        p.key_len == parts.bytes.size() &&
        std::memcmp(keys_.data() + p.key_off, parts.bytes.data(), p.key_len) == 0) {
      return &p;
    }
  }
}

void TimedPoints::Rehash(size_t slots) {
  slots_.assign(slots, 0);
  const size_t mask = slots - 1;
  for (size_t n = 0; n < points_.size(); ++n) {
    const Point& p = points_[n];
    size_t i = Mix(p.series_hash, p.timestamp) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = static_cast<uint32_t>(n + 1);
  }
}

TimedPoints::Point* TimedPoints::Insert(const KeyParts& parts, uint64_t series_hash,
                                        int64_t timestamp, uint64_t mixed) {
  if (points_.size() >= max_points_) return nullptr;
  // At most half full; the table only grows, so a warm structure does not allocate.
  if ((points_.size() + 1) * 2 > slots_.size()) {
    Rehash(slots_.empty() ? 64 : slots_.size() * 2);
  }
  const size_t len = parts.bytes.size();
  if (keys_len_ + len > keys_.size()) keys_.resize(std::max(keys_len_ + len, keys_.size() * 2));
  if (len > 0) std::memcpy(keys_.data() + keys_len_, parts.bytes.data(), len);
  Point p{};
  p.series_hash = series_hash;
  p.timestamp = timestamp;
  p.last_ns = INT64_MIN;
  p.key_off = static_cast<uint32_t>(keys_len_);
  p.key_len = static_cast<uint32_t>(len);
  p.name_len = parts.name_len;
  p.tags_len = parts.tags_len;
  p.type = parts.type;
  keys_len_ += len;
  points_.push_back(p);
  const size_t mask = slots_.size() - 1;
  size_t i = mixed & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = static_cast<uint32_t>(points_.size());
  return &points_.back();
}

void TimedPoints::Add(const KeyParts& parts, uint64_t series_hash, int64_t timestamp, int64_t count,
                      double value, int64_t now_ns) {
  if (!InWindow(timestamp, now_ns)) {
    ++dropped_window_;
    return;
  }
  const uint64_t mixed = Mix(series_hash, timestamp);
  Point* p = Find(parts, series_hash, timestamp, mixed);
  if (p == nullptr) p = Insert(parts, series_hash, timestamp, mixed);
  if (p == nullptr) {
    ++dropped_full_;
    return;
  }
  if (parts.type == MetricType::kCounter) {
    p->count = SaturatingAdd(p->count, count);
    if (now_ns > p->last_ns) p->last_ns = now_ns;
  } else if (now_ns >= p->last_ns) {
    p->value = value;
    p->last_ns = now_ns;
  }
}

void TimedPoints::MergePoint(const Point& o, const KeyParts& parts, uint64_t hash) {
  const uint64_t mixed = Mix(hash, o.timestamp);
  Point* p = Find(parts, hash, o.timestamp, mixed);
  if (p == nullptr) p = Insert(parts, hash, o.timestamp, mixed);
  if (p == nullptr) {
    ++dropped_full_;
    return;
  }
  if (o.type == MetricType::kCounter) {
    p->count = SaturatingAdd(p->count, o.count);
    if (o.last_ns > p->last_ns) p->last_ns = o.last_ns;
  } else if (o.last_ns >= p->last_ns) {
    p->value = o.value;
    p->last_ns = o.last_ns;
  }
}

void TimedPoints::Clear() {
  if (points_.empty()) return;
  points_.clear();
  keys_len_ = 0;
  std::fill(slots_.begin(), slots_.end(), 0);
}

}  // namespace cstatsd
