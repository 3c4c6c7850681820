// The null backend: accepts everything and does nothing (for benchmarks). docs/backends.md#null.
#pragma once

#include "backends/backend.h"

namespace cstatsd::backends::null {

class NullBackend : public Backend {
 public:
  static constexpr std::string_view kName = "null";
  static Result<std::unique_ptr<Backend>> Create(const BackendContext& ctx);

  std::string_view Name() const override { return kName; }
  Status SendMetrics(const snapshot::FlushSnapshot&) override { return {}; }
  Status SendEvent(const Event&) override { return {}; }
};

}  // namespace cstatsd::backends::null
