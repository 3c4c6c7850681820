// InternalStats' "reported" metrics (docs/internal-metrics.md): a gauge of the running total in
// standalone mode, a counter of the change since the previous report in forwarder mode.
#include "server/internal_stats.h"

#include <gtest/gtest.h>

namespace cstatsd::server {
namespace {

struct Emitted {
  std::vector<std::pair<std::string, int64_t>> counters;
  std::vector<std::pair<std::string, double>> gauges;
};

Emitted EmitFrom(InternalStats& s) {
  MetricMap m;
  s.Emit(m);
  Emitted out;
  for (const auto& e : m.counters.entries()) {
    out.counters.emplace_back(std::string(e.key->name()), e.value.value);
  }
  for (const auto& e : m.gauges.entries()) {
    out.gauges.emplace_back(std::string(e.key->name()), e.value.value);
  }
  return out;
}

class InternalStatsTest : public ::testing::Test {
 protected:
  std::unique_ptr<InternalStats> Make(const char* mode) {
    options_.server_mode = mode;
    options_.hostname = "h";
    pipeline_ = pipeline::PipelineOptions::From(options_);
    return std::make_unique<InternalStats>(options_, &pipeline_);
  }
  config::Options options_;
  pipeline::PipelineOptions pipeline_;
};

TEST_F(InternalStatsTest, ReportedIsACumulativeGaugeStandalone) {
  auto s = Make("standalone");
  s->Report("parser.metrics_received", 5);
  auto e = EmitFrom(*s);
  EXPECT_TRUE(e.counters.empty());
  ASSERT_EQ(e.gauges.size(), 1u);
  EXPECT_EQ(e.gauges[0], (std::pair<std::string, double>{"statsd.parser.metrics_received", 5}));
  s->Report("parser.metrics_received", 8);
  e = EmitFrom(*s);
  ASSERT_EQ(e.gauges.size(), 1u);
  EXPECT_EQ(e.gauges[0].second, 8);
}

TEST_F(InternalStatsTest, ReportedIsACounterOfTheChangeWhenForwarding) {
  auto s = Make("forwarder");
  s->Report("parser.metrics_received", 5);
  s->Report("receiver.batches_read", 2, {"a:b"});
  auto e = EmitFrom(*s);
  EXPECT_TRUE(e.gauges.empty());
  ASSERT_EQ(e.counters.size(), 2u);
  EXPECT_EQ(e.counters[0], (std::pair<std::string, int64_t>{"statsd.parser.metrics_received", 5}));
  EXPECT_EQ(e.counters[1].second, 2);
  s->Report("parser.metrics_received", 8);
  s->Report("receiver.batches_read", 2, {"a:b"});
  e = EmitFrom(*s);
  ASSERT_EQ(e.counters.size(), 2u);
  EXPECT_EQ(e.counters[0].second, 3);  // 8 - 5
  EXPECT_EQ(e.counters[1].second, 0);
}

TEST_F(InternalStatsTest, CounterIsACounter) {
  auto s = Make("forwarder");
  s->Counter("http.forwarder.sent", 4);
  auto e = EmitFrom(*s);
  ASSERT_EQ(e.counters.size(), 1u);
  EXPECT_EQ(e.counters[0], (std::pair<std::string, int64_t>{"statsd.http.forwarder.sent", 4}));
}

}  // namespace
}  // namespace cstatsd::server
