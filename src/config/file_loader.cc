// Config file reading: toml++, yaml-cpp and nlohmann-json throw; every exception is caught here
// and turned into "config file <path>: line L, column C: <what the parser said>".

#include "config/file_loader.h"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>
#include <vector>

#include "config/convert.h"
#include "core/file_read.h"

namespace cstatsd::config::internal {
namespace {

using nlohmann::json;

// Adds `value` under the lower-cased `key` (viper lower-cases every key it reads).
void Put(json& object, std::string_view key, json value) { object[Lower(key)] = std::move(value); }

// Counts values and nesting while a parsed tree is converted, and stops at the limits before
// recursing further (so neither the stack nor YAML aliases, which repeat a node wherever they
// appear, can make the conversion unbounded).
class Budget {
 public:
  Budget(const FileLimits& limits, std::string_view name) : limits_(limits), name_(name) {}

  // False (with `error` set) when one more value at `depth` is over a limit.
  bool Take(int depth, int line) {
    if (!error_.empty()) return false;
    if (depth > limits_.max_depth) {
      error_ = fmt::format("config file {}: {}nested deeper than {} levels (config-max-depth)",
                           name_, LineText(line), limits_.max_depth);
      return false;
    }
    if (++nodes_ > limits_.max_nodes) {
      error_ = fmt::format(
          "config file {}: {}more than {} values (config-max-nodes; YAML aliases count each time "
          "they are used)",
          name_, LineText(line), limits_.max_nodes);
      return false;
    }
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  static std::string LineText(int line) {
    return line > 0 ? fmt::format("line {}: ", line) : std::string();
  }
  const FileLimits& limits_;
  std::string_view name_;
  size_t nodes_ = 0;
  std::string error_;
};

// ---- TOML ----

int TomlLine(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

json FromToml(const toml::node& node, Budget& budget, int depth) {
  if (!budget.Take(depth, TomlLine(node))) return nullptr;
  switch (node.type()) {
    case toml::node_type::table: {
      json out = json::object();
      for (auto&& [k, v] : *node.as_table()) {
        Put(out, k.str(), FromToml(v, budget, depth + 1));
        if (!budget.error().empty()) break;
      }
      return out;
    }
    case toml::node_type::array: {
      json out = json::array();
      for (const toml::node& v : *node.as_array()) {
        out.push_back(FromToml(v, budget, depth + 1));
        if (!budget.error().empty()) break;
      }
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

// toml++ builds a table per segment of a dotted key (`a.b.c = 1`, `[a.b.c]`) and recurses over
// them (50,000 segments were a SIGSEGV): the nesting a key reaches — its table header's segments,
// the enclosing inline tables and arrays, its own segments — is measured on the text first.
// Strings and comments are skipped; values are only scanned for brackets.
Status CheckTomlDepth(std::string_view text, std::string_view name, int max_depth) {
  struct Frame {
    char kind;  // '{' inline table, '[' array
    int depth;
  };
  std::vector<Frame> stack;
  int header_depth = 0;  // segments of the current [table] / [[array]] header
  int line = 1;
  bool in_key = true;  // reading a key (line start, after '{' or ',' in an inline table)
  int segments = 1;
  size_t i = 0;
  auto base = [&] { return stack.empty() ? header_depth : stack.back().depth; };
  auto too_deep = [&] {
    return Status::Error(
        fmt::format("config file {}: line {}: nested deeper than {} levels (config-max-depth)",
                    name, line, max_depth));
  };
  auto skip_string = [&](char quote) {
    const std::string triple(3, quote);
    const bool multi = text.substr(i, 3) == triple;
    i += multi ? 3 : 1;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '\n') {
        ++line;
        if (!multi) return;  // unterminated: the parser reports it
      }
      if (c == '\\' && quote == '"') {
        i += 2;
        continue;
      }
      if (c == quote && (!multi || text.substr(i, 3) == triple)) {
        i += multi ? 3 : 1;
        while (multi && i < text.size() && text[i] == quote) ++i;  // up to two more quotes
        return;
      }
      ++i;
    }
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      skip_string(c);
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '\n') {
      ++line;
      if (stack.empty()) {
        in_key = true;
        segments = 1;
      }
      ++i;
      continue;
    }
    if (in_key) {
      if (c == '.') {
        if (base() + ++segments > max_depth) return too_deep();
      } else if (c == '=') {
        in_key = false;
      } else if (c == '[' && stack.empty()) {
        // A table header, [a.b] or [[a.b]]: its segments are the base of the keys below it.
        int header = 1;
        while (i < text.size() && text[i] != '\n' && text[i] != ']') {
          if (text[i] == '.') ++header;
          if (text[i] == '"' || text[i] == '\'') {
            skip_string(text[i]);
            continue;
          }
          ++i;
        }
        if (header > max_depth) return too_deep();
        header_depth = header;
        continue;
      }
      ++i;
      continue;
    }
    // A value: only brackets matter.
    if (c == '{' || c == '[') {
      const int depth = (stack.empty() ? header_depth + segments : stack.back().depth) + 1;
      if (depth > max_depth) return too_deep();
      stack.push_back({c, depth});
      if (c == '{') {
        in_key = true;
        segments = 1;
      }
    } else if ((c == '}' || c == ']') && !stack.empty()) {
      stack.pop_back();
    } else if (c == ',' && !stack.empty() && stack.back().kind == '{') {
      in_key = true;
      segments = 1;
    }
    ++i;
  }
  return {};
}

Result<json> ParseToml(std::string_view text, std::string_view name, const FileLimits& limits) {
  if (Status s = CheckTomlDepth(text, name, limits.max_depth); !s.ok()) return s;
  try {
    toml::table table = toml::parse(text, std::string(name));
    Budget budget(limits, name);
    json out = FromToml(table, budget, 0);
    if (!budget.error().empty()) return Status::Error(budget.error());
    return out;
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

Result<json> FromYaml(const YAML::Node& node, std::string_view name, Budget& budget, int depth) {
  if (!budget.Take(depth, node.Mark().is_null() ? 0 : node.Mark().line + 1)) {
    return Status::Error(budget.error());
  }
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
        auto v = FromYaml(item, name, budget, depth + 1);
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
        auto v = FromYaml(kv.second, name, budget, depth + 1);
        if (!v.ok()) return v;
        Put(out, kv.first.Scalar(), std::move(*v));
      }
      return out;
    }
  }
  return json(nullptr);
}

Result<json> ParseYaml(std::string_view text, std::string_view name, const FileLimits& limits) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    Budget budget(limits, name);
    return FromYaml(root, name, budget, 0);
  } catch (const YAML::DeepRecursion& e) {  // yaml-cpp's own guard, before ours could count
    return Status::Error(
        fmt::format("config file {}: line {}: nested deeper than {} levels (config-max-depth)",
                    name, e.mark.line + 1, limits.max_depth));
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

// nlohmann::json's parser recurses once per '[' or '{': the nesting is measured on the text,
// outside strings, before it runs. Values are at most one per byte, so config-max-bytes bounds
// them.
Status CheckJsonDepth(std::string_view text, std::string_view name, int max_depth) {
  int depth = 0;
  int line = 1;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      // The top-level object is level 1; its values are at the TOML and YAML conversions' 1.
      if (++depth > max_depth) {
        return Status::Error(
            fmt::format("config file {}: line {}: nested deeper than {} levels (config-max-depth)",
                        name, line, max_depth));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return {};
}

Result<json> ParseJson(std::string_view text, std::string_view name, const FileLimits& limits) {
  if (Status s = CheckJsonDepth(text, name, limits.max_depth); !s.ok()) return s;
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

Result<json> ParseConfigText(std::string_view text, FileFormat format, std::string_view name,
                             const FileLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::Error(fmt::format("config file {}: is larger than {} bytes (config-max-bytes)",
                                     name, limits.max_bytes));
  }
  Result<json> parsed = json(nullptr);
  switch (format) {
    case FileFormat::kToml:
      parsed = ParseToml(text, name, limits);
      break;
    case FileFormat::kYaml:
      parsed = ParseYaml(text, name, limits);
      break;
    case FileFormat::kJson:
      parsed = ParseJson(text, name, limits);
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

Result<json> LoadConfigFile(const std::string& path, const FileLimits& limits) {
  auto format = FormatForPath(path);
  if (!format.ok()) return format.status();
  auto content = ReadRegularFile(path, limits.max_bytes);
  if (!content.ok()) {
    const bool too_large = content.error().rfind("is larger", 0) == 0;
    return Status::Error(fmt::format("config file {}: {}{}", path, content.error(),
                                     too_large ? " (config-max-bytes)" : ""));
  }
  return ParseConfigText(*content, *format, path, limits);
}

}  // namespace cstatsd::config::internal
