// Internal to config/: the table of top-level options (key = flag name = config-file key, the
// Options field it fills, one-line help), the command-line parser (pflag's rules, run through
// CLI11) and the --help text. Used by Load on the main thread.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/options.h"

namespace cstatsd::config::internal {

using Member =
    std::variant<std::string Options::*, bool Options::*, int Options::*, uint32_t Options::*,
                 double Options::*, Duration Options::*, std::optional<Duration> Options::*,
                 std::vector<std::string> Options::*, std::vector<double> Options::*>;

enum class Sources {
  kAll,         // flag, environment and config file
  kNoFlag,      // environment and config file only (as gostatsd: no flag)
  kFlagAndEnv,  // not read from the config file (config-path)
};

struct OptionDef {
  std::string_view key;  // flag name and config-file key
  Member member;         // the Options field
  Sources sources;
  std::string_view type;               // for --help: string, bool, int, float, duration, list
  std::string_view help;               // one line
  std::string_view default_text = {};  // shown instead of the value when it is not a constant
  static constexpr double kUnbounded = std::numeric_limits<double>::infinity();
  // The accepted values of a numeric or duration option, inclusive (durations in nanoseconds).
  // Every numeric option has one: Load refuses a value outside it with a message naming the key
  // and the range (docs/limits.md).
  struct Range {
    double min = -kUnbounded;
    double max = kUnbounded;
  } range = {};
};

// Every top-level option, in the order of Options.
const std::vector<OptionDef>& OptionDefs();
const OptionDef* FindOption(std::string_view key);

// Flags that are not options: they stop or steer Load.
inline constexpr std::string_view kHelpFlag = "help";
inline constexpr std::string_view kVersionFlag = "version";
inline constexpr std::string_view kProfileFlag = "profile";           // accepted, unsupported
inline constexpr std::string_view kCheckConfigFlag = "check-config";  // check, start nothing

struct CommandLine {
  std::map<std::string, std::string, std::less<>> values;  // flags set explicitly; last wins
  std::vector<std::string> positional;                     // ignored, as gostatsd does
};

// Parses argv as pflag would: `--name value`, `--name=value`, a boolean flag alone means true,
// `--` ends the flags. Problems are appended to `errors`, each naming the flag.
CommandLine ParseCommandLine(int argc, const char* const* argv, std::vector<std::string>& errors);

// The --help text: every option with its type, meaning and default (taken from `defaults`).
std::string HelpText(std::string_view program, const Options& defaults);

// A value as --help and the docs print it (durations in Go syntax, lists space-separated).
std::string FormatDefault(const OptionDef& def, const Options& options);

}  // namespace cstatsd::config::internal
