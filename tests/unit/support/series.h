// Test helpers shared by the unit tests: series keys built in one call. Header-only; tests
// include it as "unit/support/series.h".
#pragma once

#include <string_view>

#include "core/series_key.h"

namespace cstatsd::test {

// A series key of type `t` with its hash computed as the pipeline does.
inline SeriesKeyRef Key(MetricType t, std::string_view name, std::string_view tags = "",
                        std::string_view source = "") {
  return SeriesKeyRef::Adopt(
      SeriesKey::Create(t, name, tags, source, SeriesKey::Hash(t, name, tags, source)));
}

}  // namespace cstatsd::test
