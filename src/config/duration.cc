// Go's time.ParseDuration and Duration.String, reproduced digit for digit so that durations in
// gostatsd config files, flags and logs read and print the same way in cstatsd.

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"

namespace cstatsd::config {
namespace {

constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;  // |math.MinInt64|

struct Unit {
  std::string_view name;
  uint64_t nanos;
};

// Go's unitMap, including both spellings of micro (U+00B5 and U+03BC).
constexpr std::array<Unit, 8> kUnits = {{
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // µs, micro sign
    {"\xCE\xBCs", 1'000},  // μs, Greek mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status Invalid(std::string_view orig, std::string_view why) {
  return Status::Error(fmt::format("invalid duration \"{}\": {}", orig, why));
}

// Consumes [0-9]*; false on overflow.
bool LeadingInt(std::string_view& s, uint64_t& x) {
  x = 0;
  size_t i = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (x > kMaxMagnitude / 10) return false;
    x = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (x > kMaxMagnitude) return false;
  }
  s.remove_prefix(i);
  return true;
}

// Consumes [0-9]* after a '.', returning the digits that fit and their scale (10^n).
void LeadingFraction(std::string_view& s, uint64_t& x, double& scale) {
  x = 0;
  scale = 1;
  bool overflow = false;
  size_t i = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (overflow) continue;
    if (x > (kMaxMagnitude - 1) / 10) {
      overflow = true;
      continue;
    }
    uint64_t y = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (y > kMaxMagnitude) {
      overflow = true;
      continue;
    }
    x = y;
    scale *= 10;
  }
  s.remove_prefix(i);
}

bool IsBareNumber(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool digits = false;
  bool dot = false;
  for (char c : s) {
    if (IsDigit(c)) {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits;
}

// fmtFrac: the fraction of v/10^prec without trailing zeros (and without '.' when it is zero),
// prepended to out; returns v/10^prec.
uint64_t PrependFraction(std::string& out, uint64_t v, int prec) {
  bool print = false;
  std::string digits;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) out.insert(0, "." + digits);
  return v;
}

void PrependInt(std::string& out, uint64_t v) { out.insert(0, std::to_string(v)); }

}  // namespace

Result<Duration> ParseGoDuration(std::string_view text, bool allow_bare_number) {
  const std::string_view orig = text;
  if (allow_bare_number && IsBareNumber(text)) {
    // viper/cast: a string without a unit is read as nanoseconds ("1.5" -> 1ns).
    std::string with_unit(text);
    with_unit += "ns";
    auto parsed = ParseGoDuration(with_unit, false);
    if (!parsed.ok()) return Invalid(orig, "out of range");
    return parsed;
  }
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return Invalid(orig, "empty");

  uint64_t d = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || IsDigit(s[0]))) return Invalid(orig, "expected a number");
    size_t before = s.size();
    uint64_t v = 0;
    if (!LeadingInt(s, v)) return Invalid(orig, "out of range");
    bool pre = before != s.size();
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t len = s.size();
      LeadingFraction(s, f, scale);
      post = len != s.size();
    }
    if (!pre && !post) return Invalid(orig, "expected a number");

    size_t i = 0;
    while (i < s.size() && !(s[i] == '.' || IsDigit(s[i]))) ++i;
    if (i == 0) {
      return allow_bare_number || !IsBareNumber(orig)
                 ? Invalid(orig, "missing unit")
                 : Invalid(orig,
                           "missing unit (use ns, us, ms, s, m or h; a bare number is allowed only "
                           "in a config file or the environment, where it means nanoseconds)");
    }
    std::string_view unit_name = s.substr(0, i);
    s.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit_name) unit = &u;
    }
    if (unit == nullptr) {
      return Invalid(orig,
                     fmt::format("unknown unit \"{}\" (use ns, us, ms, s, m or h)", unit_name));
    }
    if (v > kMaxMagnitude / unit->nanos) return Invalid(orig, "out of range");
    v *= unit->nanos;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) *
                                 (static_cast<double>(unit->nanos) / scale));
      if (v > kMaxMagnitude) return Invalid(orig, "out of range");
    }
    d += v;
    if (d > kMaxMagnitude) return Invalid(orig, "out of range");
  }
  if (neg) return Duration{static_cast<int64_t>(~d + 1)};  // two's complement, -2^63 included
  if (d > kMaxMagnitude - 1) return Invalid(orig, "out of range");
  return Duration{static_cast<int64_t>(d)};
}

std::string FormatGoDuration(Duration dur) {
  const int64_t n = dur.count();
  const bool neg = n < 0;
  uint64_t u = neg ? ~static_cast<uint64_t>(n) + 1 : static_cast<uint64_t>(n);
  std::string out;
  if (u < 1'000'000'000) {
    int prec = 0;
    if (u == 0) return "0s";
    if (u < 1'000) {
      out = "ns";
      prec = 0;
    } else if (u < 1'000'000) {
      out = "\xC2\xB5s";  // Go prints the micro sign
      prec = 3;
    } else {
      out = "ms";
      prec = 6;
    }
    u = PrependFraction(out, u, prec);
    PrependInt(out, u);
  } else {
    out = "s";
    u = PrependFraction(out, u, 9);
    PrependInt(out, u % 60);
    u /= 60;
    if (u > 0) {
      out.insert(0, "m");
      PrependInt(out, u % 60);
      u /= 60;
      if (u > 0) {
        out.insert(0, "h");
        PrependInt(out, u);
      }
    }
  }
  if (neg) out.insert(0, "-");
  return out;
}

}  // namespace cstatsd::config
