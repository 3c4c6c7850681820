// Shared body of the config-file fuzz targets (config_toml, config_yaml, config_json): the input
// is a config file's content, parsed by ParseConfigText exactly as LoadConfigFile parses what it
// read from disk. Traps unless the result is a table whose keys (at every depth) are lower case,
// or an error naming the file; the walk is iterative so that a deep document tests the loader,
// not this check.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "config/convert.h"
#include "config/file_loader.h"

namespace cstatsd::fuzz {

inline void Check(bool ok) {
  if (!ok) __builtin_trap();
}

inline int FuzzConfigText(const uint8_t* data, size_t size, config::internal::FileFormat format,
                          std::string_view name) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = config::internal::ParseConfigText(text, format, name);
  if (!parsed.ok()) {
    const std::string& message = parsed.error();
    Check(std::string_view(message).starts_with("config file " + std::string(name)));
    return 0;
  }
  Check(parsed->is_object());
  std::vector<const nlohmann::json*> todo{&*parsed};
  while (!todo.empty()) {
    const nlohmann::json* node = todo.back();
    todo.pop_back();
    if (node->is_object()) {
      for (const auto& [key, value] : node->items()) {
        Check(key == config::internal::Lower(key));
        todo.push_back(&value);
      }
    } else if (node->is_array()) {
      for (const auto& value : *node) todo.push_back(&value);
    }
  }
  return 0;
}

}  // namespace cstatsd::fuzz
