#include "pipeline/pipeline.h"

#include <algorithm>
#include <cstring>

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

}  // namespace

PipelineOptions PipelineOptions::From(const config::Options& o) {
  PipelineOptions p;
  p.ignore_host = o.ignore_host;
  for (const std::string& t : o.default_tags) {
    if (std::find(p.default_tags.begin(), p.default_tags.end(), t) == p.default_tags.end()) {
      p.default_tags.push_back(t);
    }
  }
  return p;
}

Pipeline::Pipeline(const PipelineOptions* options) : options_(options) {
  tags_.reserve(16);
  key_.resize(256);
}

void Pipeline::Receive(const ParsedMetric& m, std::string_view sender, int64_t now_ns,
                       MetricMap& out) {
  tags_.resize(m.tags.size());
  std::copy(m.tags.begin(), m.tags.end(), tags_.begin());
  std::string_view source = sender;
  if (options_->ignore_host) {
    source = {};
    for (size_t i = 0; i < tags_.size(); ++i) {
      if (tags_[i].substr(0, kHostPrefix.size()) == kHostPrefix) {
        source = tags_[i].substr(kHostPrefix.size());
        tags_.erase(tags_.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  Dispatch(m, source, now_ns, out);
}

void Pipeline::ReceiveWithSource(const ParsedMetric& m, std::string_view source, int64_t now_ns,
                                 MetricMap& out) {
  tags_.resize(m.tags.size());
  std::copy(m.tags.begin(), m.tags.end(), tags_.begin());
  Dispatch(m, source, now_ns, out);
}

void Pipeline::Dispatch(const ParsedMetric& m, std::string_view source, int64_t now_ns,
                        MetricMap& out) {
  for (const std::string& t : options_->default_tags) tags_.push_back(t);
  size_t tags_len = 0;
  if (!tags_.empty()) {
    if (tags_.size() > 1) {
      SortTags(tags_);
      tags_.erase(std::unique(tags_.begin(), tags_.end()), tags_.end());
    }
    tags_len = tags_.size() - 1;  // commas
    for (std::string_view t : tags_) tags_len += t.size();
  }
  const size_t total = m.name.size() + tags_len + source.size();
  if (total > key_.size()) key_.resize(std::max(total, key_.size() * 2));
  char* p = KeyAppend(key_.data(), m.name);
  for (size_t i = 0; i < tags_.size(); ++i) {
    if (i > 0) *p++ = ',';
    p = KeyAppend(p, tags_[i]);
  }
  KeyAppend(p, source);
  const KeyParts parts{m.type, std::string_view(key_.data(), total),
                       static_cast<uint32_t>(m.name.size()), static_cast<uint32_t>(tags_len)};

  switch (m.type) {
    case MetricType::kCounter: {
      double sum = 0;
      for (double v : m.values) sum += v;
      out.ReceiveCounter(parts, CounterDelta(sum, m.rate), now_ns);
      break;
    }
    case MetricType::kGauge:
      if (!m.values.empty()) out.ReceiveGauge(parts, m.values.back(), now_ns);
      break;
    case MetricType::kTimer:
      out.ReceiveTimer(parts, m.values.data(), m.values.size(), m.rate, now_ns);
      break;
    case MetricType::kSet:
      out.ReceiveSet(parts, m.set_value, now_ns);
      break;
  }
}

void Pipeline::ReceiveEvent(Event& e, std::string_view sender) const {
  e.source.assign(sender);
  for (const std::string& t : options_->default_tags) {
    if (std::find(e.tags.begin(), e.tags.end(), t) == e.tags.end()) e.tags.push_back(t);
  }
}

}  // namespace cstatsd::pipeline
