// JSON written as Go's encoding/json writes it, for the HTTP backends whose payloads must match
// gostatsd's byte for byte (datadog, newrelic): strings HTML-safe with invalid UTF-8 as U+FFFD,
// float64 in shortest form (exponent below 1e-6 and from 1e21). Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace cstatsd::backends {

void AppendJsonString(std::string& out, std::string_view s);
void AppendJsonFloat(std::string& out, double v);

}  // namespace cstatsd::backends
