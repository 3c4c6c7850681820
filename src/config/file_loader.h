// Internal to config/: reads a TOML, YAML or JSON config file (chosen by extension) into one
// JSON tree with lower-cased keys (viper is case-insensitive). Called on the main thread at
// startup; the parsers' exceptions stop here and become messages naming the file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cstatsd::config::internal {

enum class FileFormat { kToml, kYaml, kJson };

// The format for a path's extension (.toml, .yaml, .yml, .json; case-insensitive).
Result<FileFormat> FormatForPath(std::string_view path);

// Parses `text` as `format`; `name` (usually the path) prefixes every error message.
Result<nlohmann::json> ParseConfigText(std::string_view text, FileFormat format,
                                       std::string_view name);

// Reads and parses the file at `path`.
Result<nlohmann::json> LoadConfigFile(const std::string& path);

}  // namespace cstatsd::config::internal
