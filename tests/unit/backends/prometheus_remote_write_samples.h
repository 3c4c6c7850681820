// Test helper of the prometheus-remote-write tests: the samples of an uncompressed WriteRequest
// as "name{label=value,...}" → value (labels in the order sent, without __name__). Header-only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prometheus_remote_write.pb.h"

namespace cstatsd::backends::prometheus_remote_write {

// Adds the samples of `body` to `out` (and their timestamps to `timestamps` when given).
inline void AddSamples(const std::string& body, std::map<std::string, double>& out,
                       std::vector<int64_t>* timestamps = nullptr) {
  ::prometheus::WriteRequest w;
  EXPECT_TRUE(w.ParseFromString(body));
  for (const auto& ts : w.timeseries()) {
    std::string name, labels;
    for (const auto& l : ts.labels()) {
      if (l.name() == "__name__") {
        name = l.value();
      } else {
        labels += (labels.empty() ? "" : ",") + l.name() + "=" + l.value();
      }
    }
    out[name + "{" + labels + "}"] = ts.samples(0).value();
    if (timestamps != nullptr) timestamps->push_back(ts.samples(0).timestamp());
  }
}

}  // namespace cstatsd::backends::prometheus_remote_write
