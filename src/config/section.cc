// Section: one table of the config file with GSD_<SECTION>_<KEY> environment overrides.

#include <fmt/format.h>

#include "config/config.h"
#include "config/convert.h"

namespace cstatsd::config {
namespace {

using internal::RawValue;
using nlohmann::json;

const json* FindChild(const json* node, std::string_view key) {
  if (node == nullptr || !node->is_object()) return nullptr;
  auto it = node->find(internal::Lower(key));  // Load lower-cases every key, as viper does
  if (it == node->end()) it = node->find(std::string(key));
  return it == node->end() ? nullptr : &*it;
}

std::string Dotted(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

}  // namespace

Section::Section(std::string path, const json* node, const Environment* env)
    : path_(std::move(path)), node_(node), env_(env) {}

std::string Section::EnvName(std::string_view key) const {
  return internal::EnvVarName(Dotted(path_, key));
}

const json* Section::Find(std::string_view key) const { return FindChild(node_, key); }

const std::string* Section::FindEnv(std::string_view key) const {
  if (env_ == nullptr) return nullptr;
  auto it = env_->find(EnvName(key));
  // viper ignores empty environment variables (AllowEmptyEnv is off in gostatsd).
  if (it == env_->end() || it->second.empty()) return nullptr;
  return &it->second;
}

bool Section::Has(std::string_view key) const {
  return Find(key) != nullptr || FindEnv(key) != nullptr;
}

std::vector<std::string> Section::Keys() const {
  std::vector<std::string> keys;
  if (node_ != nullptr && node_->is_object()) {
    for (const auto& item : node_->items()) keys.push_back(item.key());
  }
  return keys;
}

namespace {

// Looks `key` up (environment first, then the file) and converts it with `convert`; errors name
// "<section>.<key>" and where the value came from.
template <typename T, typename Convert>
Result<T> Get(const Section& section, const std::string* env_value, std::string env_name,
              const json* file_value, std::string_view key, T def, Convert convert) {
  RawValue raw;
  if (env_value != nullptr) {
    raw.text = *env_value;
    raw.origin = std::move(env_name);
  } else if (file_value != nullptr) {
    raw.node = file_value;
    raw.origin = "the config file";
  } else {
    return def;
  }
  Result<T> value = convert(raw);
  if (!value.ok()) {
    return Status::Error(
        fmt::format("{}: {} (from {})", Dotted(section.path(), key), value.error(), raw.origin));
  }
  return value;
}

}  // namespace

#define CSTATSD_SECTION_GET(key, def, convert) \
  Get(*this, FindEnv(key), EnvName(key), Find(key), key, def, convert)

Result<std::string> Section::GetString(std::string_view key, std::string_view def) const {
  return CSTATSD_SECTION_GET(key, std::string(def), internal::ToString);
}

Result<bool> Section::GetBool(std::string_view key, bool def) const {
  return CSTATSD_SECTION_GET(key, def, internal::ToBool);
}

Result<int64_t> Section::GetInt(std::string_view key, int64_t def) const {
  return CSTATSD_SECTION_GET(key, def, internal::ToInt);
}

Result<double> Section::GetDouble(std::string_view key, double def) const {
  return CSTATSD_SECTION_GET(key, def, internal::ToDouble);
}

Result<Duration> Section::GetDuration(std::string_view key, Duration def) const {
  return CSTATSD_SECTION_GET(key, def, internal::ToDuration);
}

Result<std::vector<std::string>> Section::GetStringList(std::string_view key,
                                                        std::vector<std::string> def) const {
  return CSTATSD_SECTION_GET(key, std::move(def), internal::ToStringList);
}

#undef CSTATSD_SECTION_GET

Result<std::map<std::string, std::string>> Section::GetStringMap(std::string_view key) const {
  using Map = std::map<std::string, std::string>;
  auto convert = [](const RawValue& raw) -> Result<Map> {
    json parsed;
    const json* node = raw.node;
    if (node == nullptr) {
      // As viper/cast: a string value holding a JSON object, e.g. '{"X-Team":"metrics"}'.
      parsed = json::parse(raw.text, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        return Status::Error(
            "expected a JSON object of strings, e.g. {\"Name\":\"value\"}, in the environment");
      }
      node = &parsed;
    }
    if (node->is_null()) return Map{};
    if (!node->is_object()) {
      return Status::Error(
          fmt::format("expected a table of strings, got {}", internal::JsonTypeName(*node)));
    }
    Map out;
    for (const auto& item : node->items()) {
      if (item.value().is_object() || item.value().is_array()) {
        return Status::Error(fmt::format("value of \"{}\" must be a string, got {}", item.key(),
                                         internal::JsonTypeName(item.value())));
      }
      RawValue one;
      one.node = &item.value();
      out[item.key()] = *internal::ToString(one);
    }
    return out;
  };
  return Get(*this, FindEnv(key), EnvName(key), Find(key), key, Map{}, convert);
}

Section Section::Sub(std::string_view name) const {
  const json* child = Find(name);
  if (child != nullptr && !child->is_object()) child = nullptr;
  return Section(Dotted(path_, name), child, env_);
}

Section Config::GetSection(std::string_view name) const {
  Section section("", &file, &env);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view part =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    section = section.Sub(part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return section;
}

}  // namespace cstatsd::config
