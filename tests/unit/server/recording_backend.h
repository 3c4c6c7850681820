// RecordingBackend: a backend for the flusher's tests that keeps a copy of every snapshot it is
// given (on its runner's thread; read them from the test's thread once the runner stopped).
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "backends/backend.h"

namespace cstatsd::server::test {

class RecordingBackend : public backends::Backend {
 public:
  // `takes_timestamps`: what TakesTimestamps() answers (docs/aggregation.md#timestamped-samples).
  explicit RecordingBackend(bool takes_timestamps = false) : takes_(takes_timestamps) {}
  std::string_view Name() const override { return "recording"; }
  Status SendMetrics(const snapshot::FlushSnapshot& s) override {
    std::lock_guard lock(mu_);
    snapshots_.push_back(s);
    return {};
  }
  Status SendEvent(const Event&) override { return {}; }
  bool TakesTimestamps() const override { return takes_; }
  std::vector<snapshot::FlushSnapshot> snapshots() {
    std::lock_guard lock(mu_);
    return snapshots_;
  }

 private:
  const bool takes_;
  std::mutex mu_;
  std::vector<snapshot::FlushSnapshot> snapshots_;
};

}  // namespace cstatsd::server::test
