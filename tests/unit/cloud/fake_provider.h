// A cloud provider for tests: answers lookups from a table the test fills, records every batch
// it was asked, and can be told to fail. Thread-safe (the handler's lookup thread calls it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cloud/provider.h"

namespace cstatsd::testing {

class FakeProvider : public cloud::Provider {
 public:
  explicit FakeProvider(size_t max_batch = 32) : max_batch_(max_batch) {}

  std::string_view name() const override { return "fake"; }
  bool answers_lookups() const override { return true; }
  Status Start() override { return {}; }
  size_t max_batch() const override { return max_batch_; }

  std::vector<cloud::LookupAnswer> Lookup(const std::vector<std::string>& sources) override {
    std::lock_guard lock(mu_);
    batches_.push_back(sources);
    std::vector<cloud::LookupAnswer> out;
    for (const std::string& s : sources) {
      cloud::LookupAnswer a;
      if (fail_) {
        a.status = cloud::LookupStatus::kError;
      } else if (auto it = table_.find(s); it != table_.end()) {
        a.status = cloud::LookupStatus::kFound;
        a.instance = it->second;
      }
      out.push_back(a);
    }
    cv_.notify_all();
    return out;
  }

  void Set(const std::string& source, std::string id, std::vector<std::string> tags) {
    std::lock_guard lock(mu_);
    table_[source] =
        std::make_shared<const cloud::Instance>(cloud::Instance{std::move(id), std::move(tags)});
  }
  void Remove(const std::string& source) {
    std::lock_guard lock(mu_);
    table_.erase(source);
  }
  void Fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  std::vector<std::vector<std::string>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  // Waits (bounded) until at least n batches were asked; returns how many were.
  size_t WaitForBatches(size_t n, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return batches_.size() >= n; });
    return batches_.size();
  }

 private:
  const size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<const cloud::Instance>> table_;
  std::vector<std::vector<std::string>> batches_;
  bool fail_ = false;
};

}  // namespace cstatsd::testing
