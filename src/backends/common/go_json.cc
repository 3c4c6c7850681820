#include "backends/common/go_json.h"

#include <cmath>

#include "core/go_format.h"
#include "core/log_escape.h"

namespace cstatsd::backends {

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  AppendGoJsonEscaped(s, out);
  out += '"';
}

void AppendJsonFloat(std::string& out, double v) {
  const double a = std::fabs(v);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    // Exponent form, with the exponent's leading zero dropped as encoding/json does (e-07 → e-7).
    const size_t start = out.size();
    AppendGoG(out, v);
    const size_t n = out.size() - start;
    if (n >= 4 && out[out.size() - 4] == 'e' && out[out.size() - 3] == '-' &&
        out[out.size() - 2] == '0') {
      out.erase(out.size() - 2, 1);
    }
    return;
  }
  AppendGoShortestFixed(out, v);
}

}  // namespace cstatsd::backends
