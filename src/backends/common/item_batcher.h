// ItemBatcher: JSON items joined by commas into bodies of at most `per_batch` items, each body
// `prefix` + items + `suffix` (the datadog and newrelic payloads). Owned by one Format call on
// the backend thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace cstatsd::backends {

// Receives one finished body and how many metrics it holds.
using BatchFn = std::function<void(std::string&& body, size_t metrics)>;

class ItemBatcher {
 public:
  ItemBatcher(size_t per_batch, std::string prefix, std::string suffix, const BatchFn& emit)
      : per_batch_(per_batch),
        prefix_(std::move(prefix)),
        suffix_(std::move(suffix)),
        emit_(emit) {}

  // The buffer to append the next item to (the separator is already written); counts the item.
  std::string& Next() {
    body_ += count_ == 0 ? std::string_view(prefix_) : std::string_view(",");
    ++count_;
    ++total_;
    return body_;
  }

  // After each series' group, as gostatsd: a body is sent before it could outgrow the limit
  // (a group adds at most 20 items).
  void MaybeEmit() {
    if (count_ + 20 >= per_batch_) Emit();
  }

  // Sends what is left; returns the number of items over all bodies.
  size_t Finish() {
    if (count_ > 0) Emit();
    return total_;
  }

 private:
  void Emit() {
    body_ += suffix_;
    emit_(std::move(body_), count_);
    body_.clear();
    count_ = 0;
  }

  size_t per_batch_;
  std::string prefix_, suffix_;
  const BatchFn& emit_;
  std::string body_;
  size_t count_ = 0;
  size_t total_ = 0;
};

}  // namespace cstatsd::backends
