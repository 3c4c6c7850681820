// statsd_exporter's name escaping (docs/prometheus.md#names), one pass over the bytes.

#include "prometheus/naming.h"

namespace cstatsd::prometheus {
namespace {

bool IsWordChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

// Length of the UTF-8 character that starts at s[i], or 1 for a byte that starts none: each
// character, valid or not, becomes one '_' (statsd_exporter escapes characters, not bytes).
size_t CharLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // at most U+10FFFF
  } else {
    return 1;
  }
  if (i + n > s.size()) return 1;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) return 1;
  for (size_t k = 2; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xBF) return 1;
  }
  return n;
}

}  // namespace

void AppendEscapedMetricName(std::string_view name, std::string& out) {
  if (name.empty()) return;
  if (IsDigit(static_cast<unsigned char>(name[0]))) out.push_back('_');
  // Runs of valid bytes are appended in one piece; every other character becomes '_', except
  // that a '-' right after a '-' adds nothing ("a--b" → "a_b", as statsd_exporter).
  size_t run = 0;
  bool prev_dash = false;
  size_t i = 0;
  while (i < name.size()) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (IsWordChar(c)) {
      prev_dash = false;
      ++i;
      continue;
    }
    out.append(name.data() + run, i - run);
    const size_t len = CharLength(name, i);
    if (!(c == '-' && prev_dash)) out.push_back('_');
    prev_dash = c == '-';
    i += len;
    run = i;
  }
  out.append(name.data() + run, name.size() - run);
}

std::string EscapeMetricName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  AppendEscapedMetricName(name, out);
  return out;
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (IsWordChar(c) || c == ':') {
      if (i == 0 && IsDigit(c)) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (!IsWordChar(c) || (i == 0 && IsDigit(c))) return false;
  }
  return true;
}

}  // namespace cstatsd::prometheus
