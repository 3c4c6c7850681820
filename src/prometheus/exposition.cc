#include "prometheus/exposition.h"

#include <charconv>
#include <cmath>

#include "core/go_format.h"

namespace cstatsd::prometheus {
namespace {

constexpr std::string_view kTotal = "_total";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A whole number whose digits Go's 'g' writes without an exponent (|v| < 1e6) or, for counts, any
// whole number below 2^53: the common case, without to_chars' general path.
bool AppendWhole(double v, double limit, std::string& out) {
  if (!(std::fabs(v) < limit) || v != std::trunc(v)) return false;
  AppendInt(out, static_cast<int64_t>(v));
  return true;
}

}  // namespace

std::string_view FamilyTypeName(FamilyType t) {
  switch (t) {
    case FamilyType::kCounter:
      return "counter";
    case FamilyType::kGauge:
      return "gauge";
    case FamilyType::kHistogram:
      return "histogram";
    case FamilyType::kSummary:
      return "summary";
  }
  return "untyped";
}

std::string_view ContentType(Format f) {
  return f == Format::kOpenMetrics ? kOpenMetricsContentType : kTextContentType;
}

void AppendValue(Format f, double v, std::string& out) {
  if (v == 0) {  // -0 too, as Go's writer
    out += f == Format::kOpenMetrics ? "0.0" : "0";
    return;
  }
  if (AppendWhole(v, 1e6, out)) {
    if (f == Format::kOpenMetrics) out += ".0";
    return;
  }
  if (!std::isfinite(v)) {
    AppendGoG(out, v);
    return;
  }
  // Go's 'g' with the shortest digits, without AppendGoG's temporaries: the shortest scientific
  // form from to_chars, then fixed notation when the exponent is in [-4, 6).
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  const size_t e = sci.find('e');
  int exp = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp);
  std::string_view mantissa = sci.substr(0, e);
  const bool negative = mantissa.front() == '-';
  if (negative) mantissa.remove_prefix(1);
  if (exp < -4 || exp >= 6) {
    if (negative) out += '-';
    out += mantissa;
    out += exp < 0 ? "e-" : "e+";
    const int a = exp < 0 ? -exp : exp;
    if (a < 10) out += '0';
    AppendInt(out, a);
    return;  // has an 'e': OpenMetrics needs nothing more
  }
  // The significant digits without the point.
  char digits[24];
  size_t n = 0;
  for (const char c : mantissa) {
    if (c != '.') digits[n++] = c;
  }
  if (negative) out += '-';
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out.append(digits, n);
    return;
  }
  const size_t whole = static_cast<size_t>(exp) + 1;
  if (n <= whole) {
    out.append(digits, n);
    out.append(whole - n, '0');
    if (f == Format::kOpenMetrics) out += ".0";
    return;
  }
  out.append(digits, whole);
  out += '.';
  out.append(digits + whole, n - whole);
}

void AppendCount(Format f, double v, std::string& out) {
  if (v == 0) {
    out += '0';
    return;
  }
  if (AppendWhole(v, 9007199254740992.0, out)) return;
  AppendValue(f, v, out);
}

void AppendLabelValue(std::string_view v, std::string& out) {
  size_t from = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(v.substr(from, i - from));
    out += c == '\n' ? "\\n" : (c == '"' ? "\\\"" : "\\\\");
    from = i + 1;
  }
  out.append(v.substr(from));
}

std::string_view FamilyName(Format f, FamilyType t, std::string_view name) {
  if (f == Format::kOpenMetrics && t == FamilyType::kCounter && EndsWith(name, kTotal)) {
    return name.substr(0, name.size() - kTotal.size());
  }
  return name;
}

void AppendCounterSampleName(Format f, std::string_view name, std::string& out) {
  out += FamilyName(f, FamilyType::kCounter, name);
  if (f == Format::kOpenMetrics) out += kTotal;
}

void AppendHeader(Format f, FamilyType t, std::string_view name, std::string_view help,
                  std::string& out) {
  const std::string_view family = FamilyName(f, t, name);
  out += "# HELP ";
  out += family;
  out += ' ';
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && f == Format::kOpenMetrics) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  out += "\n# TYPE ";
  out += family;
  out += ' ';
  out += FamilyTypeName(t);
  out += '\n';
}

void AppendSampleStart(std::string_view name, std::string_view suffix, std::string_view labels,
                       std::string_view extra_name, std::string_view extra_value,
                       std::string& out) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_name.empty()) {
    out += '{';
    out += labels;
    if (!extra_name.empty()) {
      if (!labels.empty()) out += ',';
      out += extra_name;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

void AppendEnd(Format f, std::string& out) {
  if (f == Format::kOpenMetrics) out += "# EOF\n";
}

}  // namespace cstatsd::prometheus
