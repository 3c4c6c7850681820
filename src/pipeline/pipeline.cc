#include "pipeline/pipeline.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace cstatsd::pipeline {
namespace {

constexpr std::string_view kHostPrefix = "host:";

void SortTags(std::vector<std::string_view>& tags) {
  // Insertion sort for the usual handful; std::sort beyond that.
  if (tags.size() > 16) {
    std::sort(tags.begin(), tags.end());
    return;
  }
  for (size_t i = 1; i < tags.size(); ++i) {
    std::string_view t = tags[i];
    size_t j = i;
    while (j > 0 && t < tags[j - 1]) {
      tags[j] = tags[j - 1];
      --j;
    }
    tags[j] = t;
  }
}

// Sorted with no duplicates: nothing to do for the usual client, which sends its tags in order.
bool StrictlyIncreasing(const std::vector<std::string_view>& tags) {
  for (size_t i = 1; i < tags.size(); ++i) {
    if (!(tags[i - 1] < tags[i])) return false;
  }
  return true;
}

}  // namespace

PipelineOptions PipelineOptions::From(const config::Options& o) {
  PipelineOptions p;
  p.ignore_host = o.ignore_host;
  p.max_histogram_bounds = o.max_histogram_bounds;
  p.gauge_deltas = o.gauge_deltas;
  p.float_counters = o.float_counters;
  // First occurrence kept, in order; a set keeps start-up linear in the number of tags.
  std::unordered_set<std::string_view> seen;
  for (const std::string& t : o.default_tags) {
    if (seen.insert(t).second) p.default_tags.push_back(t);
  }
  return p;
}

Pipeline::Pipeline(const PipelineOptions* options) : options_(options) {
  tags_.reserve(16);
  staged_keys_.resize(4096);
}

std::string_view Pipeline::SourceAndTags(const ParsedMetric& m, std::string_view sender) {
  tags_.resize(m.tags.size());
  std::copy(m.tags.begin(), m.tags.end(), tags_.begin());
  if (!options_->ignore_host) return sender;
  for (size_t i = 0; i < tags_.size(); ++i) {
    if (tags_[i].substr(0, kHostPrefix.size()) == kHostPrefix) {
      std::string_view source = tags_[i].substr(kHostPrefix.size());
      tags_.erase(tags_.begin() + static_cast<std::ptrdiff_t>(i));
      return source;
    }
  }
  return {};
}

void Pipeline::Receive(const ParsedMetric& m, std::string_view sender, int64_t now_ns,
                       MetricMap& out) {
  StageWithSource(m, SourceAndTags(m, sender), out);
  Commit(now_ns, out);
}

void Pipeline::ReceiveWithSource(const ParsedMetric& m, std::string_view source, int64_t now_ns,
                                 MetricMap& out) {
  // Internal metrics are built, not parsed: the value rules of a line still apply to them.
  if (!ValidSampleRate(m.rate) || !std::all_of(m.values.begin(), m.values.end(), ValidValue)) {
    ++refused_;
    return;
  }
  tags_.resize(m.tags.size());
  std::copy(m.tags.begin(), m.tags.end(), tags_.begin());
  StageWithSource(m, source, out);
  Commit(now_ns, out);
}

bool Pipeline::Filter(std::string_view name, std::string_view& source) {
  dropped_.clear();
  const filter::FilterSet* filters = options_->filters.get();
  if (filters == nullptr || filters->empty()) return true;
  const filter::Outcome o = filters->Apply(name, tags_, dropped_);
  if (o.drop) {
    ++filtered_;
    return false;
  }
  if (o.clear_source) source = {};
  return true;
}

inline char* Pipeline::AppendTags(char* p, size_t tags_len, bool one_run) const {
  if (one_run) return KeyAppend(p, {tags_.front().data(), tags_len});
  for (size_t i = 0; i < tags_.size(); ++i) {
    if (i > 0) *p++ = ',';
    p = KeyAppend(p, tags_[i]);
  }
  return p;
}

KeyParts Pipeline::LayoutKey(MetricType type, std::string_view name, std::string_view source,
                             std::vector<char>& buf, size_t at) {
  for (const std::string& t : options_->default_tags) {
    // A default tag equal to a tag a filter dropped is left out too (as gostatsd).
    if (dropped_.empty() || std::find(dropped_.begin(), dropped_.end(), t) == dropped_.end()) {
      tags_.push_back(t);
    }
  }
  size_t tags_len = 0;
  // Tags still laid out as the line sent them, one ','-separated run already sorted (as most
  // clients send them), are copied in one piece.
  bool one_run = true;
  if (!tags_.empty()) {
    if (tags_.size() > 1 && !StrictlyIncreasing(tags_)) {
      SortTags(tags_);
      tags_.erase(std::unique(tags_.begin(), tags_.end()), tags_.end());
    }
    tags_len = tags_.size() - 1;  // commas
    for (size_t i = 0; i < tags_.size(); ++i) {
      tags_len += tags_[i].size();
      // The next tag starts right after this one's ',' (both in one buffer: the byte between
      // belongs to the next view's buffer, so reading it is safe once the addresses match).
      if (i > 0 && (tags_[i].data() != tags_[i - 1].data() + tags_[i - 1].size() + 1 ||
                    tags_[i].data()[-1] != ',')) {
        one_run = false;
      }
    }
  }
  const size_t total = name.size() + tags_len + source.size();
  if (at + total > buf.size()) buf.resize(std::max(at + total, buf.size() * 2));
  char* p = KeyAppend(buf.data() + at, name);
  if (tags_len > 0) p = AppendTags(p, tags_len, one_run);
  KeyAppend(p, source);
  return KeyParts{type, std::string_view(buf.data() + at, total),
                  static_cast<uint32_t>(name.size()), static_cast<uint32_t>(tags_len)};
}

bool Pipeline::Stage(const ParsedMetric& m, std::string_view sender, MetricMap& out, int64_t now_ns,
                     bool may_park) {
  std::string_view source = SourceAndTags(m, sender);
  if (cloud_ != nullptr) {
    // A container id the provider knows decides the pod, whatever the sender; else the source
    // (docs/cloud-providers.md#origin-detection).
    const cloud::Instance* pod =
        m.container_id.empty() ? nullptr : cloud_->ResolveContainer(m.container_id);
    if (pod != nullptr) {
      ApplyInstance(*pod, source);
    } else if (!Enrich(source, now_ns, may_park)) {
      return false;
    }
  }
  StageWithSource(m, source, out);
  return true;
}

bool Pipeline::Enrich(std::string_view& source, int64_t now_ns, bool may_park) {
  const cloud::Enricher::Resolution r = cloud_->Resolve(source, now_ns, may_park);
  switch (r.action) {
    case cloud::Enricher::Action::kPass:
      return true;
    case cloud::Enricher::Action::kPark:
      missed_source_ = source;
      return false;
    case cloud::Enricher::Action::kEnrich:
      ApplyInstance(*r.instance, source);
      return true;
  }
  return true;
}

void Pipeline::ApplyInstance(const cloud::Instance& instance, std::string_view& source) {
  source = instance.id;
  for (const std::string& t : instance.tags) tags_.push_back(t);
}

// tags_ holds the metric's tags (source already decided).
void Pipeline::StageWithSource(const ParsedMetric& m, std::string_view source, MetricMap& out) {
  if (m.type == MetricType::kGauge && m.values.empty()) return;
  if (!Filter(m.name, source)) return;
  const KeyParts parts = LayoutKey(m.type, m.name, source, staged_keys_, staged_keys_len_);
  Staged st;
  st.hash = SeriesKey::Hash(parts);
  st.key_off = static_cast<uint32_t>(staged_keys_len_);
  st.key_len = static_cast<uint32_t>(parts.bytes.size());
  st.name_len = parts.name_len;
  st.tags_len = parts.tags_len;
  st.type = m.type;
  st.timer_kind = m.timer_kind;
  // gauge-deltas (docs/aggregation.md#gauge-deltas); a timestamped sample is never a delta.
  st.gauge_delta =
      m.gauge_delta && options_->gauge_deltas && m.type == MetricType::kGauge && m.timestamp == 0;
  st.rate = m.rate;
  st.value = 0;
  st.values_off = st.values_count = 0;
  st.timestamp = m.timestamp;  // read for counters and gauges only
  switch (m.type) {
    case MetricType::kCounter:
      for (double v : m.values) st.value += v;
      break;
    case MetricType::kGauge:
      st.value = m.values.back();
      if (st.gauge_delta) [[unlikely]] {
        // The last unsigned value (if any) and the signed ones after it, in order: `x:5:+1:-2|g`
        // sets 4, `x:+1:-2|g` adds -1 (ParsedMetric::gauge_delta_from).
        const size_t from = std::min<size_t>(m.gauge_delta_from, m.values.size());
        double v = from > 0 ? m.values[from - 1] : 0;
        for (size_t i = from; i < m.values.size(); ++i) v += m.values[i];
        st.value = v;
        st.gauge_delta = from == 0;
      }
      break;
    case MetricType::kTimer:
      st.values_off = static_cast<uint32_t>(staged_values_.size());
      st.values_count = static_cast<uint32_t>(m.values.size());
      staged_values_.insert(staged_values_.end(), m.values.begin(), m.values.end());
      break;
    case MetricType::kSet:
      st.member = m.set_value;
      break;
  }
  staged_keys_len_ += parts.bytes.size();
  staged_.push_back(st);
  out.Prefetch(m.type, st.hash);
}

void Pipeline::Commit(int64_t now_ns, MetricMap& out) {
  for (const Staged& st : staged_) {
    const KeyParts parts{st.type, std::string_view(staged_keys_.data() + st.key_off, st.key_len),
                         st.name_len, st.tags_len};
    switch (st.type) {
      case MetricType::kCounter:
        if (st.timestamp != 0) [[unlikely]] {
          out.timed.AddCounter(parts, st.hash, st.timestamp, CounterDelta(st.value, st.rate),
                               now_ns);
          break;
        }
        if (options_->float_counters) [[unlikely]] {
          out.ReceiveFloatCounter(parts, st.hash, FloatCounterDelta(st.value, st.rate), now_ns);
          break;
        }
        out.ReceiveCounter(parts, st.hash, CounterDelta(st.value, st.rate), now_ns);
        break;
      case MetricType::kGauge:
        if (st.timestamp != 0) [[unlikely]] {
          out.timed.AddGauge(parts, st.hash, st.timestamp, st.value, now_ns);
          break;
        }
        if (st.gauge_delta) [[unlikely]] {
          out.ReceiveGaugeDelta(parts, st.hash, st.value, now_ns);
          break;
        }
        out.ReceiveGauge(parts, st.hash, st.value, now_ns);
        break;
      case MetricType::kTimer:
        out.ReceiveTimer(parts, st.hash, staged_values_.data() + st.values_off, st.values_count,
                         TimerLineWeight(st.rate), st.timer_kind, now_ns);
        break;
      case MetricType::kSet:
        out.ReceiveSet(parts, st.hash, st.member, now_ns);
        break;
    }
  }
  staged_.clear();
  staged_values_.clear();
  staged_keys_len_ = 0;
}

bool ValidAggregated(const AggregatedSeries& s, uint32_t max_histogram_bounds) {
  switch (s.type) {
    case MetricType::kCounter:
      return !s.has_float_counter || ValidValue(s.float_counter);
    case MetricType::kSet:
      return true;
    case MetricType::kGauge:
      return ValidValue(s.gauge);
    case MetricType::kTimer:
      if (!ValidSampleCount(s.sample_count)) return false;
      for (size_t i = 0; i < s.timer_count; ++i) {
        if (!ValidValue(s.timer_values[i])) return false;
      }
      for (std::string_view tag : s.tags) {
        if (HistogramTagOverLimit(tag, max_histogram_bounds)) return false;
      }
      return true;
  }
  return false;
}

bool Pipeline::ReceiveAggregated(const AggregatedSeries& s, std::string_view source, int64_t now_ns,
                                 MetricMap& out) {
  if (!ValidAggregated(s, options_->max_histogram_bounds)) {
    ++refused_;
    return false;
  }
  tags_.assign(s.tags.begin(), s.tags.end());
  if (cloud_ != nullptr) Enrich(source, now_ns, false);
  if (!Filter(s.name, source)) return true;
  // Laid out after whatever is staged, so a pending batch is left intact.
  const KeyParts parts = LayoutKey(s.type, s.name, source, staged_keys_, staged_keys_len_);
  const uint64_t hash = SeriesKey::Hash(parts);
  switch (s.type) {
    case MetricType::kCounter:
      if (options_->float_counters) {
        // The fraction when the forwarder sent it (docs/forwarder.md#schema), else the integer.
        out.ReceiveFloatCounter(
            parts, hash,
            FloatCounterDelta(
                s.has_float_counter ? s.float_counter : static_cast<double>(s.counter), 1.0),
            now_ns);
      } else {
        out.ReceiveCounter(parts, hash, s.counter, now_ns);
      }
      break;
    case MetricType::kGauge:
      out.ReceiveGauge(parts, hash, s.gauge, now_ns);
      break;
    case MetricType::kTimer:
      out.ReceiveTimer(parts, hash, s.timer_values, s.timer_count, s.sample_count, s.timer_kind,
                       now_ns);
      break;
    case MetricType::kSet:
      out.ReceiveSet(parts, hash, std::span<const std::string_view>(s.set_members), now_ns);
      break;
  }
  return true;
}

void UniqueEventTags(std::vector<std::string>& tags, const std::vector<std::string>& defaults) {
  // As gostatsd's uniqueTags: a repeated tag is replaced by the last one (so the order changes
  // as in gostatsd's), then the default tags not already present are appended.
  const auto run = [&](auto&& seen) {
    size_t last = tags.size();
    for (size_t i = 0; i < last;) {
      if (!seen(tags[i])) {
        ++i;
        continue;
      }
      --last;
      if (i != last) tags[i] = std::move(tags[last]);
      tags.resize(last);
    }
    for (const std::string& t : defaults) {
      if (!seen(t)) tags.push_back(t);
    }
  };
  constexpr size_t kLinearUpTo = 16;  // a handful of tags: no hash set
  if (tags.size() + defaults.size() <= kLinearUpTo) {
    size_t kept = 0;  // tags[0, kept) were seen: the unique tags so far (defaults are unique)
    run([&](const std::string& t) {
      const auto end = tags.begin() + static_cast<std::ptrdiff_t>(kept);
      if (std::find(tags.begin(), end, t) != end) return true;
      ++kept;
      return false;
    });
  } else {
    std::unordered_set<std::string> seen;
    seen.reserve(tags.size() + defaults.size());
    run([&](const std::string& t) { return !seen.insert(t).second; });
  }
}

void Pipeline::ReceiveEvent(Event& e, std::string_view sender) const {
  e.source.assign(sender);
  UniqueEventTags(e.tags, options_->default_tags);
}

}  // namespace cstatsd::pipeline
