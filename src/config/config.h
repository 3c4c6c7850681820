// Loading the configuration as gostatsd does (docs/configuration.md#where-values-come-from):
// command-line flags > GSD_* environment variables > config file (TOML, YAML or JSON by extension)
// > defaults. Runs once on the main thread at startup; the resulting Config is read-only afterwards
// and may be shared.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/options.h"
#include "core/result.h"

namespace cstatsd::config {

using Environment = std::map<std::string, std::string, std::less<>>;

// The process environment as a map (only what Load needs: every variable).
Environment ProcessEnvironment();

// Parses a Go duration ("300ms", "1.5s", "5m", "1h2m", "-1ns", "0"). A bare number is
// nanoseconds (as viper reads it from a file or the environment) when allow_bare_number.
Result<Duration> ParseGoDuration(std::string_view text, bool allow_bare_number = true);

// Formats a duration the way Go prints it ("1s", "5m0s", "300ms", "0s").
std::string FormatGoDuration(Duration d);

// A section of the config file (e.g. [graphite], [http.main], [filter.x]) with the environment
// layered on top: key `k` of section `a.b` is overridden by GSD_A_B_K (upper case, '-' and '.'
// become '_'). Getters return the default when the key is absent; a value of the wrong type is
// an error naming "<section>.<key>".
class Section {
 public:
  Section(std::string path, const nlohmann::json* node, const Environment* env);

  const std::string& path() const { return path_; }
  bool exists() const { return node_ != nullptr; }  // present in the config file
  bool Has(std::string_view key) const;             // in the file or the environment
  std::vector<std::string> Keys() const;            // keys present in the file

  Result<std::string> GetString(std::string_view key, std::string_view def) const;
  Result<bool> GetBool(std::string_view key, bool def) const;
  Result<int64_t> GetInt(std::string_view key, int64_t def) const;
  Result<double> GetDouble(std::string_view key, double def) const;
  Result<Duration> GetDuration(std::string_view key, Duration def) const;
  // A list: a TOML/YAML/JSON array, or a string split on whitespace.
  Result<std::vector<std::string>> GetStringList(std::string_view key,
                                                 std::vector<std::string> def) const;
  // A table of string → string (e.g. custom-headers).
  Result<std::map<std::string, std::string>> GetStringMap(std::string_view key) const;
  // A nested section, e.g. Section("http").Sub("main").
  Section Sub(std::string_view name) const;

 private:
  std::string EnvName(std::string_view key) const;
  const nlohmann::json* Find(std::string_view key) const;
  const std::string* FindEnv(std::string_view key) const;

  std::string path_;
  const nlohmann::json* node_;
  const Environment* env_;
};

// Everything loaded at startup.
struct Config {
  Options options;
  nlohmann::json file = nlohmann::json::object();  // the config file as JSON ({} if none)
  Environment env;
  std::vector<std::string> warnings;  // e.g. unknown keys; logged by the caller

  // A top-level section of the file by name ("graphite", "http", "disabled-sub-metrics").
  Section GetSection(std::string_view name) const;
};

// Every top-level option with its value (durations in Go syntax, unset optional durations
// null), as /expvar shows the settings.
nlohmann::json OptionsAsJson(const Options& options);

// What an address option may hold.
enum class AddressKind {
  kListen,        // host:port or [v6]:port, port 0..65535 (0: any free port); host may be empty
  kListenOrPath,  // as kListen, or an absolute path (a unix socket)
  kDial,          // host:port or [v6]:port to connect to, port 1..65535
};

// Checks the syntax and the port of an address option; the message says what is wrong (the
// caller prefixes the key), e.g. `port 99999 is out of range; must be 0..65535`.
Status CheckAddress(std::string_view address, AddressKind kind);

// What Load decided.
struct LoadOutcome {
  Config config;
  bool exit_now = false;  // --help or --version: `message` printed to stdout, exit 0
  std::string message;
  bool check_only = false;  // --check-config: check the configuration, start nothing
};

// Parses argv, the environment and the config file. `program` names the binary in --help.
// Errors list every problem found, each naming the option (flag name or file key).
Result<LoadOutcome> Load(int argc, const char* const* argv, const Environment& env);

}  // namespace cstatsd::config
