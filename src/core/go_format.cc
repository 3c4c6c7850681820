#include "core/go_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cstatsd {
namespace {

bool AppendNonFinite(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return true;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return true;
  }
  return false;
}

}  // namespace

void AppendGoF(std::string& out, double v) {
  if (AppendNonFinite(out, v)) return;
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed, 6);
  out.append(buf, r.ptr);
}

void AppendGoShortestFixed(std::string& out, double v) {
  if (AppendNonFinite(out, v)) return;
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  out.append(buf, r.ptr);
}

void AppendGoG(std::string& out, double v) {
  if (AppendNonFinite(out, v)) return;
  if (v == 0) {
    out += std::signbit(v) ? "-0" : "0";
    return;
  }
  // Shortest digits in scientific form: [-]d[.ddd]e±XX
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  const size_t e = s.find('e');
  const int exp = std::atoi(std::string(s.substr(e + 1)).c_str());
  if (exp < -4 || exp >= 6) {
    out.append(s.substr(0, e));
    out += exp < 0 ? "e-" : "e+";
    const int a = exp < 0 ? -exp : exp;
    if (a < 10) out += '0';
    AppendInt(out, a);
    return;
  }
  AppendGoShortestFixed(out, v);
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

}  // namespace cstatsd
