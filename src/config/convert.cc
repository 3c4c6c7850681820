// Conversions of raw settings to typed values (see convert.h), following viper/cast for config
// file and environment values and pflag for command-line values.

#include "config/convert.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "config/config.h"

namespace cstatsd::config::internal {
namespace {

using nlohmann::json;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// cast.trimZeroDecimal: "5.0" -> "5", "5.00" -> "5"; anything else unchanged.
std::string_view TrimZeroDecimal(std::string_view s) {
  bool found_zero = false;
  for (size_t i = s.size(); i > 0; --i) {
    char c = s[i - 1];
    if (c == '.') {
      if (found_zero) return s.substr(0, i - 1);
      return s;
    }
    if (c != '0') return s;
    found_zero = true;
  }
  return s;
}

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

Status Wrong(const json& node, std::string_view expected) {
  return Status::Error(fmt::format("expected {}, got {}", expected, JsonTypeName(node)));
}

// A scalar file value as text, the way cast.ToString prints it.
Result<std::string> ScalarText(const json& node) {
  switch (node.type()) {
    case json::value_t::string:
      return node.get<std::string>();
    case json::value_t::boolean:
      return std::string(node.get<bool>() ? "true" : "false");
    case json::value_t::number_integer:
      return std::to_string(node.get<int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(node.get<uint64_t>());
    case json::value_t::number_float:
      return FormatGoFloat(node.get<double>());
    case json::value_t::null:
      return std::string();
    default:
      return Wrong(node, "a string");
  }
}

}  // namespace

std::string_view JsonTypeName(const json& node) {
  switch (node.type()) {
    case json::value_t::null:
      return "an empty value";
    case json::value_t::object:
      return "a table";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

Result<bool> ParseGoBool(std::string_view t) {
  if (t == "1" || t == "t" || t == "T" || t == "TRUE" || t == "true" || t == "True") return true;
  if (t == "0" || t == "f" || t == "F" || t == "FALSE" || t == "false" || t == "False") {
    return false;
  }
  return Status::Error(fmt::format("invalid boolean \"{}\" (use true or false)", t));
}

Result<int64_t> ParseGoInt(std::string_view text) {
  const auto invalid = [&] { return Status::Error(fmt::format("invalid integer \"{}\"", text)); };
  std::string_view s = TrimZeroDecimal(text);
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return invalid();
  int base = 10;
  bool prefixed = false;
  if (s.size() >= 2 && s[0] == '0') {
    char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])));
    if (p == 'x' || p == 'o' || p == 'b') {
      base = p == 'x' ? 16 : (p == 'o' ? 8 : 2);
      s.remove_prefix(2);
      prefixed = true;
    } else {
      base = 8;  // Go: a leading "0" means octal
      s.remove_prefix(1);
    }
  }
  // Underscores may only separate digits (or follow a base prefix), as in Go literals.
  std::string digits;
  bool last_digit = prefixed;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      if (!last_digit || i + 1 == s.size()) return invalid();
      last_digit = false;
      continue;
    }
    if (DigitValue(c) >= base) return invalid();
    digits.push_back(c);
    last_digit = true;
  }
  if (digits.empty()) {
    if (base == 8 && !prefixed) return int64_t{0};  // "0"
    return invalid();
  }
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (ec == std::errc::result_out_of_range || magnitude > limit) {
    return Status::Error(fmt::format("integer \"{}\" is out of range", text));
  }
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return invalid();
  return neg ? static_cast<int64_t>(~magnitude + 1) : static_cast<int64_t>(magnitude);
}

Result<double> ParseGoFloat(std::string_view text) {
  std::string_view s = text;
  bool plus = !s.empty() && s[0] == '+';
  if (plus) s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec == std::errc::invalid_argument || ptr != s.data() + s.size() ||
      (plus && !s.empty() && s[0] == '-')) {
    return Status::Error(fmt::format("invalid number \"{}\"", text));
  }
  if (ec == std::errc::result_out_of_range) {
    return Status::Error(fmt::format("number \"{}\" is out of range", text));
  }
  return v;
}

std::string FormatGoFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  if (ec != std::errc()) return fmt::format("{}", v);
  return std::string(buf, ptr);
}

std::vector<std::string> SplitFields(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::string EnvVarName(std::string_view dotted_key) {
  std::string out = "GSD_";
  for (char c : dotted_key) {
    if (c == '-' || c == '.') {
      out.push_back('_');
    } else {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<std::string> ToString(const RawValue& raw) {
  if (raw.node == nullptr) return raw.text;
  return ScalarText(*raw.node);
}

Result<bool> ToBool(const RawValue& raw) {
  if (raw.node == nullptr) return ParseGoBool(raw.text);
  const json& n = *raw.node;
  switch (n.type()) {
    case json::value_t::boolean:
      return n.get<bool>();
    case json::value_t::string:
      return ParseGoBool(n.get_ref<const std::string&>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return n.get<int64_t>() != 0;  // cast.ToBool: any non-zero number is true
    case json::value_t::number_float:
      return n.get<double>() != 0;
    case json::value_t::null:
      return false;
    default:
      return Wrong(n, "a boolean");
  }
}

Result<int64_t> ToInt(const RawValue& raw) {
  if (raw.node == nullptr) return ParseGoInt(raw.text);
  const json& n = *raw.node;
  switch (n.type()) {
    case json::value_t::number_integer:
      return n.get<int64_t>();
    case json::value_t::number_unsigned: {
      uint64_t u = n.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Status::Error(fmt::format("integer {} is out of range", u));
      }
      return static_cast<int64_t>(u);
    }
    case json::value_t::number_float: {
      double d = n.get<double>();
      if (std::trunc(d) != d || d < -9.2e18 || d > 9.2e18) {
        return Status::Error(fmt::format("invalid integer {}", FormatGoFloat(d)));
      }
      return static_cast<int64_t>(d);
    }
    case json::value_t::string:
      return ParseGoInt(n.get_ref<const std::string&>());
    case json::value_t::null:
      return int64_t{0};
    default:
      return Wrong(n, "an integer");
  }
}

Result<double> ToDouble(const RawValue& raw) {
  if (raw.node == nullptr) return ParseGoFloat(raw.text);
  const json& n = *raw.node;
  if (n.is_number()) return n.get<double>();
  if (n.is_string()) return ParseGoFloat(n.get_ref<const std::string&>());
  if (n.is_null()) return 0.0;
  return Wrong(n, "a number");
}

Result<Duration> ToDuration(const RawValue& raw) {
  if (raw.node == nullptr) return ParseGoDuration(raw.text, !raw.from_flag);
  const json& n = *raw.node;
  switch (n.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return Duration{n.get<int64_t>()};  // a bare number is nanoseconds
    case json::value_t::number_float: {
      double d = n.get<double>();
      if (!(std::fabs(d) < 9.2e18)) {
        return Status::Error(fmt::format("duration {} is out of range", FormatGoFloat(d)));
      }
      return Duration{static_cast<int64_t>(d)};
    }
    case json::value_t::string:
      return ParseGoDuration(n.get_ref<const std::string&>(), true);
    case json::value_t::null:
      return Duration{0};
    default:
      return Wrong(n, "a duration");
  }
}

Result<std::vector<std::string>> ToStringList(const RawValue& raw) {
  if (raw.node == nullptr) return SplitFields(raw.text);
  const json& n = *raw.node;
  if (n.is_string()) return SplitFields(n.get_ref<const std::string&>());
  if (n.is_null()) return std::vector<std::string>{};
  if (n.is_array()) {
    std::vector<std::string> out;
    for (const json& item : n) {
      if (item.is_array() || item.is_object()) {
        return Status::Error(fmt::format("list items must be strings, got {}", JsonTypeName(item)));
      }
      auto text = ScalarText(item);
      if (!text.ok()) return text.status();
      out.push_back(std::move(*text));
    }
    return out;
  }
  if (n.is_number() || n.is_boolean()) {
    auto text = ScalarText(n);
    return std::vector<std::string>{*text};
  }
  return Wrong(n, "a list (an array or a space-separated string)");
}

Result<std::vector<double>> ToDoubleList(const RawValue& raw) {
  std::vector<double> out;
  if (raw.node != nullptr && raw.node->is_array()) {
    for (const json& item : *raw.node) {
      RawValue one;
      one.node = &item;
      if (item.is_array() || item.is_object() || item.is_boolean() || item.is_null()) {
        return Wrong(item, "a number");
      }
      auto v = ToDouble(one);
      if (!v.ok()) return v.status();
      out.push_back(*v);
    }
    return out;
  }
  if (raw.node != nullptr && raw.node->is_number())
    return std::vector<double>{raw.node->get<double>()};
  auto words = ToStringList(raw);
  if (!words.ok()) return words.status();
  for (const std::string& w : *words) {
    auto v = ParseGoFloat(w);
    if (!v.ok()) return v.status();
    out.push_back(*v);
  }
  return out;
}

}  // namespace cstatsd::config::internal
