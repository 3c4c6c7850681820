#include "backends/cloudwatch/cloudwatch_format.h"

#include <cctype>
#include <cmath>
#include <ctime>

#include "backends/common/timer_stats.h"
#include "core/go_format.h"
#include "transport/url.h"

namespace cstatsd::backends::cloudwatch {
namespace {

std::string IsoTime(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class Builder {
 public:
  Builder(std::string_view ns, int64_t now) : timestamp_(IsoTime(now)) {
    header_ = "Action=PutMetricData&Namespace=";
    transport::AppendQueryEscaped(header_, ns);
    header_ += "&Version=2010-08-01";
  }

  void Add(const SeriesKey& key, std::string_view prefix, std::string_view suffix,
           std::string_view unit, double value, std::string_view extra_tag = {}) {
    if (!std::isfinite(value)) {
      ++out_.non_finite_skipped;
      return;
    }
    if (in_request_ == 0) body_ = header_;
    const std::string m = "&MetricData.member." + std::to_string(++in_request_) + ".";
    size_t dim = 0;
    auto dimension = [&](std::string_view tag) {
      if (dim == kMaxDimensions) {
        ++dim;  // counted once below
        return;
      }
      if (dim > kMaxDimensions) return;
      const size_t colon = tag.find(':');
      const std::string_view name = colon == std::string_view::npos ? tag : tag.substr(0, colon);
      const std::string_view val =
          colon == std::string_view::npos ? std::string_view("set") : tag.substr(colon + 1);
      const std::string d = m + "Dimensions.member." + std::to_string(++dim) + ".";
      body_ += d + "Name=";
      transport::AppendQueryEscaped(body_, name);
      body_ += d + "Value=";
      transport::AppendQueryEscaped(body_, val);
    };
    key.ForEachTag(dimension);
    if (!extra_tag.empty()) dimension(extra_tag);
    if (dim > kMaxDimensions) ++out_.truncated_dimensions;
    body_ += m + "MetricName=";
    transport::AppendQueryEscaped(body_, prefix);
    transport::AppendQueryEscaped(body_, key.name());
    transport::AppendQueryEscaped(body_, suffix);
    body_ += m + "Timestamp=";
    transport::AppendQueryEscaped(body_, timestamp_);
    body_ += m + "Unit=";
    transport::AppendQueryEscaped(body_, unit);
    body_ += m + "Value=";
    AppendGoShortestFixed(body_, value);
    ++out_.datums;
    if (in_request_ == kDatumsPerRequest) Close();
  }

  Bodies Finish() {
    if (in_request_ > 0) Close();
    return std::move(out_);
  }

 private:
  void Close() {
    out_.requests.push_back(std::move(body_));
    body_.clear();
    in_request_ = 0;
  }

  std::string timestamp_;
  std::string header_;
  std::string body_;
  size_t in_request_ = 0;
  Bodies out_;
};

}  // namespace

Bodies FormatRequests(const snapshot::FlushSnapshot& s, const config::DisabledSubMetrics& d,
                      std::string_view namespace_name, int64_t now_seconds) {
  Builder b(namespace_name, now_seconds);
  constexpr std::string_view kCounter = "stats.counter.", kTimer = "stats.timers.";
  for (const auto& c : s.counters) {
    b.Add(*c.key, kCounter, ".count", "Count", s.Count(c));
    b.Add(*c.key, kCounter, ".per_second", "Count/Second", c.per_second);
  }
  std::string suffix, le;
  for (const auto& t : s.timers) {
    if (t.histogram) {
      for (const auto& bucket : s.BucketsOf(t)) {
        AssignBucketTag(le, bucket.le);
        b.Add(*t.key, kTimer, ".histogram", "Count", static_cast<double>(bucket.count), le);
      }
      continue;
    }
    ForEachTimerStat(s, t, d, [&](TimerStat stat, std::string_view name, double v) {
      const std::string_view dotted = DottedTimerStat(stat, name, suffix);
      const std::string_view unit = stat == TimerStat::kCount            ? "Count"
                                    : stat == TimerStat::kCountPerSecond ? "Count/Second"
                                                                         : "Milliseconds";
      b.Add(*t.key, kTimer, dotted, unit, v);
    });
  }
  for (const auto& g : s.gauges) b.Add(*g.key, "stats.gauge.", "", "None", g.value);
  for (const auto& set : s.sets) {
    b.Add(*set.key, "stats.set.", "", "None", static_cast<double>(set.cardinality));
  }
  return b.Finish();
}

}  // namespace cstatsd::backends::cloudwatch
