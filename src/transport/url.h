// URL query escaping as Go's url.QueryEscape (query strings, form bodies: HTTP backends, k8s):
// unreserved bytes kept, space as '+', everything else %XX. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace cstatsd::transport {

void AppendQueryEscaped(std::string& out, std::string_view s);

inline std::string QueryEscape(std::string_view s) {
  std::string out;
  AppendQueryEscaped(out, s);
  return out;
}

}  // namespace cstatsd::transport
