// Internal to prometheus/: the mapping file as MappingConfig::Parse reads it (mapping_yaml.cc)
// and Resolve matches it (mapping.cc), with the name and label templates split once at load.
// Built on the main thread, immutable after.
#pragma once

#include <re2/re2.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "prometheus/mapping.h"

namespace cstatsd::prometheus::internal {

// A `name` or label value: literal text and references to captures, expanded as Go's
// regexp.Expand does (docs/prometheus.md#mapping).
struct TemplatePart {
  std::string literal;  // appended first
  int capture = -1;     // then this capture ($0 = the whole statsd name); -1: none
};
using Template = std::vector<TemplatePart>;

// Splits `text` into parts. `$n` / `${n}` refer to capture n (empty when n > max_capture); `$$` is
// a '$'; `$name` / `${name}` to the named group that `named` returns (-1: none, expands empty).
// A '$' that starts no reference stays as it is.
template <typename NamedGroup>
Template ParseTemplate(std::string_view text, int max_capture, const NamedGroup& named);

// Appends the expansion of `t` with `captures` (index 0: the whole name) to `out`.
void Expand(const Template& t, const std::vector<std::string_view>& captures, std::string& out);

enum class MatchType : uint8_t { kGlob, kRegex };

struct Rule {
  int line = 0;  // where the entry starts in the file, 1-based
  MatchType match_type = MatchType::kGlob;
  std::string match;
  std::optional<StatsdKind> kind;  // match_metric_type; none: every kind
  Template name;
  std::vector<std::pair<std::string, Template>> labels;  // in the file's order
  bool drop = false;
  ObserverType observer = ObserverType::kDefault;
  std::vector<double> buckets;
  std::vector<Quantile> quantiles;
  std::chrono::nanoseconds ttl{0};
  bool honor_labels = false;
  std::string help;
  std::vector<std::string> glob_parts;  // glob: the dot-separated components, "*" or literal
  std::unique_ptr<RE2> regex;           // regex: compiled, unanchored
};

struct Defaults {
  ObserverType observer = ObserverType::kDefault;
  MatchType match_type = MatchType::kGlob;
  bool glob_disable_ordering = false;
  std::chrono::nanoseconds ttl{0};
  std::vector<double> buckets;
  std::vector<Quantile> quantiles;
};

struct MappingFile {
  Defaults defaults;
  std::vector<Rule> rules;  // in the file's order
};

// Reads and checks the YAML text; errors are "<origin>:<line>: <what>".
Result<MappingFile> ParseMappingFile(std::string_view yaml, std::string_view origin);

// Whether the glob components match the statsd name's dot-separated fields; `*` matches one
// whole field, empty included. Appends the fields that `*`s matched to `captures`.
bool GlobMatches(const std::vector<std::string>& parts, std::string_view name,
                 std::vector<std::string_view>* captures);

// The anchored regular expression equivalent to a glob (one RE2::Set compiles them all).
std::string GlobToRegex(const std::vector<std::string>& parts);

// ---- template implementation ----

inline bool IsTemplateNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

template <typename NamedGroup>
Template ParseTemplate(std::string_view text, int max_capture, const NamedGroup& named) {
  Template t;
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      literal.push_back(text[i++]);
      continue;
    }
    ++i;  // past '$'
    if (i < text.size() && text[i] == '$') {
      literal.push_back('$');
      ++i;
      continue;
    }
    const bool brace = i < text.size() && text[i] == '{';
    size_t start = brace ? i + 1 : i;
    size_t end = start;
    while (end < text.size() && IsTemplateNameChar(text[end])) ++end;
    if (end == start || (brace && (end >= text.size() || text[end] != '}'))) {
      literal.push_back('$');  // not a reference: the '$' is text
      continue;
    }
    const std::string_view name = text.substr(start, end - start);
    i = brace ? end + 1 : end;
    int index = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || index >= 100000000) {
        index = -1;
        break;
      }
      index = index * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') index = -1;  // Go: no leading zeros in a number
    if (index < 0) {
      index = named(name);
    } else if (index > max_capture) {
      index = -1;
    }
    if (index >= 0) {
      t.push_back({std::move(literal), index});
      literal.clear();
    }
  }
  if (!literal.empty() || t.empty()) t.push_back({std::move(literal), -1});
  return t;
}

}  // namespace cstatsd::prometheus::internal
