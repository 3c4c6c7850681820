// Float parsing with the exact semantics of Go's strconv.ParseFloat(s, 64), which gostatsd uses
// for metric values and sample rates (docs/protocol.md#metric-lines). Pure functions; any thread
// may call them. Plain integers take an inline fast path; everything else is validated against Go's
// grammar and converted with std::from_chars (decimal) or an exact binary rounding routine (hex
// floats).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cstatsd::protocol {

enum class FloatParseStatus : uint8_t {
  kOk,      // `out` holds the value; as in Go it may be ±Inf ("inf") or NaN ("nan")
  kSyntax,  // not a Go float literal (Go's ErrSyntax)
  kRange,   // well formed but beyond ±MaxFloat64 after rounding (Go's ErrRange); out = ±Inf
};

// The general case of ParseGoFloat. `scratch` is only used for literals with digit underscores;
// it keeps its capacity, so repeated calls do not allocate.
FloatParseStatus ParseGoFloatSlow(std::string_view s, double& out, std::string& scratch);

// Parses `s` exactly as Go's strconv.ParseFloat(s, 64): optional sign, decimal with optional
// exponent, hex floats with a mandatory 'p' exponent (0x1p-2), "inf"/"infinity" with optional
// sign and "nan" in any case, digit underscores where Go's underscoreOK allows them (between
// digits, or after a base prefix). Underflow rounds to (signed) zero without error, as in Go.
inline FloatParseStatus ParseGoFloat(std::string_view s, double& out, std::string& scratch) {
  // Fast paths, both exact so they round as Go does:
  // * 1 to 19 plain digits (optionally after '-') fit in uint64, and the conversion to double
  //   rounds to nearest-even;
  // * up to 15 digits with one '.' form a mantissa below 2^53 and a power of ten up to 10^15,
  //   both exact doubles, so the one IEEE division is correctly rounded (Go's atof64exact).
  static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const char* p = s.data();
  const char* const end = p + s.size();
  const bool neg = p != end && *p == '-';
  p += neg ? 1 : 0;
  const size_t bytes = static_cast<size_t>(end - p);
  if (bytes - 1 < 19) {  // 1 <= bytes <= 19 (wraps when bytes == 0)
    uint64_t v = 0;
    const char* dot = nullptr;
    for (; p != end; ++p) {
      const unsigned digit = static_cast<unsigned char>(*p) - unsigned{'0'};
      if (digit <= 9) {
        v = v * 10 + digit;
      } else if (*p == '.' && dot == nullptr) {
        dot = p;
      } else {
        return ParseGoFloatSlow(s, out, scratch);
      }
    }
    double d = static_cast<double>(v);
    if (dot != nullptr) {
      if (bytes < 2 || bytes > 16) return ParseGoFloatSlow(s, out, scratch);
      d /= kPow10[end - dot - 1];
    }
    out = neg ? -d : d;
    return FloatParseStatus::kOk;
  }
  return ParseGoFloatSlow(s, out, scratch);
}

}  // namespace cstatsd::protocol
