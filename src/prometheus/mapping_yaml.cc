// Reads statsd_exporter's mapping file (docs/prometheus.md#mapping) with yaml-cpp: every key
// statsd_exporter knows, unknown and repeated keys refused as its strict YAML reading refuses
// them, and every check it makes at load (names, labels, globs, regexes, observer options), each
// error naming the file and the line. yaml-cpp's exceptions stop here.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <set>
#include <string>

#include "prometheus/mapping_rules.h"

namespace cstatsd::prometheus::internal {
namespace {

using Node = YAML::Node;

// Most values a file may hold once YAML aliases are expanded: an alias repeats its node wherever
// it appears, so a small file could otherwise describe millions of rules or labels.
constexpr size_t kMaxValues = 1000000;

int Line(const Node& n) { return n.Mark().line < 0 ? 0 : n.Mark().line + 1; }

// A duration as statsd_exporter's YAML reader takes one: a Go duration string ("1m20s", "1.5h",
// "300ms", "0"), or a bare integer, which is nanoseconds. Negative durations are refused here.
std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view s) {
  constexpr double kMax = 9.2e18;  // below 2^63 ns (~292 years)
  if (s.empty()) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (s.size() > 18) return std::nullopt;
    return std::chrono::nanoseconds(std::stoll(std::string(s)));
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  struct Unit {
    std::string_view name;
    double nanos;
  };
  static constexpr Unit kUnits[] = {{"ns", 1},          {"us", 1e3},  {"\xC2\xB5s", 1e3},
                                    {"\xCE\xBCs", 1e3}, {"ms", 1e6},  {"s", 1e9},
                                    {"m", 60e9},        {"h", 3600e9}};
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    const std::string number(s.substr(start, i - start));
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
      return std::nullopt;
    }
    const size_t unit_start = i;
    while (i < s.size() && !((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    const std::string_view unit = s.substr(unit_start, i - unit_start);
    const Unit* u = nullptr;
    for (const Unit& k : kUnits) {
      if (k.name == unit) u = &k;
    }
    if (u == nullptr) return std::nullopt;
    total += std::stod(number) * u->nanos;
    if (total > kMax) return std::nullopt;
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

// statsd_exporter's checks at load, as regular expressions (pkg/mapper's metricLineRE,
// metricNameRE and labelNameRE).
const RE2& GlobRe() {
  static const RE2 re(R"(^(\*|[a-zA-Z_][a-zA-Z0-9_\-]*)(\.\*|\.[a-zA-Z0-9_][a-zA-Z0-9_\-]*)*$)");
  return re;
}
const RE2& NameTemplateRe() {
  static const RE2 re(R"(^([a-zA-Z_]|\$\{?\d+\}?)([a-zA-Z0-9_]|\$\{?\d+\}?)*$)");
  return re;
}
const RE2& LabelNameRe() {
  static const RE2 re(R"(^[a-zA-Z_][a-zA-Z0-9_]+$)");
  return re;
}

// One mapping entry's or the defaults' observer options before defaults apply.
struct Observer {
  std::optional<ObserverType> type;
  std::optional<ObserverType> legacy_type;  // timer_type
  std::optional<std::vector<double>> buckets;
  std::optional<std::vector<double>> legacy_buckets;
  std::optional<std::vector<Quantile>> quantiles;
  std::optional<std::vector<Quantile>> legacy_quantiles;
  bool has_summary_options = false;
  bool has_histogram_options = false;
};

class Reader {
 public:
  explicit Reader(std::string_view origin) : origin_(origin) {}

  Result<MappingFile> Read(const Node& root);

 private:
  Status Fail(const Node& at, std::string_view what) const {
    return Status::Error(fmt::format("{}:{}: {}", origin_, Line(at), what));
  }
  Status Count(const Node& at) {
    if (++values_ <= kMaxValues) return {};
    return Fail(at, fmt::format("more than {} values (YAML aliases count each time they are used)",
                                kMaxValues));
  }

  // Calls fn(key, value) for each entry of the map `node` at `where`; keys outside `known` (when
  // it is not empty) and repeated keys are errors.
  template <typename Fn>
  Status ForEachKey(const Node& node, std::string_view where,
                    std::initializer_list<std::string_view> known, Fn fn);

  Result<std::string> String(const Node& v, std::string_view what) const;
  Result<bool> Bool(const Node& v, std::string_view what) const;
  Result<double> Double(const Node& v, std::string_view what) const;
  Result<std::chrono::nanoseconds> Duration(const Node& v, std::string_view what) const;
  Result<ObserverType> ObserverTypeOf(const Node& v, std::string_view what) const;
  Result<MatchType> MatchTypeOf(const Node& v, std::string_view what) const;
  Result<std::vector<double>> Buckets(const Node& v, std::string_view what);
  Result<std::vector<Quantile>> Quantiles(const Node& v, std::string_view what);
  Status SummaryOptions(const Node& v, std::string_view where, Observer& o);
  Status HistogramOptions(const Node& v, std::string_view where, Observer& o);
  // The observer keys shared by `defaults` and a mapping entry; false: not one of them.
  Result<bool> ObserverKey(std::string_view key, const Node& v, std::string_view where,
                           Observer& o);
  Status ReadDefaults(const Node& node, Defaults& d);
  Status ReadRule(const Node& node, size_t index, const Defaults& d, Rule& r);

  std::string origin_;
  size_t values_ = 0;
};

template <typename Fn>
Status Reader::ForEachKey(const Node& node, std::string_view where,
                          std::initializer_list<std::string_view> known, Fn fn) {
  if (node.IsNull()) return {};
  if (!node.IsMap()) return Fail(node, fmt::format("{} must be a map", where));
  std::set<std::string, std::less<>> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const Node k = it->first;  // a copy: `it->` returns a temporary pair
    if (Status s = Count(k); !s.ok()) return s;
    if (!k.IsScalar()) return Fail(k, fmt::format("{}: a key must be a string", where));
    const std::string& key = k.Scalar();
    if (known.size() != 0 && std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (std::string_view n : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", n);
      return Fail(k, fmt::format("{}: unknown key \"{}\" (known: {})", where, key, list));
    }
    if (!seen.insert(key).second) {
      return Fail(k, fmt::format("{}: key \"{}\" appears twice", where, key));
    }
    const Node v = it->second;
    if (Status s = fn(key, v); !s.ok()) return s;
  }
  return {};
}

Result<std::string> Reader::String(const Node& v, std::string_view what) const {
  if (v.IsNull()) return std::string();
  if (!v.IsScalar()) return Fail(v, fmt::format("{} must be a string", what));
  return v.Scalar();
}

Result<bool> Reader::Bool(const Node& v, std::string_view what) const {
  if (v.IsNull()) return false;
  bool b = false;
  if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) {
    return Fail(v, fmt::format("{} must be true or false", what));
  }
  return b;
}

Result<double> Reader::Double(const Node& v, std::string_view what) const {
  double d = 0;
  if (!v.IsScalar() || !YAML::convert<double>::decode(v, d) || std::isnan(d)) {
    return Fail(v, fmt::format("{} must be a number", what));
  }
  return d;
}

Result<std::chrono::nanoseconds> Reader::Duration(const Node& v, std::string_view what) const {
  if (v.IsNull()) return std::chrono::nanoseconds(0);
  if (!v.IsScalar()) return Fail(v, fmt::format("{} must be a duration such as 1m30s", what));
  const std::string& text = v.Scalar();
  if (text.starts_with('-')) return Fail(v, fmt::format("{} must not be negative", what));
  auto d = ParseDuration(text.starts_with('+') ? std::string_view(text).substr(1) : text);
  if (!d) {
    return Fail(v, fmt::format("{}: invalid duration \"{}\" (a Go duration such as 1m30s, 90s, "
                               "500ms)",
                               what, text));
  }
  return *d;
}

Result<ObserverType> Reader::ObserverTypeOf(const Node& v, std::string_view what) const {
  auto s = String(v, what);
  if (!s.ok()) return s.status();
  if (*s == "histogram") return ObserverType::kHistogram;
  if (*s == "summary") return ObserverType::kSummary;
  if (s->empty() || *s == "default") return ObserverType::kDefault;
  return Fail(v, fmt::format("{}: invalid observer type \"{}\" (histogram, summary)", what, *s));
}

Result<MatchType> Reader::MatchTypeOf(const Node& v, std::string_view what) const {
  auto s = String(v, what);
  if (!s.ok()) return s.status();
  if (*s == "glob" || s->empty()) return MatchType::kGlob;
  if (*s == "regex") return MatchType::kRegex;
  return Fail(v, fmt::format("{}: invalid match type \"{}\" (glob, regex)", what, *s));
}

Result<std::vector<double>> Reader::Buckets(const Node& v, std::string_view what) {
  std::vector<double> out;
  if (v.IsNull()) return out;
  if (!v.IsSequence()) return Fail(v, fmt::format("{} must be a list of numbers", what));
  for (const Node& item : v) {
    if (Status s = Count(item); !s.ok()) return s;
    auto d = Double(item, what);
    if (!d.ok()) return d.status();
    if (!out.empty() && !(*d > out.back())) {
      return Fail(
          item, fmt::format("{} must be in increasing order ({} after {})", what, *d, out.back()));
    }
    out.push_back(*d);
  }
  if (!out.empty() && std::isinf(out.back()) && out.back() > 0) out.pop_back();  // +Inf implied
  if (!out.empty() && std::isinf(out.front())) {
    return Fail(v, fmt::format("{}: -Inf is not a bucket", what));
  }
  return out;
}

Result<std::vector<Quantile>> Reader::Quantiles(const Node& v, std::string_view what) {
  std::vector<Quantile> out;
  if (v.IsNull()) return out;
  if (!v.IsSequence()) {
    return Fail(v, fmt::format("{} must be a list of {{quantile, error}}", what));
  }
  for (const Node& item : v) {
    if (Status s = Count(item); !s.ok()) return s;
    if (!item.IsMap()) return Fail(item, fmt::format("{}: each entry must be a map", what));
    Quantile q;
    Status s = ForEachKey(
        item, what, {"quantile", "error"}, [&](std::string_view key, const Node& val) -> Status {
          auto d = Double(val, fmt::format("{}.{}", what, key));
          if (!d.ok()) return d.status();
          if (*d < 0 || *d > 1) {
            return Fail(val, fmt::format("{}.{} must be between 0 and 1", what, key));
          }
          (key == "quantile" ? q.quantile : q.error) = *d;
          return {};
        });
    if (!s.ok()) return s;
    out.push_back(q);
  }
  return out;
}

Status Reader::SummaryOptions(const Node& v, std::string_view where, Observer& o) {
  o.has_summary_options = true;
  const std::string w = fmt::format("{}.summary_options", where);
  return ForEachKey(v, w, {"quantiles", "max_age", "age_buckets", "buf_cap"},
                    [&](std::string_view key, const Node& val) -> Status {
                      const std::string what = fmt::format("{}.{}", w, key);
                      if (key == "quantiles") {
                        auto q = Quantiles(val, what);
                        if (!q.ok()) return q.status();
                        if (!q->empty()) o.quantiles = std::move(*q);
                        return {};
                      }
                      if (key == "max_age") return Duration(val, what).status();
                      auto d = Double(val, what);  // age_buckets, buf_cap: read, not used
                      if (!d.ok()) return d.status();
                      if (*d < 0 || *d != std::floor(*d)) {
                        return Fail(val, fmt::format("{} must be a whole number", what));
                      }
                      return {};
                    });
}

Status Reader::HistogramOptions(const Node& v, std::string_view where, Observer& o) {
  o.has_histogram_options = true;
  const std::string w = fmt::format("{}.histogram_options", where);
  return ForEachKey(v, w,
                    {"buckets", "native_histogram_bucket_factor", "native_histogram_max_buckets"},
                    [&](std::string_view key, const Node& val) -> Status {
                      const std::string what = fmt::format("{}.{}", w, key);
                      if (key == "buckets") {
                        auto b = Buckets(val, what);
                        if (!b.ok()) return b.status();
                        if (!b->empty()) o.buckets = std::move(*b);
                        return {};
                      }
                      return Double(val, what).status();  // native histograms: read, not used
                    });
}

Result<bool> Reader::ObserverKey(std::string_view key, const Node& v, std::string_view where,
                                 Observer& o) {
  const std::string what = fmt::format("{}.{}", where, key);
  if (key == "observer_type" || key == "timer_type") {
    auto t = ObserverTypeOf(v, what);
    if (!t.ok()) return t.status();
    (key == "observer_type" ? o.type : o.legacy_type) = *t;
  } else if (key == "buckets") {
    auto b = Buckets(v, what);
    if (!b.ok()) return b.status();
    if (!b->empty()) o.legacy_buckets = std::move(*b);
  } else if (key == "quantiles") {
    auto q = Quantiles(v, what);
    if (!q.ok()) return q.status();
    if (!q->empty()) o.legacy_quantiles = std::move(*q);
  } else if (key == "summary_options") {
    if (Status s = SummaryOptions(v, where, o); !s.ok()) return s;
  } else if (key == "histogram_options") {
    if (Status s = HistogramOptions(v, where, o); !s.ok()) return s;
  } else {
    return false;
  }
  return true;
}

// observer_type wins over the older timer_type; *_options over the older top-level lists.
ObserverType EffectiveType(const Observer& o) {
  if (o.type && *o.type != ObserverType::kDefault) return *o.type;
  return o.legacy_type.value_or(ObserverType::kDefault);
}

Status Reader::ReadDefaults(const Node& node, Defaults& d) {
  Observer o;
  Status s = ForEachKey(node, "defaults",
                        {"observer_type", "timer_type", "buckets", "quantiles", "match_type",
                         "glob_disable_ordering", "ttl", "summary_options", "histogram_options"},
                        [&](std::string_view key, const Node& v) -> Status {
                          auto observer = ObserverKey(key, v, "defaults", o);
                          if (!observer.ok()) return observer.status();
                          if (*observer) return {};
                          const std::string what = fmt::format("defaults.{}", key);
                          if (key == "match_type") {
                            auto m = MatchTypeOf(v, what);
                            if (!m.ok()) return m.status();
                            d.match_type = *m;
                          } else if (key == "glob_disable_ordering") {
                            auto b = Bool(v, what);
                            if (!b.ok()) return b.status();
                            d.glob_disable_ordering = *b;
                          } else {  // ttl
                            auto t = Duration(v, what);
                            if (!t.ok()) return t.status();
                            d.ttl = *t;
                          }
                          return {};
                        });
  if (!s.ok()) return s;
  d.observer = EffectiveType(o);
  d.buckets = o.buckets ? *o.buckets : o.legacy_buckets.value_or(std::vector<double>{});
  d.quantiles = o.quantiles ? *o.quantiles : o.legacy_quantiles.value_or(std::vector<Quantile>{});
  return {};
}

Status Reader::ReadRule(const Node& node, size_t index, const Defaults& d, Rule& r) {
  const std::string where = fmt::format("mappings[{}]", index);
  if (!node.IsMap()) return Fail(node, fmt::format("{} must be a map", where));
  r.line = Line(node);
  r.match_type = d.match_type;
  Observer o;
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  Node name_node;
  Node match_node;
  match_node.reset(node);  // reset, not =: a yaml-cpp Node's = writes into the node it refers to
  std::optional<bool> drop;
  Status s = ForEachKey(
      node, where,
      {"match", "name", "labels", "honor_labels", "observer_type", "timer_type", "buckets",
       "quantiles", "match_type", "help", "action", "match_metric_type", "ttl", "summary_options",
       "histogram_options", "scale"},
      [&](std::string_view key, const Node& v) -> Status {
        auto observer = ObserverKey(key, v, where, o);
        if (!observer.ok()) return observer.status();
        if (*observer) return {};
        const std::string what = fmt::format("{}.{}", where, key);
        if (key == "match" || key == "name" || key == "help") {
          auto str = String(v, what);
          if (!str.ok()) return str.status();
          if (key == "match") {
            r.match = std::move(*str);
            match_node.reset(v);
          } else if (key == "name") {
            name = std::move(*str);
            name_node.reset(v);
          } else {
            r.help = std::move(*str);
          }
        } else if (key == "labels") {
          return ForEachKey(v, what, {}, [&](std::string_view label, const Node& lv) -> Status {
            if (!RE2::FullMatch(label, LabelNameRe())) {
              return Fail(lv, fmt::format("{}: invalid label name \"{}\" ([a-zA-Z_][a-zA-Z0-9_]+)",
                                          what, label));
            }
            if (label.starts_with("__")) {
              return Fail(lv, fmt::format("{}: label name \"{}\" starts with \"__\", which "
                                          "Prometheus reserves",
                                          what, label));
            }
            auto value = String(lv, fmt::format("{}.{}", what, label));
            if (!value.ok()) return value.status();
            labels.emplace_back(std::string(label), std::move(*value));
            return {};
          });
        } else if (key == "honor_labels") {
          auto b = Bool(v, what);
          if (!b.ok()) return b.status();
          r.honor_labels = *b;
        } else if (key == "match_type") {
          auto m = MatchTypeOf(v, what);
          if (!m.ok()) return m.status();
          r.match_type = *m;
        } else if (key == "action") {
          auto a = String(v, what);
          if (!a.ok()) return a.status();
          if (*a != "drop" && *a != "map" && !a->empty()) {
            return Fail(v, fmt::format("{}: invalid action \"{}\" (map, drop)", what, *a));
          }
          drop = *a == "drop";
        } else if (key == "match_metric_type") {
          auto t = String(v, what);
          if (!t.ok()) return t.status();
          if (*t == "counter") {
            r.kind = StatsdKind::kCounter;
          } else if (*t == "gauge") {
            r.kind = StatsdKind::kGauge;
          } else if (*t == "observer" || *t == "timer") {
            r.kind = StatsdKind::kObserver;
          } else if (!t->empty()) {
            return Fail(v, fmt::format("{}: invalid metric type \"{}\" (counter, gauge, observer)",
                                       what, *t));
          }
        } else if (key == "ttl") {
          auto t = Duration(v, what);
          if (!t.ok()) return t.status();
          r.ttl = *t;
        } else {  // scale: graphite_exporter's; statsd_exporter reads it and ignores it
          return Double(v, what).status();
        }
        return {};
      });
  if (!s.ok()) return s;
  r.drop = drop.value_or(false);
  if (name.empty()) return Fail(node, fmt::format("{}: no metric name (`name`)", where));
  if (!RE2::FullMatch(name, NameTemplateRe())) {
    return Fail(name_node, fmt::format("{}.name: \"{}\" is not a metric name: letters, digits, "
                                       "'_' and $n / ${{n}} references, not starting with a digit",
                                       where, name));
  }

  int max_capture = 0;
  auto named = [&r](std::string_view group) -> int {
    if (!r.regex) return -1;
    const auto& groups = r.regex->NamedCapturingGroups();
    auto it = groups.find(std::string(group));
    return it == groups.end() ? -1 : it->second;
  };
  if (r.match_type == MatchType::kGlob) {
    if (!RE2::FullMatch(r.match, GlobRe())) {
      return Fail(match_node,
                  fmt::format("{}.match: invalid glob \"{}\": dot-separated parts, each '*' or "
                              "letters, digits, '_' and '-' (the first not starting with a digit)",
                              where, r.match));
    }
    size_t start = 0;
    while (true) {
      size_t dot = r.match.find('.', start);
      r.glob_parts.push_back(r.match.substr(start, dot - start));
      if (r.glob_parts.back() == "*") ++max_capture;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  } else {
    RE2::Options opts;
    opts.set_log_errors(false);
    r.regex = std::make_unique<RE2>(r.match, opts);
    if (!r.regex->ok()) {
      return Fail(match_node, fmt::format("{}.match: invalid regex \"{}\": {}", where, r.match,
                                          r.regex->error()));
    }
    max_capture = r.regex->NumberOfCapturingGroups();
  }
  r.name = ParseTemplate(name, max_capture, named);
  for (auto& [key, value] : labels) {
    r.labels.emplace_back(std::move(key), ParseTemplate(value, max_capture, named));
  }

  // Observer options, checked as statsd_exporter checks them.
  if (o.quantiles && o.legacy_quantiles) {
    return Fail(node,
                fmt::format("{}: quantiles both at the top level and in summary_options", where));
  }
  if (o.buckets && o.legacy_buckets) {
    return Fail(node,
                fmt::format("{}: buckets both at the top level and in histogram_options", where));
  }
  ObserverType type = EffectiveType(o);
  if (type == ObserverType::kDefault) type = d.observer;
  r.observer = type;
  if (type == ObserverType::kHistogram && o.has_summary_options) {
    return Fail(node, fmt::format("{}: summary_options with a histogram observer", where));
  }
  if (type == ObserverType::kSummary && o.has_histogram_options) {
    return Fail(node, fmt::format("{}: histogram_options with a summary observer", where));
  }
  r.buckets = o.buckets ? *o.buckets : o.legacy_buckets.value_or(d.buckets);
  r.quantiles = o.quantiles ? *o.quantiles : o.legacy_quantiles.value_or(d.quantiles);
  if (r.ttl.count() == 0) r.ttl = d.ttl;
  return {};
}

Result<MappingFile> Reader::Read(const Node& root) {
  MappingFile file;
  if (root.IsNull()) return file;  // an empty file: no mappings
  if (!root.IsMap()) return Fail(root, "the file must be a map with `defaults` and `mappings`");
  Node mappings;
  Status s = ForEachKey(root, "top level", {"defaults", "mappings"},
                        [&](std::string_view key, const Node& v) -> Status {
                          if (key == "defaults") return ReadDefaults(v, file.defaults);
                          mappings.reset(v);
                          return {};
                        });
  if (!s.ok()) return s;
  if (!mappings || mappings.IsNull()) return file;
  if (!mappings.IsSequence()) return Fail(mappings, "mappings must be a list");
  size_t index = 0;
  for (const Node& entry : mappings) {
    if (Status c = Count(entry); !c.ok()) return c;
    Rule r;
    if (Status e = ReadRule(entry, index++, file.defaults, r); !e.ok()) return e;
    file.rules.push_back(std::move(r));
  }
  return file;
}

}  // namespace

Result<MappingFile> ParseMappingFile(std::string_view yaml, std::string_view origin) {
  try {
    // The defaults must be read before the mappings whatever their order in the file: Read
    // looks `mappings` up after the whole top level was checked.
    const Node root = YAML::Load(std::string(yaml));
    return Reader(origin).Read(root);
  } catch (const YAML::Exception& e) {
    return Status::Error(fmt::format("{}:{}: {}", origin, e.mark.line < 0 ? 0 : e.mark.line + 1,
                                     e.msg.empty() ? std::string(e.what()) : e.msg));
  }
}

}  // namespace cstatsd::prometheus::internal
