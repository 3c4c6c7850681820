// The aggregator's timers (docs/aggregation.md#flush): the values' parts moved in by the merge
// and given back by Reset, and the flush's statistics of them (percentiles, histograms, raw
// values). Aggregator's own members; the rest of the class is in aggregator.cc.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "aggregate/aggregator.h"
#include "protocol/float_parse.h"

namespace cstatsd::aggregate {
namespace {

double RoundHalfUp(double v) { return std::floor(v + 0.5); }

// Finds the first tag starting with gsd_histogram: in a sorted, ','-joined tag list.
bool FindHistogramSpec(const SeriesKey& key, std::string_view& spec) {
  bool found = false;
  key.ForEachTag([&](std::string_view tag) {
    if (!found && tag.substr(0, kHistogramTagPrefix.size()) == kHistogramTagPrefix) {
      spec = tag.substr(kHistogramTagPrefix.size());
      found = true;
    }
  });
  return found;
}

}  // namespace

std::string PercentileSuffix(double threshold) {
  if (threshold == std::trunc(threshold)) {
    return fmt::format("{}", static_cast<int64_t>(threshold));
  }
  std::string s = fmt::format("{}", threshold);
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

std::vector<double> HistogramBounds(std::string_view spec, uint32_t limit) {
  std::vector<double> bounds;
  std::string scratch;
  while (true) {
    const size_t sep = spec.find('_');
    double v = 0;
    // Go's ParseFloat, as for values: hex floats, underflow to 0; out of range or NaN skipped.
    if (bounds.size() < limit &&
        protocol::ParseGoFloat(spec.substr(0, sep), v, scratch) ==
            protocol::FloatParseStatus::kOk &&
        ValidValue(v)) {
      bounds.push_back(v);
    }
    if (sep == std::string_view::npos) break;
    spec.remove_prefix(sep + 1);
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  // The +Inf bucket is always there (counting every value): a +Inf bound is that bucket.
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  return bounds;
}

void HistogramBuckets(const std::vector<double>& bounds, const std::vector<double>& values,
                      std::vector<BucketPoint>& out) {
  // counts[i]: values whose first bound >= value is bounds[i] (i = bounds.size(): none, +Inf);
  // the buckets are the running sums. One binary search per value: n log B, not n × B, and
  // branch-free (a conditional move per step): 100 bounds x 10^5 values take ~0.7 ms where
  // std::lower_bound's mispredicted branches took ~3.5 ms and one scan per bound ~3-7 ms.
  std::vector<uint64_t> counts(bounds.size() + 1, 0);
  if (bounds.empty()) {
    counts[0] = values.size();
  } else {
    const double* const first = bounds.data();
    for (double x : values) {
      const double* base = first;
      size_t n = bounds.size();
      while (n > 1) {
        const size_t half = n / 2;
        base = base[half] < x ? base + half : base;
        n -= half;
      }
      ++counts[static_cast<size_t>(base - first) + (*base < x ? 1 : 0)];
    }
  }
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    out.push_back({bounds[i], cumulative});
  }
  out.push_back({std::numeric_limits<double>::infinity(), values.size()});
}

// A map's timer values are moved, never copied: each map's vector becomes a part chained from
// the state's entry (TimerAgg::extra), and the flush reads them together (TimerValues). The
// map's entry keeps how many it held, and gets its vector back, emptied, at Reset if the map was
// lent (MergeLent), so the next interval appends without allocating; a value exists in the map
// receiving it and, until Reset, in the state (docs/performance.md#memory-per-series).
void Aggregator::MergeInto(TimerAgg& s, TimerAgg& d) {
  const size_t n = d.values.size();
  d.extra = static_cast<uint32_t>(std::min<size_t>(n, UINT32_MAX));
  if (n > 0) {
    timer_parts_.push_back({s.extra, lender_, std::move(d.values)});
    s.extra = static_cast<uint32_t>(timer_parts_.size());
  }
  s.sampled_count += d.sampled_count;
  s.kinds |= d.kinds;  // order-free (docs/aggregation.md#timer-kinds)
  s.last_ns = std::max(s.last_ns, d.last_ns);
}

// The state's own vector stays empty: every value is in a part until TakeState folds them.
std::vector<double>& Aggregator::TimerValues(TimerAgg& t) {
  if (t.extra == 0) return t.values;  // no values this interval
  TimerPart& last = timer_parts_[t.extra - 1];
  if (last.next == 0) return last.values;  // one map sent values
  chain_.clear();
  for (uint32_t i = t.extra; i != 0; i = timer_parts_[i - 1].next) chain_.push_back(i - 1);
  timer_scratch_.clear();
  for (auto it = chain_.rbegin(); it != chain_.rend(); ++it) {  // in merge order
    const std::vector<double>& p = timer_parts_[*it].values;
    timer_scratch_.insert(timer_scratch_.end(), p.begin(), p.end());
  }
  return timer_scratch_;
}
void Aggregator::ComputeTimer(TimerAgg& t, const SeriesKeyRef& key, double flush_seconds,
                              FlushSnapshot& out) {
  TimerPoint p;
  p.key = key;
  p.kind = t.kinds != 0 ? ResolveTimerKind(t.kinds) : t.last_kind;
  std::vector<double>& v = TimerValues(t);
  const size_t n = v.size();

  std::string_view spec;
  if (FindHistogramSpec(*key, spec)) {
    p.histogram = true;
    p.buckets_begin = static_cast<uint32_t>(out.buckets.size());
    if (options_.histogram_limit > 0) {
      HistogramBuckets(HistogramBounds(spec, options_.histogram_limit), v, out.buckets);
    }
    p.buckets_end = static_cast<uint32_t>(out.buckets.size());
    p.percentiles_begin = p.percentiles_end = static_cast<uint32_t>(out.percentiles.size());
    AppendRaw(v, p, out);
    out.timers.push_back(std::move(p));
    return;
  }

  p.percentiles_begin = static_cast<uint32_t>(out.percentiles.size());
  if (n > 0) {
    std::sort(v.begin(), v.end());
    prefix_sums_.resize(n);
    prefix_squares_.resize(n);
    double sum = 0, squares = 0;
    for (size_t i = 0; i < n; ++i) {
      sum += v[i];
      squares += v[i] * v[i];
      prefix_sums_[i] = sum;
      prefix_squares_[i] = squares;
    }
    const auto& names = *names_;
    const auto& d = options_.disabled;
    for (const Threshold& th : thresholds_) {
      size_t k = n;
      double boundary = v[n - 1], psum = v[0], psq = v[0] * v[0], pmean = v[0];
      if (n > 1) {
        k = static_cast<size_t>(RoundHalfUp(std::fabs(th.p) / 100.0 * static_cast<double>(n)));
        if (k == 0) continue;
        k = std::min(k, n);
        if (th.p > 0) {
          boundary = v[k - 1];
          psum = prefix_sums_[k - 1];
          psq = prefix_squares_[k - 1];
        } else {
          boundary = v[n - k];
          const double below = k == n ? 0 : prefix_sums_[n - k - 1];
          const double below_sq = k == n ? 0 : prefix_squares_[n - k - 1];
          psum = prefix_sums_[n - 1] - below;
          psq = prefix_squares_[n - 1] - below_sq;
        }
        pmean = psum / static_cast<double>(k);
      }
      auto emit = [&](uint32_t name, double value) {
        out.percentiles.push_back({names[name], value});
      };
      if (!d.count_pct) emit(th.count_name, static_cast<double>(k));
      if (!d.mean_pct) emit(th.mean_name, pmean);
      if (!d.sum_pct) emit(th.sum_name, psum);
      if (!d.sum_squares_pct) emit(th.sum_squares_name, psq);
      if (th.p > 0 ? !d.upper_pct : !d.lower_pct) emit(th.bound_name, boundary);
    }
    const double count = static_cast<double>(n);
    p.min = v[0];
    p.max = v[n - 1];
    p.sum = prefix_sums_[n - 1];
    p.sum_squares = prefix_squares_[n - 1];
    p.mean = p.sum / count;
    double diffs = 0;
    for (double x : v) diffs += (x - p.mean) * (x - p.mean);
    p.stddev = std::sqrt(diffs / count);
    p.median = n % 2 == 0 ? (v[n / 2 - 1] + v[n / 2]) / 2 : v[n / 2];
    p.count = SaturateToInt64(RoundHalfUp(t.sampled_count));
    p.count_per_second = t.sampled_count / flush_seconds;
  }
  p.percentiles_end = static_cast<uint32_t>(out.percentiles.size());
  p.buckets_begin = p.buckets_end = static_cast<uint32_t>(out.buckets.size());
  AppendRaw(v, p, out);
  out.timers.push_back(std::move(p));
}

void Aggregator::AppendRaw(const std::vector<double>& values, TimerPoint& p,
                           FlushSnapshot& out) const {
  p.values_begin = static_cast<uint32_t>(out.timer_values.size());
  if (options_.keep_raw_values) {
    out.timer_values.insert(out.timer_values.end(), values.begin(), values.end());
  }
  p.values_end = static_cast<uint32_t>(out.timer_values.size());
}

// Each lent map's entry of the series gets its vector back, emptied, unless the entry has one
// already (a series folded into an overflow series) or the vector is over twice what it held
// (+64): a series whose rate fell does not keep its peak's capacity.
void Aggregator::ReturnTimerValues() {
  for (auto& e : timers_.entries()) {
    for (uint32_t i = e.value.extra; i != 0; i = timer_parts_[i - 1].next) {
      TimerPart& p = timer_parts_[i - 1];
      if (p.lender == nullptr || p.values.capacity() > 2 * p.values.size() + 64) continue;
      auto* home = p.lender->timers.FindEntry(*e.key);
      if (home == nullptr || home->value.values.capacity() != 0) continue;
      p.values.clear();
      home->value.values.swap(p.values);
    }
  }
}

}  // namespace cstatsd::aggregate
