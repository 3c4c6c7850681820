// TopK: the k greatest items offered, by a strict weak order `Less`, kept in a min-heap of k
// (docs/status-page.md#top-lists). Offering is O(log k) and allocates nothing once the heap is
// reserved, so the flusher thread runs it over every series of a flush. One owning thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

namespace cstatsd::server {

template <typename T, typename Less = std::less<T>>
class TopK {
 public:
  explicit TopK(size_t k, Less less = Less()) : k_(k), greater_{std::move(less)} {
    heap_.reserve(k);
  }

  void Clear() { heap_.clear(); }
  size_t size() const { return heap_.size(); }
  size_t capacity() const { return k_; }

  // Keeps `item` if fewer than k are held or it is greater than the least held (which it
  // replaces). An item equal to the least held is not taken: the first offered stays.
  void Offer(const T& item) {
    if (k_ == 0) return;
    if (heap_.size() < k_) {
      heap_.push_back(item);
      std::push_heap(heap_.begin(), heap_.end(), greater_);
      return;
    }
    if (!greater_.less(heap_.front(), item)) return;
    std::pop_heap(heap_.begin(), heap_.end(), greater_);
    heap_.back() = item;
    std::push_heap(heap_.begin(), heap_.end(), greater_);
  }

  // The items held, greatest first. Ends the round: Clear() before offering again.
  const std::vector<T>& Sorted() {
    std::sort_heap(heap_.begin(), heap_.end(), greater_);
    return heap_;
  }

 private:
  // The heap's order: the least item on top.
  struct Greater {
    Less less;
    bool operator()(const T& a, const T& b) const { return less(b, a); }
  };

  size_t k_;
  Greater greater_;
  std::vector<T> heap_;
};

}  // namespace cstatsd::server
