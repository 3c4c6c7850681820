// The sub-metrics of a timer and the labels of a histogram's buckets, listed once for every
// encoder (docs/backends.md). Pure functions over a FlushSnapshot; any thread.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/options.h"
#include "core/go_format.h"
#include "snapshot/flush_snapshot.h"

namespace cstatsd::backends {

// A timer's statistics, in the order gostatsd emits them; kPercentile is one of the
// snapshot's percentile sub-metrics ("upper_90", "count_99_9").
enum class TimerStat : uint8_t {
  kLower,
  kUpper,
  kCount,
  kCountPerSecond,
  kMean,
  kMedian,
  kStddev,
  kSum,
  kSumSquares,
  kPercentile,
};

struct TimerStatInfo {
  TimerStat stat;
  std::string_view dotted;  // gostatsd's suffix with its dot: ".lower", ".count_ps", ".std", ...
  bool config::DisabledSubMetrics::*disabled;
  std::string_view name() const { return dotted.substr(1); }
};

// Every statistic but the percentiles, in gostatsd's order.
inline constexpr std::array<TimerStatInfo, 9> kTimerStats = {{
    {TimerStat::kLower, ".lower", &config::DisabledSubMetrics::lower},
    {TimerStat::kUpper, ".upper", &config::DisabledSubMetrics::upper},
    {TimerStat::kCount, ".count", &config::DisabledSubMetrics::count},
    {TimerStat::kCountPerSecond, ".count_ps", &config::DisabledSubMetrics::count_per_second},
    {TimerStat::kMean, ".mean", &config::DisabledSubMetrics::mean},
    {TimerStat::kMedian, ".median", &config::DisabledSubMetrics::median},
    {TimerStat::kStddev, ".std", &config::DisabledSubMetrics::stddev},
    {TimerStat::kSum, ".sum", &config::DisabledSubMetrics::sum},
    {TimerStat::kSumSquares, ".sum_squares", &config::DisabledSubMetrics::sum_squares},
}};
static_assert(
    [] {
      for (size_t i = 0; i < kTimerStats.size(); ++i) {
        if (static_cast<size_t>(kTimerStats[i].stat) != i) return false;
      }
      return true;
    }(),
    "kTimerStats is indexed by TimerStat");

// The value of a statistic (kCount as a double; encoders that print it as an integer read
// TimerPoint::count).
inline double TimerStatValue(const snapshot::TimerPoint& t, TimerStat stat) {
  switch (stat) {
    case TimerStat::kLower:
      return t.min;
    case TimerStat::kUpper:
      return t.max;
    case TimerStat::kCount:
      return static_cast<double>(t.count);
    case TimerStat::kCountPerSecond:
      return t.count_per_second;
    case TimerStat::kMean:
      return t.mean;
    case TimerStat::kMedian:
      return t.median;
    case TimerStat::kStddev:
      return t.stddev;
    case TimerStat::kSum:
      return t.sum;
    case TimerStat::kSumSquares:
      return t.sum_squares;
    case TimerStat::kPercentile:
      break;
  }
  return 0;
}

inline bool TimerStatEnabled(const config::DisabledSubMetrics& d, TimerStat stat) {
  for (const TimerStatInfo& i : kTimerStats) {
    if (i.stat == stat) return !(d.*i.disabled);
  }
  return true;
}

// Whether [disabled-sub-metrics] keeps a percentile sub-metric ("upper_90" → upper_pct). The
// aggregator already leaves disabled percentiles out of its snapshots; this keeps a snapshot
// built elsewhere honest too.
inline bool PercentileEnabled(std::string_view name, const config::DisabledSubMetrics& d) {
  if (name.starts_with("sum_squares_")) return !d.sum_squares_pct;
  if (name.starts_with("count_")) return !d.count_pct;
  if (name.starts_with("mean_")) return !d.mean_pct;
  if (name.starts_with("sum_")) return !d.sum_pct;
  if (name.starts_with("upper_")) return !d.upper_pct;
  if (name.starts_with("lower_")) return !d.lower_pct;
  return true;
}

// Calls f(TimerStat, std::string_view name, double value) for every sub-metric of a (non-
// histogram) timer that [disabled-sub-metrics] keeps: the statistics in gostatsd's order, then
// the percentiles in the snapshot's order (name = "upper_90").
template <typename F>
void ForEachTimerStat(const snapshot::FlushSnapshot& s, const snapshot::TimerPoint& t,
                      const config::DisabledSubMetrics& d, F&& f) {
  for (const TimerStatInfo& i : kTimerStats) {
    if (!(d.*i.disabled)) f(i.stat, i.name(), TimerStatValue(t, i.stat));
  }
  for (const auto& p : s.PercentilesOf(t)) {
    if (PercentileEnabled(p.name, d)) f(TimerStat::kPercentile, p.name, p.value);
  }
}

// A sub-metric's suffix with its dot (".lower", ".upper_90"): the table's for a statistic, else
// written into `buf`.
inline std::string_view DottedTimerStat(TimerStat stat, std::string_view name, std::string& buf) {
  if (stat != TimerStat::kPercentile) return kTimerStats[static_cast<size_t>(stat)].dotted;
  buf.assign(".");
  buf += name;
  return buf;
}

// A histogram bucket's bound as gostatsd prints it: Go's shortest 'f' form, `inf` for +Inf
// ("+Inf" in the le: tag; New Relic writes "infinity").
inline void AppendBucketBound(std::string& out, double le, std::string_view inf = "+Inf") {
  if (std::isinf(le) && le > 0) {
    out += inf;
  } else {
    AppendGoShortestFixed(out, le);
  }
}

// The tag of a histogram bucket: "le:0.5", "le:+Inf".
inline void AssignBucketTag(std::string& out, double le, std::string_view inf = "+Inf") {
  out.assign("le:");
  AppendBucketBound(out, le, inf);
}

}  // namespace cstatsd::backends
