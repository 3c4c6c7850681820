#include "protocol/float_parse.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

namespace cstatsd::protocol {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool IsDigit(char c) { return static_cast<unsigned char>(c) - unsigned{'0'} <= 9; }

// Go's lower(): only used against lower-case letters, where `c | 0x20` has exactly two preimages.
char Lower(char c) { return static_cast<char>(c | 0x20); }

// Case-insensitive equality with a lower-case ASCII word.
bool EqualsWord(std::string_view s, std::string_view word) {
  if (s.size() != word.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (Lower(s[i]) != word[i]) return false;
  }
  return true;
}

// Go's special(): "inf" / "infinity" with an optional sign, "nan" without one; ParseFloat then
// requires the whole string to be consumed.
bool ParseSpecial(std::string_view s, double& out) {
  size_t k = 0;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    k = 1;
  }
  const std::string_view rest = s.substr(k);
  if (EqualsWord(rest, "inf") || EqualsWord(rest, "infinity")) {
    out = neg ? -kInf : kInf;
    return true;
  }
  if (k == 0 && EqualsWord(rest, "nan")) {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  return false;
}

// Go's underscoreOK: an underscore must sit between two digits, or between a base prefix and a
// digit. `s` is the whole literal (sign included).
bool UnderscoresOk(std::string_view s) {
  enum Saw { kStart, kDigit, kUnderscore, kOther };
  Saw saw = kStart;
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (Lower(s[1]) == 'b' || Lower(s[1]) == 'o' || Lower(s[1]) == 'x')) {
    i = 2;
    saw = kDigit;  // a base prefix counts as a digit
    hex = Lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (IsDigit(c) || (hex && Lower(c) >= 'a' && Lower(c) <= 'f')) {
      saw = kDigit;
      continue;
    }
    if (c == '_') {
      if (saw != kDigit) return false;
      saw = kUnderscore;
      continue;
    }
    if (saw == kUnderscore) return false;
    saw = kOther;
  }
  return saw != kUnderscore;
}

// Rounds mant * 2^exp2 (plus a sticky bit when non-zero digits were dropped) to the nearest
// double, ties to even, with subnormals; kRange when the result exceeds MaxFloat64.
FloatParseStatus HexToDouble(uint64_t mant, int64_t exp2, bool neg, bool sticky, double& out) {
  if (mant == 0) {
    out = neg ? -0.0 : 0.0;
    return FloatParseStatus::kOk;
  }
  const int lz = std::countl_zero(mant);
  mant <<= lz;
  exp2 -= lz;
  // Now mant is in [2^63, 2^64): the value lies in [2^e, 2^(e+1)).
  int64_t e = exp2 + 63;
  if (e > 1100) {  // far beyond the largest double; avoid needless arithmetic
    out = neg ? -kInf : kInf;
    return FloatParseStatus::kRange;
  }
  int64_t shift = 11;  // keep the top 53 bits of a normal number
  const bool subnormal = e < -1022;
  if (subnormal) shift += -1022 - e;
  uint64_t kept = 0;
  if (shift <= 64) {
    const uint64_t rem = shift == 64 ? mant : mant & ((uint64_t{1} << shift) - 1);
    kept = shift == 64 ? 0 : mant >> shift;
    const uint64_t half = uint64_t{1} << (shift - 1);
    if (rem > half || (rem == half && (sticky || (kept & 1) != 0))) ++kept;
  }  // else: below half the smallest subnormal, rounds to zero
  uint64_t bits = 0;
  if (subnormal) {
    bits = kept;  // a carry into bit 52 yields the smallest normal, as it should
  } else {
    if (kept == (uint64_t{1} << 53)) {
      kept >>= 1;
      ++e;
    }
    if (e > 1023) {
      out = neg ? -kInf : kInf;
      return FloatParseStatus::kRange;
    }
    bits = (static_cast<uint64_t>(e + 1023) << 52) | (kept & ((uint64_t{1} << 52) - 1));
  }
  if (neg) bits |= uint64_t{1} << 63;
  out = std::bit_cast<double>(bits);
  return FloatParseStatus::kOk;
}

}  // namespace

FloatParseStatus ParseGoFloatSlow(std::string_view s, double& out, std::string& scratch) {
  const size_t n = s.size();
  if (n == 0) return FloatParseStatus::kSyntax;
  if (ParseSpecial(s, out)) return FloatParseStatus::kOk;

  // Go's readFloat, followed by ParseFloat's "whole string consumed" check.
  size_t i = 0;
  bool neg = false;
  if (s[0] == '+') {
    i = 1;
  } else if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  const size_t body = i;  // first byte after the sign
  bool hex = false;
  if (i + 2 < n && s[i] == '0' && Lower(s[i + 1]) == 'x') {
    hex = true;
    i += 2;
  }
  const unsigned base = hex ? 16 : 10;
  const int64_t max_mant_digits = hex ? 16 : 19;
  bool underscores = false;
  bool saw_dot = false;
  bool saw_digits = false;
  int64_t nd = 0;       // significant digits seen (leading zeros excluded)
  int64_t nd_mant = 0;  // digits kept in mant
  int64_t dp = 0;       // position of the point, in digits relative to the first significant one
  uint64_t mant = 0;
  bool trunc = false;
  for (; i < n; ++i) {
    const char c = s[i];
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (c == '.') {
      if (saw_dot) break;
      saw_dot = true;
      dp = nd;
      continue;
    }
    unsigned digit = 0;
    if (IsDigit(c)) {
      digit = static_cast<unsigned>(c - '0');
      saw_digits = true;
      if (digit == 0 && nd == 0) {  // leading zero
        --dp;
        continue;
      }
    } else if (hex && Lower(c) >= 'a' && Lower(c) <= 'f') {
      digit = static_cast<unsigned>(Lower(c) - 'a' + 10);
      saw_digits = true;
    } else {
      break;
    }
    ++nd;
    if (nd_mant < max_mant_digits) {
      mant = mant * base + digit;
      ++nd_mant;
    } else if (digit != 0) {
      trunc = true;
    }
  }
  if (!saw_digits) return FloatParseStatus::kSyntax;
  if (!saw_dot) dp = nd;

  const size_t mant_end = i;
  int64_t exp = 0;
  bool has_exp = false;
  bool exp_capped = false;  // Go stops accumulating exponent digits once it reaches 10000
  const char exp_char = hex ? 'p' : 'e';
  if (i < n && Lower(s[i]) == exp_char) {
    has_exp = true;
    ++i;
    if (i >= n) return FloatParseStatus::kSyntax;
    int64_t sign = 1;
    if (s[i] == '+') {
      ++i;
    } else if (s[i] == '-') {
      ++i;
      sign = -1;
    }
    if (i >= n || !IsDigit(s[i])) return FloatParseStatus::kSyntax;
    for (; i < n && (IsDigit(s[i]) || s[i] == '_'); ++i) {
      if (s[i] == '_') {
        underscores = true;
        continue;
      }
      if (exp < 10000) {
        exp = exp * 10 + (s[i] - '0');
      } else {
        exp_capped = true;
      }
    }
    exp *= sign;
  } else if (hex) {
    return FloatParseStatus::kSyntax;  // a hex float must have a 'p' exponent
  }
  if (i != n) return FloatParseStatus::kSyntax;
  if (underscores && !UnderscoresOk(s)) return FloatParseStatus::kSyntax;

  if (hex) return HexToDouble(mant, 4 * (dp - nd_mant) + exp, neg, trunc, out);

  // Decimal: the scan has accepted exactly what std::from_chars's general format accepts, minus
  // the sign. Underscores are removed, and an exponent that Go truncated is rewritten with Go's
  // value, in scratch.
  std::string_view digits = s.substr(body);
  if (underscores || exp_capped) {
    scratch.clear();
    for (size_t j = body; j < mant_end; ++j) {
      if (s[j] != '_') scratch.push_back(s[j]);
    }
    if (has_exp) {
      char buf[24];
      buf[0] = 'e';
      const auto res = std::to_chars(buf + 1, buf + sizeof(buf), exp);
      scratch.append(buf, res.ptr);
    }
    digits = scratch;
  }
  double v = 0;
  const auto [ptr, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    // The value is 0.d1d2... x 10^(dp + exp): a positive decimal exponent means overflow (Go:
    // ±Inf and ErrRange), otherwise underflow (Go: signed zero, no error).
    if (dp + exp > 0) {
      out = neg ? -kInf : kInf;
      return FloatParseStatus::kRange;
    }
    out = neg ? -0.0 : 0.0;
    return FloatParseStatus::kOk;
  }
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return FloatParseStatus::kSyntax;  // cannot happen after the scan above; stay safe
  }
  out = neg ? -v : v;
  return FloatParseStatus::kOk;
}

}  // namespace cstatsd::protocol
