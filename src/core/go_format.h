// Go's number formats, which every backend's output must match to the byte (spec conventions):
// %f, %g, strconv.FormatFloat(x, 'f', -1) and %d. Append to a std::string; no locale; any thread.
#pragma once

#include <cstdint>
#include <string>

namespace cstatsd {

// %f: fixed, 6 decimals; "+Inf", "-Inf", "NaN".
void AppendGoF(std::string& out, double v);
// %g: shortest round-trip digits; exponent form iff the decimal exponent is < -4 or >= 6,
// written as e±dd ("1e+06", "1.234567e+06", "1e-05").
void AppendGoG(std::string& out, double v);
// strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent ("2.5", "5000").
void AppendGoShortestFixed(std::string& out, double v);
// %d
void AppendInt(std::string& out, int64_t v);
void AppendUint(std::string& out, uint64_t v);

}  // namespace cstatsd
