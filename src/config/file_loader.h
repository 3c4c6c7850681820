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

// What a config file may cost (config-max-bytes, config-max-depth, config-max-nodes): checked
// before or while parsing, so no file can exhaust the stack or memory.
struct FileLimits {
  size_t max_bytes = 16 << 20;
  int max_depth = 64;          // nesting of tables/objects/maps and arrays/sequences
  size_t max_nodes = 1000000;  // values, counted after YAML aliases are expanded
};

// The format for a path's extension (.toml, .yaml, .yml, .json; case-insensitive).
Result<FileFormat> FormatForPath(std::string_view path);

// Parses `text` as `format`; `name` (usually the path) prefixes every error message.
Result<nlohmann::json> ParseConfigText(std::string_view text, FileFormat format,
                                       std::string_view name, const FileLimits& limits = {});

// Reads (a regular file only, at most limits.max_bytes) and parses the file at `path`.
Result<nlohmann::json> LoadConfigFile(const std::string& path, const FileLimits& limits = {});

}  // namespace cstatsd::config::internal
