// Filters (docs/filtering.md, gostatsd's FILTERING.md): `filters` names `[filter.<name>]` sections
// whose patterns select series by name and tag, and drop the series, some of its tags, or its
// source. A FilterSet is built once at startup and read by every worker's pipeline (immutable,
// shared). Patterns: optional `!` (invert), then `regex:<RE2>` (unanchored search), or a literal
// with an optional trailing `*` (prefix), else exact.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"

namespace re2 {
class RE2;
}

namespace cstatsd::filter {

class Pattern {
 public:
  static Result<Pattern> Parse(std::string_view text);

  bool Matches(std::string_view s) const;
  const std::string& text() const { return text_; }

 private:
  enum class Kind { kExact, kPrefix, kRegex };
  Pattern() = default;

  std::string text_;     // as configured
  std::string literal_;  // exact text or prefix
  Kind kind_ = Kind::kExact;
  bool invert_ = false;
  std::shared_ptr<const re2::RE2> re_;  // compiled once; RE2 is safe to share between threads
};

struct Filter {
  std::string name;
  std::vector<Pattern> match_metrics;    // empty: every name
  std::vector<Pattern> exclude_metrics;  // a match: the filter does not apply
  std::vector<Pattern> match_tags;       // empty: any tags; else one tag must match one pattern
  std::vector<Pattern> drop_tags;        // tags matching any are removed
  bool drop_metric = false;
  bool drop_host = false;

  // True when the filter applies to a series with this name and these tags.
  bool Applies(std::string_view metric_name, const std::vector<std::string_view>& tags) const;
};

// What the filters did to one series.
struct Outcome {
  bool drop = false;  // drop the whole series
  bool clear_source = false;
};

class FilterSet {
 public:
  // Reads `filters` and the named sections. A name without a section is warned about and
  // skipped (as gostatsd); a bad pattern is an error naming "filter.<name>.<key>".
  static Result<FilterSet> Load(const config::Config& config, std::vector<std::string>* warnings);

  bool empty() const { return filters_.empty(); }
  const std::vector<Filter>& filters() const { return filters_; }
  void Add(Filter f) { filters_.push_back(std::move(f)); }

  // Runs the filters in order over a series and says whether to drop the series or clear its
  // source. Every filter matches against the tags as they arrived; the tags any of them drops
  // are removed from `tags` (and appended to `dropped`, once each) after the last filter, as
  // gostatsd does.
  Outcome Apply(std::string_view name, std::vector<std::string_view>& tags,
                std::vector<std::string_view>& dropped) const;

 private:
  std::vector<Filter> filters_;
};

}  // namespace cstatsd::filter
