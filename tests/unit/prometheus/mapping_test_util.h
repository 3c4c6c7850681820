// Helpers of the mapping tests: parse a mapping file that must be valid, and print a Mapping as
// `name{label="value",...}` (labels sorted, as an exposition shows them).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "prometheus/mapping.h"

namespace cstatsd::prometheus::testing {

inline MappingConfig MustParse(std::string_view yaml) {
  auto c = MappingConfig::Parse(yaml, "test.yml");
  if (!c.ok()) {
    ADD_FAILURE() << c.error();
    return MappingConfig();
  }
  return std::move(*c);
}

// The error of a file that must be refused ("" if it was accepted).
inline std::string ParseError(std::string_view yaml) {
  auto c = MappingConfig::Parse(yaml, "test.yml");
  return c.ok() ? std::string() : c.error();
}

inline std::string Series(const Mapping& m) {
  if (m.drop) return "(dropped)";
  auto labels = m.labels;
  std::sort(labels.begin(), labels.end());
  std::string out = m.name + "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].first + "=\"" + labels[i].second + "\"";
  }
  return out + "}";
}

inline std::string Resolve(const MappingConfig& c, std::string_view name,
                           StatsdKind kind = StatsdKind::kCounter) {
  return Series(c.Resolve(name, kind));
}

}  // namespace cstatsd::prometheus::testing
