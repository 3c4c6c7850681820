#include "filter/filter.h"

#include <re2/re2.h>

#include <algorithm>

namespace cstatsd::filter {
namespace {

bool AnyMatches(const std::vector<Pattern>& patterns, std::string_view s) {
  for (const Pattern& p : patterns) {
    if (p.Matches(s)) return true;
  }
  return false;
}

}  // namespace

Result<Pattern> Pattern::Parse(std::string_view text) {
  Pattern p;
  p.text_ = std::string(text);
  if (!text.empty() && text.front() == '!') {
    p.invert_ = true;
    text.remove_prefix(1);
  }
  constexpr std::string_view kRegex = "regex:";
  if (text.starts_with(kRegex)) {
    p.kind_ = Kind::kRegex;
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<RE2>(
        re2::StringPiece(text.data() + kRegex.size(), text.size() - kRegex.size()), opts);
    if (!re->ok()) {
      return Status::Error("invalid regex \"" + std::string(text.substr(kRegex.size())) +
                           "\": " + re->error());
    }
    p.re_ = std::move(re);
    return p;
  }
  if (!text.empty() && text.back() == '*') {
    p.kind_ = Kind::kPrefix;
    text.remove_suffix(1);
  }
  p.literal_ = std::string(text);
  return p;
}

bool Pattern::Matches(std::string_view s) const {
  bool m = false;
  switch (kind_) {
    case Kind::kExact:
      m = s == literal_;
      break;
    case Kind::kPrefix:
      m = s.starts_with(literal_);
      break;
    case Kind::kRegex:
      m = RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re_);
      break;
  }
  return m != invert_;
}

bool Filter::Applies(std::string_view metric_name,
                     const std::vector<std::string_view>& tags) const {
  if (!match_metrics.empty() && !AnyMatches(match_metrics, metric_name)) return false;
  if (AnyMatches(exclude_metrics, metric_name)) return false;
  if (!match_tags.empty()) {
    bool any = false;
    for (std::string_view t : tags) {
      if (AnyMatches(match_tags, t)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

Outcome FilterSet::Apply(std::string_view name, std::vector<std::string_view>& tags,
                         std::vector<std::string_view>& dropped) const {
  Outcome out;
  // As gostatsd's TagHandler: every filter sees the series' tags as they arrived; the tags the
  // filters drop are collected and removed only after the last filter has matched (so a later
  // filter's match-tags still matches a tag an earlier one drops).
  const size_t first = dropped.size();
  auto was_dropped = [&](std::string_view t) {
    return std::find(dropped.begin() + static_cast<std::ptrdiff_t>(first), dropped.end(), t) !=
           dropped.end();
  };
  for (const Filter& f : filters_) {
    if (!f.Applies(name, tags)) continue;
    if (f.drop_metric) {
      out.drop = true;
      return out;
    }
    if (f.drop_host) out.clear_source = true;
    if (!f.drop_tags.empty()) {
      for (std::string_view t : tags) {
        if (AnyMatches(f.drop_tags, t) && !was_dropped(t)) dropped.push_back(t);
      }
    }
  }
  if (dropped.size() > first) {
    tags.erase(std::remove_if(tags.begin(), tags.end(), was_dropped), tags.end());
  }
  return out;
}

Result<FilterSet> FilterSet::Load(const config::Config& config,
                                  std::vector<std::string>* warnings) {
  FilterSet set;
  std::string errors;
  const config::Section all = config.GetSection("filter");
  for (const std::string& name : config.options.filters) {
    const config::Section sec = all.Sub(name);
    if (!sec.exists()) {
      if (warnings != nullptr) {
        warnings->push_back("filters: no [filter." + name + "] section; filter \"" + name +
                            "\" ignored");
      }
      continue;
    }
    Filter f;
    f.name = name;
    auto patterns = [&](std::string_view key, std::vector<Pattern>& out) {
      auto list = sec.GetStringList(key, {});
      if (!list.ok()) {
        errors += list.error() + "\n";
        return;
      }
      for (const std::string& text : *list) {
        auto p = Pattern::Parse(text);
        if (!p.ok()) {
          errors += sec.path() + "." + std::string(key) + ": " + p.error() + "\n";
          continue;
        }
        out.push_back(std::move(*p));
      }
    };
    patterns("match-metrics", f.match_metrics);
    patterns("exclude-metrics", f.exclude_metrics);
    patterns("match-tags", f.match_tags);
    patterns("drop-tags", f.drop_tags);
    for (auto [key, field] :
         {std::pair{"drop-metric", &f.drop_metric}, std::pair{"drop-host", &f.drop_host}}) {
      auto v = sec.GetBool(key, false);
      if (v.ok()) {
        *field = *v;
      } else {
        errors += v.error() + "\n";
      }
    }
    set.filters_.push_back(std::move(f));
  }
  if (!errors.empty()) {
    errors.pop_back();
    return Status::Error(errors);
  }
  return set;
}

}  // namespace cstatsd::filter
