// Config file reading: toml++, yaml-cpp and nlohmann-json throw; every exception is caught here
// and turned into "config file <path>: line L, column C: <what the parser said>".

#include "config/file_loader.h"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "config/convert.h"

namespace cstatsd::config::internal {
namespace {

using nlohmann::json;

// Adds `value` under the lower-cased `key` (viper lower-cases every key it reads).
void Put(json& object, std::string_view key, json value) { object[Lower(key)] = std::move(value); }

// ---- TOML ----

json FromToml(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: {
      json out = json::object();
      for (auto&& [k, v] : *node.as_table()) Put(out, k.str(), FromToml(v));
      return out;
    }
    case toml::node_type::array: {
      json out = json::array();
      for (const toml::node& v : *node.as_array()) out.push_back(FromToml(v));
      return out;
    }
    case toml::node_type::string:
      return node.as_string()->get();
    case toml::node_type::integer:
      return node.as_integer()->get();
    case toml::node_type::floating_point:
      return node.as_floating_point()->get();
    case toml::node_type::boolean:
      return node.as_boolean()->get();
    case toml::node_type::date: {
      std::ostringstream s;
      s << *node.as_date();
      return s.str();
    }
    case toml::node_type::time: {
      std::ostringstream s;
      s << *node.as_time();
      return s.str();
    }
    case toml::node_type::date_time: {
      std::ostringstream s;
      s << *node.as_date_time();
      return s.str();
    }
    default:
      return nullptr;
  }
}

Result<json> ParseToml(std::string_view text, std::string_view name) {
  try {
    toml::table table = toml::parse(text, std::string(name));
    return FromToml(table);
  } catch (const toml::parse_error& e) {
    return Status::Error(fmt::format("config file {}: line {}, column {}: {}", name,
                                     e.source().begin.line, e.source().begin.column,
                                     e.description()));
  } catch (const std::exception& e) {
    return Status::Error(fmt::format("config file {}: {}", name, e.what()));
  }
}

// ---- YAML ----

bool IsYamlNull(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// [-+]?[0-9_]+ : go-yaml v3 reads these with strconv.ParseInt(s, 0, 64), so "010" is octal.
bool IsYamlIntLike(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool digit = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != '_') {
      return false;
    }
  }
  return digit;
}

// YAML 1.2 core-schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsYamlFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

// A plain (unquoted) scalar resolved as go-yaml v3 does for the types that matter here; quoted
// scalars and anything else stay strings.
json ResolvePlainScalar(const std::string& s) {
  if (IsYamlNull(s)) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  bool prefixed = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b');
  if (prefixed || IsYamlIntLike(s)) {
    auto v = ParseGoInt(s);
    if (v.ok()) return *v;
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -std::numeric_limits<double>::infinity();
  if (IsYamlFloat(s)) {
    auto v = ParseGoFloat(s);
    if (v.ok()) return *v;
  }
  return s;
}

Result<json> FromYaml(const YAML::Node& node, std::string_view name) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      if (node.Tag() == "?") return ResolvePlainScalar(node.Scalar());
      return json(node.Scalar());
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const YAML::Node& item : node) {
        auto v = FromYaml(item, name);
        if (!v.ok()) return v;
        out.push_back(std::move(*v));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return Status::Error(fmt::format("config file {}: line {}: a key must be a scalar", name,
                                           kv.first.Mark().line + 1));
        }
        auto v = FromYaml(kv.second, name);
        if (!v.ok()) return v;
        Put(out, kv.first.Scalar(), std::move(*v));
      }
      return out;
    }
  }
  return json(nullptr);
}

Result<json> ParseYaml(std::string_view text, std::string_view name) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return FromYaml(root, name);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return Status::Error(fmt::format("config file {}: {}", name, e.msg));
    return Status::Error(fmt::format("config file {}: line {}, column {}: {}", name,
                                     e.mark.line + 1, e.mark.column + 1, e.msg));
  } catch (const std::exception& e) {
    return Status::Error(fmt::format("config file {}: {}", name, e.what()));
  }
}

// ---- JSON ----

json LowerKeys(json node) {
  if (node.is_object()) {
    json out = json::object();
    for (auto& [k, v] : node.items()) Put(out, k, LowerKeys(std::move(v)));
    return out;
  }
  if (node.is_array()) {
    for (json& item : node) item = LowerKeys(std::move(item));
  }
  return node;
}

Result<json> ParseJson(std::string_view text, std::string_view name) {
  try {
    return LowerKeys(json::parse(text));
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> drop the id.
    std::string_view what = e.what();
    if (!what.empty() && what[0] == '[') {
      size_t close = what.find("] ");
      if (close != std::string_view::npos) what.remove_prefix(close + 2);
    }
    return Status::Error(fmt::format("config file {}: {}", name, what));
  }
}

}  // namespace

Result<FileFormat> FormatForPath(std::string_view path) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return Status::Error(
        fmt::format("config file {}: no file extension; use .toml, .yaml, .yml or .json", path));
  }
  std::string ext = Lower(path.substr(dot + 1));
  if (ext == "toml") return FileFormat::kToml;
  if (ext == "yaml" || ext == "yml") return FileFormat::kYaml;
  if (ext == "json") return FileFormat::kJson;
  return Status::Error(fmt::format(
      "config file {}: unsupported extension \".{}\"; use .toml, .yaml, .yml or .json", path, ext));
}

Result<json> ParseConfigText(std::string_view text, FileFormat format, std::string_view name) {
  Result<json> parsed = json(nullptr);
  switch (format) {
    case FileFormat::kToml:
      parsed = ParseToml(text, name);
      break;
    case FileFormat::kYaml:
      parsed = ParseYaml(text, name);
      break;
    case FileFormat::kJson:
      parsed = ParseJson(text, name);
      break;
  }
  if (!parsed.ok()) return parsed;
  if (parsed->is_null()) return json::object();  // an empty YAML document
  if (!parsed->is_object()) {
    return Status::Error(
        fmt::format("config file {}: the top level must be a table of keys, not {}", name,
                    JsonTypeName(*parsed)));
  }
  return parsed;
}

Result<json> LoadConfigFile(const std::string& path) {
  auto format = FormatForPath(path);
  if (!format.ok()) return format.status();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::Error(fmt::format("config file {}: is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Error(
        fmt::format("config file {}: cannot open: {}", path, std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return Status::Error(
        fmt::format("config file {}: cannot read: {}", path, std::strerror(errno)));
  }
  return ParseConfigText(content.str(), *format, path);
}

}  // namespace cstatsd::config::internal
