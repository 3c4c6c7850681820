// The shared series store written as remote write
// (docs/prometheus.md#backend-prometheus-remote-write): the mapping file's names and labels,
// nothing of a dropped mapping, counters as totals across flushes, sets as their cardinality,
// escaped label values sent as received, and a mapping's summary as quantiles, `_sum` and
// `_count`.
#include <gtest/gtest.h>

#include <map>

#include "backends/prometheus_remote_write/prometheus_remote_write_backend.h"
#include "prometheus/series_store.h"
#include "unit/backends/prometheus_remote_write_samples.h"
#include "unit/support/series.h"

namespace cstatsd::backends::prometheus_remote_write {
namespace {

using test::Key;

constexpr int64_t kFlushNs = 1700000000LL * 1000000000;

constexpr const char* kMapping = R"(mappings:
- match: "app.dispatcher.*.*"
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
    outcome: "$2"
- match: "app.secret.*"
  action: drop
  name: "dropped"
- match: "app.summ"
  observer_type: summary
  name: "app_summ"
)";

std::map<std::string, double> Encode(const prometheus::SeriesStore& store) {
  WriteRequestEncoder encoder(2000, kFlushNs / 1000000);
  EncodeStore(store, encoder);
  std::map<std::string, double> out;
  for (const auto& r : encoder.Finish()) AddSamples(r.body, out);
  return out;
}

// A store with kMapping, observers as histograms unless mapped.
std::unique_ptr<prometheus::SeriesStore> MappedStore() {
  auto mapping = prometheus::MappingConfig::Parse(kMapping, "test.yml");
  EXPECT_TRUE(mapping.ok()) << mapping.error();
  prometheus::StoreOptions o;
  o.observer = prometheus::ObserverType::kHistogram;
  return std::make_unique<prometheus::SeriesStore>(
      std::move(o), std::make_shared<const prometheus::MappingConfig>(std::move(*mapping)));
}

TEST(RemoteWriteEncodeTest, MappedNamesAndLabelsNothingDroppedAndCumulativeCounters) {
  auto store = MappedStore();
  for (int flush = 0; flush < 2; ++flush) {
    snapshot::FlushSnapshot s;
    s.flush_time_ns = kFlushNs + flush * 1000000000LL;
    s.counters.push_back({Key(MetricType::kCounter, "app.dispatcher.Foo.success"), 2, 0});
    s.counters.push_back({Key(MetricType::kCounter, "app.secret.token"), 5, 0});
    s.gauges.push_back({Key(MetricType::kGauge, "app.secret.gauge"), 5});
    s.sets.push_back({Key(MetricType::kSet, "app.users", "env:prod"), 3, 0, 0});
    // A value the store escapes (quote, backslash) goes out as it was received.
    s.gauges.push_back({Key(MetricType::kGauge, "app.path", "p:a\"b\\c,q:x"), 1});
    store->Update(s);
  }
  const auto got = Encode(*store);
  const std::map<std::string, double> want = {
      {"dispatcher_events_total{outcome=success,processor=Foo}", 4},
      {"app_users{env=prod}", 3},
      {"app_path{p=a\"b\\c,q=x}", 1},
  };
  EXPECT_EQ(got, want);
}

TEST(RemoteWriteEncodeTest, MappedSummaryAsQuantilesSumAndCount) {
  auto store = MappedStore();
  snapshot::FlushSnapshot s;
  s.flush_time_ns = kFlushNs;
  s.has_raw_values = true;
  s.timer_values = {100, 200, 300};
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "app.summ");
  t.count = 3;
  t.sum = 600;
  t.values_end = 3;
  s.timers.push_back(t);
  store->Update(s);
  const auto got = Encode(*store);
  EXPECT_DOUBLE_EQ(got.at("app_summ{quantile=0.5}"), 0.2);
  EXPECT_DOUBLE_EQ(got.at("app_summ{quantile=0.99}"), 0.3);
  EXPECT_DOUBLE_EQ(got.at("app_summ_sum{}"), 0.6);
  EXPECT_EQ(got.at("app_summ_count{}"), 3);
  EXPECT_EQ(got.count("app_summ_bucket{le=+Inf}"), 0u);
}

}  // namespace
}  // namespace cstatsd::backends::prometheus_remote_write
