// MappingConfig: statsd_exporter's matching order (docs/prometheus.md#mapping). Every glob is
// compiled into one RE2::Set and every regex into another, so a name is scanned once per kind
// whatever the number of mappings; only the mapping chosen is run again for its captures.

#include "prometheus/mapping.h"

#include <fmt/format.h>
#include <re2/set.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "prometheus/mapping_rules.h"
#include "prometheus/naming.h"

namespace cstatsd::prometheus {
namespace internal {

void Expand(const Template& t, const std::vector<std::string_view>& captures, std::string& out) {
  for (const TemplatePart& p : t) {
    out += p.literal;
    if (p.capture >= 0 && static_cast<size_t>(p.capture) < captures.size()) {
      out += captures[static_cast<size_t>(p.capture)];
    }
  }
}

bool GlobMatches(const std::vector<std::string>& parts, std::string_view name,
                 std::vector<std::string_view>* captures) {
  size_t start = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (start > name.size()) return false;  // fewer fields than parts
    size_t dot = name.find('.', start);
    const bool last = i + 1 == parts.size();
    if (last && dot != std::string_view::npos) return false;  // more fields than parts
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view field = name.substr(start, dot - start);
    if (parts[i] == "*") {
      if (captures) captures->push_back(field);
    } else if (field != parts[i]) {
      return false;
    }
    start = dot + 1;
  }
  return start == name.size() + 1;
}

std::string GlobToRegex(const std::vector<std::string>& parts) {
  std::string re;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) re += "\\.";
    re += parts[i] == "*" ? "([^.]*)" : RE2::QuoteMeta(parts[i]);
  }
  return re;
}

}  // namespace internal

namespace {

using internal::MatchType;
using internal::Rule;

// A set's matches, or nullopt when RE2 gave up (its DFA out of memory): the caller then tries
// each pattern in turn, which gives the same answer more slowly.
std::optional<std::vector<int>> SetMatch(const RE2::Set* set, std::string_view text) {
  std::vector<int> hits;
  RE2::Set::ErrorInfo info{};
  if (set->Match(text, &hits, &info)) return hits;
  if (info.kind == RE2::Set::kNoError) return hits;
  return std::nullopt;
}

// glob_disable_ordering: the most specific glob wins, comparing the parts from the left (a
// literal part before '*'); between equally specific globs, the first in the file.
bool MoreSpecific(const Rule& a, const Rule& b) {
  for (size_t i = 0; i < a.glob_parts.size() && i < b.glob_parts.size(); ++i) {
    const bool sa = a.glob_parts[i] == "*";
    const bool sb = b.glob_parts[i] == "*";
    if (sa != sb) return sb;
  }
  return false;
}

std::unique_ptr<RE2::Set> BuildSet(const std::vector<std::string>& patterns, RE2::Anchor anchor) {
  if (patterns.empty()) return nullptr;
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(64 << 20);
  auto set = std::make_unique<RE2::Set>(opts, anchor);
  for (const std::string& p : patterns) {
    if (set->Add(p, nullptr) < 0) return nullptr;  // checked one by one at load already
  }
  if (!set->Compile()) return nullptr;
  return set;
}

}  // namespace

struct MappingConfig::Impl {
  internal::Defaults defaults;
  std::vector<Rule> rules;
  std::vector<size_t> globs;            // indices into rules, in the file's order
  std::vector<size_t> regexes;          // likewise
  std::unique_ptr<RE2::Set> glob_set;   // pattern k is rules[globs[k]]
  std::unique_ptr<RE2::Set> regex_set;  // pattern k is rules[regexes[k]]

  // The glob rule that maps `name`, or nullptr.
  const Rule* MatchGlob(std::string_view name, StatsdKind kind) const;
  // The regex rule that maps `name`, or nullptr.
  const Rule* MatchRegex(std::string_view name, StatsdKind kind) const;
};

const Rule* MappingConfig::Impl::MatchGlob(std::string_view name, StatsdKind kind) const {
  if (globs.empty()) return nullptr;
  std::optional<std::vector<int>> hits;
  if (glob_set) hits = SetMatch(glob_set.get(), name);
  if (!hits) {
    hits.emplace();
    for (size_t k = 0; k < globs.size(); ++k) {
      if (internal::GlobMatches(rules[globs[k]].glob_parts, name, nullptr)) {
        hits->push_back(static_cast<int>(k));
      }
    }
  }
  const Rule* best = nullptr;
  size_t best_k = 0;
  for (int h : *hits) {
    const size_t k = static_cast<size_t>(h);
    const Rule& r = rules[globs[k]];
    if (r.kind && *r.kind != kind) continue;
    if (best == nullptr) {
      best = &r;
      best_k = k;
      continue;
    }
    const bool better = defaults.glob_disable_ordering
                            ? MoreSpecific(r, *best) || (!MoreSpecific(*best, r) && k < best_k)
                            : k < best_k;
    if (better) {
      best = &r;
      best_k = k;
    }
  }
  return best;
}

const Rule* MappingConfig::Impl::MatchRegex(std::string_view name, StatsdKind kind) const {
  if (regexes.empty()) return nullptr;
  std::optional<std::vector<int>> hits;
  if (regex_set) hits = SetMatch(regex_set.get(), name);
  size_t first = regexes.size();
  if (hits) {
    for (int h : *hits) {
      const size_t k = static_cast<size_t>(h);
      const Rule& r = rules[regexes[k]];
      if (k < first && (!r.kind || *r.kind == kind)) first = k;
    }
  } else {
    for (size_t k = 0; k < regexes.size() && first == regexes.size(); ++k) {
      const Rule& r = rules[regexes[k]];
      if ((!r.kind || *r.kind == kind) && RE2::PartialMatch(name, *r.regex)) first = k;
    }
  }
  return first < regexes.size() ? &rules[regexes[first]] : nullptr;
}

MappingConfig::MappingConfig() : impl_(std::make_unique<Impl>()) {}
MappingConfig::~MappingConfig() = default;
MappingConfig::MappingConfig(MappingConfig&&) noexcept = default;
MappingConfig& MappingConfig::operator=(MappingConfig&&) noexcept = default;

size_t MappingConfig::size() const { return impl_->rules.size(); }

Result<MappingConfig> MappingConfig::Parse(std::string_view yaml, std::string_view origin) {
  auto file = internal::ParseMappingFile(yaml, origin);
  if (!file.ok()) return file.status();
  MappingConfig config;
  Impl& impl = *config.impl_;
  impl.defaults = std::move(file->defaults);
  impl.rules = std::move(file->rules);
  std::vector<std::string> glob_patterns;
  std::vector<std::string> regex_patterns;
  for (size_t i = 0; i < impl.rules.size(); ++i) {
    const Rule& r = impl.rules[i];
    if (r.match_type == MatchType::kGlob) {
      impl.globs.push_back(i);
      glob_patterns.push_back(internal::GlobToRegex(r.glob_parts));
    } else {
      impl.regexes.push_back(i);
      regex_patterns.push_back(r.match);
    }
  }
  // Without a set (RE2 refused to build one), Resolve tries each mapping in turn.
  impl.glob_set = BuildSet(glob_patterns, RE2::ANCHOR_BOTH);
  impl.regex_set = BuildSet(regex_patterns, RE2::UNANCHORED);
  return config;
}

Result<MappingConfig> MappingConfig::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Error(
        fmt::format("mapping file {}: cannot open: {}", path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::Error(fmt::format("mapping file {}: cannot read", path));
  return Parse(text.str(), path);
}

Mapping MappingConfig::Resolve(std::string_view statsd_name, StatsdKind kind) const {
  const Impl& impl = *impl_;
  Mapping m;
  const Rule* rule = impl.MatchGlob(statsd_name, kind);
  std::vector<std::string_view> captures{statsd_name};
  if (rule != nullptr) {
    internal::GlobMatches(rule->glob_parts, statsd_name, &captures);
  } else {
    rule = impl.MatchRegex(statsd_name, kind);
    if (rule != nullptr) {
      const int groups = rule->regex->NumberOfCapturingGroups();
      std::vector<re2::StringPiece> found(static_cast<size_t>(groups) + 1);
      if (rule->regex->Match(statsd_name, 0, statsd_name.size(), RE2::UNANCHORED, found.data(),
                             groups + 1)) {
        captures.clear();
        for (const re2::StringPiece& f : found) captures.emplace_back(f.data(), f.size());
      } else {
        rule = nullptr;  // cannot happen: the set said it matches
      }
    }
  }
  if (rule == nullptr) {
    AppendEscapedMetricName(statsd_name, m.name);
    m.drop = m.name.empty();
    m.observer = impl.defaults.observer;
    m.buckets = impl.defaults.buckets;
    m.quantiles = impl.defaults.quantiles;
    m.ttl = impl.defaults.ttl;
    return m;
  }
  m.matched = true;
  m.drop = rule->drop;
  std::string name;
  internal::Expand(rule->name, captures, name);
  AppendEscapedMetricName(name, m.name);
  // A name that expands to nothing drops the series, as statsd_exporter drops the event.
  if (m.name.empty()) m.drop = true;
  m.labels.reserve(rule->labels.size());
  for (const auto& [key, value] : rule->labels) {
    std::string v;
    internal::Expand(value, captures, v);
    m.labels.emplace_back(key, std::move(v));
  }
  m.observer = rule->observer;
  m.buckets = rule->buckets;
  m.quantiles = rule->quantiles;
  m.ttl = rule->ttl;
  m.honor_labels = rule->honor_labels;
  return m;
}

}  // namespace cstatsd::prometheus
