// Internal to config/: turning one raw setting (a flag or environment string, or a node of the
// config file) into a typed value the way viper/cast and pflag do. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/options.h"
#include "core/result.h"

namespace cstatsd::config::internal {

// One setting as found in one source. Error messages from the To* functions describe the
// problem only ("invalid duration \"5x\": ..."); callers prefix the key and add `origin`.
struct RawValue {
  const nlohmann::json* node = nullptr;  // a config-file value, or null for text
  std::string text;                      // a flag or environment value when node is null
  bool from_flag = false;                // command line: durations need a unit (as pflag)
  std::string origin;                    // "--flush-interval", "GSD_FLUSH_INTERVAL", "file.toml"
};

Result<std::string> ToString(const RawValue& raw);
Result<bool> ToBool(const RawValue& raw);
Result<int64_t> ToInt(const RawValue& raw);
Result<double> ToDouble(const RawValue& raw);
Result<Duration> ToDuration(const RawValue& raw);
Result<std::vector<std::string>> ToStringList(const RawValue& raw);
Result<std::vector<double>> ToDoubleList(const RawValue& raw);

// strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
Result<bool> ParseGoBool(std::string_view text);
// strconv.ParseInt(s, 0, 64) after cast's trimming of a zero decimal part ("5.0" -> 5):
// 0x/0o/0b prefixes, a leading 0 means octal, '_' between digits.
Result<int64_t> ParseGoInt(std::string_view text);
// strconv.ParseFloat(s, 64): decimal or exponent form, inf, nan, optional sign.
Result<double> ParseGoFloat(std::string_view text);
// strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent.
std::string FormatGoFloat(double v);
// strings.Fields: split on runs of whitespace.
std::vector<std::string> SplitFields(std::string_view text);

// GSD_ + path upper-cased with '-' and '.' turned into '_' ("http.main.address" ->
// GSD_HTTP_MAIN_ADDRESS).
std::string EnvVarName(std::string_view dotted_key);
std::string Lower(std::string_view s);

// "a string", "an array", ... for type errors.
std::string_view JsonTypeName(const nlohmann::json& node);

}  // namespace cstatsd::config::internal
