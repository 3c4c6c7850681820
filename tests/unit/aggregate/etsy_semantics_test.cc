// The Etsy statsd options of docs/aggregation.md: gauge-deltas (#gauge-deltas) and
// float-counters (#float-counters), from a parsed line through a worker map, the merge of
// several workers' maps, the flush and the forwarder's state; and both off, unchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "aggregate/aggregator.h"
#include "pipeline/pipeline.h"

namespace cstatsd::aggregate {
namespace {

constexpr int64_t kSecond = 1000000000;

// A worker: its pipeline and map, attached to the aggregator's indexes as in the server (or not,
// as HTTP ingestion's map).
struct Worker {
  explicit Worker(const pipeline::PipelineOptions* o) : pipeline(o) {}
  pipeline::Pipeline pipeline;
  MetricMap map;
  IdValues ids;
};

class EtsyTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetOptions(bool gauge_deltas, bool float_counters) {
    popts_.gauge_deltas = gauge_deltas;
    popts_.float_counters = float_counters;
    aopts_.float_counters = float_counters;
  }

  Aggregator& agg() {
    if (!agg_) agg_ = std::make_unique<Aggregator>(aopts_);
    return *agg_;
  }

  Worker& worker(size_t i) {
    while (workers_.size() <= i) {
      workers_.push_back(std::make_unique<Worker>(&popts_));
      if (GetParam()) {  // attached: series the aggregator holds go by id
        Worker& w = *workers_.back();
        w.ids.counters.index = &agg().counter_index();
        w.ids.gauges.index = &agg().gauge_index();
        w.map.ids = &w.ids;
      }
    }
    return *workers_[i];
  }

  // A gauge line; `sign` says the value was written +N / -N (ParsedMetric::gauge_delta, which
  // the parser sets).
  void Gauge(double v, bool sign, int64_t now, size_t w = 0, std::string_view name = "g") {
    ParsedMetric m;
    m.type = MetricType::kGauge;
    m.name = name;
    m.values = {v};
    m.gauge_delta = sign;
    worker(w).pipeline.Receive(m, "", now, worker(w).map);
  }

  // A packed gauge line as the parser gives it: `from` = ParsedMetric::gauge_delta_from.
  void PackedGauge(std::vector<double> values, uint32_t from, int64_t now) {
    ParsedMetric m;
    m.type = MetricType::kGauge;
    m.name = "g";
    m.gauge_delta = from < values.size();
    m.gauge_delta_from = from;
    m.values = std::move(values);
    worker(0).pipeline.Receive(m, "", now, worker(0).map);
  }

  void Counter(std::vector<double> values, double rate, int64_t now = 100 * kSecond, size_t w = 0) {
    ParsedMetric m;
    m.type = MetricType::kCounter;
    m.name = "c";
    m.values = std::move(values);
    m.rate = rate;
    worker(w).pipeline.Receive(m, "", now, worker(w).map);
  }

  // Every worker hands over, in the order given (default: 0, 1, ...), then the flush.
  SnapshotPtr Flush(int64_t now, std::vector<size_t> order = {}) {
    if (order.empty()) {
      for (size_t i = 0; i < workers_.size(); ++i) order.push_back(i);
    }
    for (size_t i : order) {
      worker(i).map.TakeReceivedIds();
      agg().Merge(worker(i).map);
    }
    auto s = agg().Flush(now, 10);
    agg().Reset(now);
    return s;
  }

  static double GaugeValue(const SnapshotPtr& s, std::string_view name = "g") {
    for (const auto& g : s->gauges) {
      if (g.key->name() == name) return g.value;
    }
    ADD_FAILURE() << "no gauge " << name;
    return NAN;
  }

  pipeline::PipelineOptions popts_;
  AggregatorOptions aopts_;
  std::unique_ptr<Aggregator> agg_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

INSTANTIATE_TEST_SUITE_P(Maps, EtsyTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Attached" : "Alone";
                         });

// ----------------------------------------------------------------------------- gauge-deltas

TEST_P(EtsyTest, GaugeDeltasApplyInArrivalOrderWithinADatagram) {
  SetOptions(true, false);
  // `g:10|g`, `g:+5|g`, `g:-3|g` in one datagram (one timestamp): 12.
  Gauge(10, false, 100 * kSecond);
  Gauge(5, true, 100 * kSecond);
  Gauge(-3, true, 100 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(101 * kSecond)), 12);
}

TEST_P(EtsyTest, GaugeDeltasApplyInArrivalOrderAcrossDatagramsOfOneFlush) {
  SetOptions(true, false);
  Gauge(10, false, 100 * kSecond);
  Gauge(5, true, 101 * kSecond);
  Gauge(-3, true, 102 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(103 * kSecond)), 12);
  // An absolute value after deltas replaces them: `+5`, then `10`.
  Gauge(5, true, 104 * kSecond);
  Gauge(10, false, 105 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(106 * kSecond)), 10);
}

TEST_P(EtsyTest, AGaugeKeepsItsValueAcrossFlushesAndADeltaAdjustsIt) {
  SetOptions(true, false);
  Gauge(10, false, 100 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(101 * kSecond)), 10);
  EXPECT_EQ(GaugeValue(Flush(102 * kSecond)), 10);  // idle: reported again
  Gauge(5, true, 103 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(104 * kSecond)), 15);
  Gauge(-20, true, 105 * kSecond);
  Gauge(-1, true, 105 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(106 * kSecond)), -6);
  // Deltas keep the gauge alive: its last update is the delta's receive time.
  const auto s = Flush(107 * kSecond);
  ASSERT_EQ(s->gauges.size(), 1u);
  EXPECT_EQ(s->gauges[0].last_ns, 105 * kSecond);
}

TEST_P(EtsyTest, PackedGaugeValuesApplyInOrder) {
  SetOptions(true, false);
  PackedGauge({5, 1, -2}, 1, 100 * kSecond);  // x:5:+1:-2|g sets 4
  EXPECT_EQ(GaugeValue(Flush(101 * kSecond)), 4);
  PackedGauge({1, -2}, 0, 102 * kSecond);  // x:+1:-2|g adds -1
  EXPECT_EQ(GaugeValue(Flush(103 * kSecond)), 3);
  PackedGauge({1, 7}, 2, 104 * kSecond);  // x:+1:7|g sets 7
  EXPECT_EQ(GaugeValue(Flush(105 * kSecond)), 7);
  SetOptions(false, false);  // off: the last value, sign or not
  PackedGauge({5, 1, -2}, 1, 106 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(107 * kSecond)), -2);
}

TEST_P(EtsyTest, ADeltaOnAGaugeNotSeenYetStartsFromZero) {
  SetOptions(true, false);
  Gauge(7, true, 100 * kSecond);
  Gauge(-2, true, 100 * kSecond);
  const auto s = Flush(101 * kSecond);
  ASSERT_EQ(s->gauges.size(), 1u);
  EXPECT_EQ(s->gauges[0].value, 5);
  EXPECT_EQ(s->gauges[0].last_ns, 100 * kSecond);
}

TEST_P(EtsyTest, ANegativeGaugeIsSentAsZeroThenTheDelta) {
  SetOptions(true, false);
  // python-statsd's gauge(-3): `g:0|g` then `g:-3|g` in one datagram.
  Gauge(0, false, 100 * kSecond);
  Gauge(-3, true, 100 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(101 * kSecond)), -3);
  // And again later: the 0 resets whatever the gauge held.
  Gauge(0, false, 102 * kSecond);
  Gauge(-3, true, 102 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(103 * kSecond)), -3);
}

TEST_P(EtsyTest, AGaugeThatExpiredStartsFromZeroAgain) {
  SetOptions(true, false);
  aopts_.expiry_gauge = std::chrono::seconds(5);
  Gauge(10, false, 100 * kSecond);
  Flush(101 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(110 * kSecond)), 10);  // reported, then expired
  EXPECT_TRUE(Flush(111 * kSecond)->gauges.empty());
  Gauge(4, true, 112 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(113 * kSecond)), 4);
}

TEST_P(EtsyTest, DeltasFromSeveralWorkersAddUp) {
  SetOptions(true, false);
  Gauge(10, false, 100 * kSecond, 0);
  Flush(101 * kSecond);
  Gauge(2, true, 102 * kSecond, 0);
  Gauge(3, true, 102 * kSecond, 1);
  Gauge(-1, true, 103 * kSecond, 2);
  EXPECT_EQ(GaugeValue(Flush(104 * kSecond, {2, 0, 1})), 14);
}

TEST_P(EtsyTest, SeveralWorkersInOneIntervalApplyInReceiveOrder) {
  SetOptions(true, false);
  // The same lines, whichever order the flusher merges the workers' maps in.
  int64_t t = 100 * kSecond;  // each round starts later than the last
  for (std::vector<size_t> order :
       {std::vector<size_t>{0, 1, 2}, std::vector<size_t>{2, 1, 0}, std::vector<size_t>{1, 2, 0}}) {
    SCOPED_TRACE(testing::PrintToString(order));
    worker(2);
    Gauge(1, false, t, 0);  // from now on the aggregator holds the gauge (by id when attached)
    Gauge(1, false, t, 1);
    Flush(t, order);
    // Worker 1 sets 10, then worker 0 adds 5 a second later: 15.
    Gauge(10, false, t + 1 * kSecond, 1);
    Gauge(5, true, t + 2 * kSecond, 0);
    EXPECT_EQ(GaugeValue(Flush(t + 3 * kSecond, order)), 15);
    // Worker 0 adds 5, then worker 1 sets 20: the delta came first, 20.
    Gauge(5, true, t + 4 * kSecond, 0);
    Gauge(20, false, t + 5 * kSecond, 1);
    EXPECT_EQ(GaugeValue(Flush(t + 6 * kSecond, order)), 20);
    // Worker 0 adds 2 (before the 30), worker 1 sets 30 then adds 1, worker 2 adds 4 (after the
    // 30): 35.
    Gauge(2, true, t + 6 * kSecond, 0);
    Gauge(30, false, t + 7 * kSecond, 1);
    Gauge(1, true, t + 7 * kSecond, 1);
    Gauge(4, true, t + 8 * kSecond, 2);
    EXPECT_EQ(GaugeValue(Flush(t + 9 * kSecond, order)), 35);
    t += 10 * kSecond;
  }
}

TEST_P(EtsyTest, AnAbsoluteGaugeFromHttpIngestionAndDeltasFromAWorker) {
  SetOptions(true, false);
  // HTTP ingestion's map (not attached) receives forwarded gauges: always absolute.
  pipeline::Pipeline ingest_pipeline(&popts_);
  MetricMap ingest_map;
  pipeline::AggregatedSeries a;
  a.type = MetricType::kGauge;
  a.name = "g";
  a.gauge = 50;
  ASSERT_TRUE(ingest_pipeline.ReceiveAggregated(a, "", 100 * kSecond, ingest_map));
  Gauge(-8, true, 101 * kSecond);
  worker(0).map.TakeReceivedIds();
  agg().Merge(worker(0).map);
  agg().Merge(ingest_map);
  auto s = agg().Flush(102 * kSecond, 10);
  EXPECT_EQ(s->gauges.at(0).value, 42);
}

TEST_P(EtsyTest, WithGaugeDeltasOffASignedValueSetsTheGauge) {
  SetOptions(false, false);
  Gauge(10, false, 100 * kSecond);
  Gauge(5, true, 100 * kSecond);
  Gauge(-3, true, 100 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(101 * kSecond)), -3);  // gostatsd: the last value received
  Gauge(4, true, 102 * kSecond);
  EXPECT_EQ(GaugeValue(Flush(103 * kSecond)), 4);
  // Nothing is ever delta-only in a map, so the merge is gostatsd's.
  Gauge(7, true, 104 * kSecond);
  MetricMap& map = worker(0).map;
  map.TakeReceivedIds();
  ASSERT_EQ(map.gauges.size() + map.gauge_deltas.size(), 1u);
  const GaugeAgg& g =
      map.gauges.size() == 1 ? map.gauges.entries()[0].value : map.gauge_deltas[0].value;
  EXPECT_FALSE(DeltaOnly(g));
  EXPECT_EQ(g.last_ns, 104 * kSecond);
}

TEST_P(EtsyTest, TheForwarderResolvesDeltasAndSendsAbsoluteValues) {
  SetOptions(true, false);
  // Forwarder mode: TakeState instead of Flush. The gauge's value stays in the forwarder's
  // index between takes, so a delta adjusts what was last forwarded.
  auto take = [&] {
    worker(0).map.TakeReceivedIds();
    agg().Merge(worker(0).map);
    return agg().TakeState();
  };
  Gauge(3, true, 100 * kSecond);  // not seen yet: from 0
  MetricMap out = take();
  ASSERT_EQ(out.gauges.size(), 1u);
  EXPECT_EQ(out.gauges.entries()[0].value.value, 3);
  EXPECT_FALSE(DeltaOnly(out.gauges.entries()[0].value));
  Gauge(10, false, 101 * kSecond);
  Gauge(2, true, 101 * kSecond);
  out = take();
  EXPECT_EQ(out.gauges.entries()[0].value.value, 12);
  Gauge(-5, true, 102 * kSecond);
  out = take();
  EXPECT_EQ(out.gauges.entries()[0].value.value, 7);
  EXPECT_EQ(take().gauges.size(), 0u);  // nothing received: nothing sent
}

// --------------------------------------------------------------------------- float-counters

TEST_P(EtsyTest, FloatCountersKeepTheirFraction) {
  SetOptions(false, true);
  Counter({0.5}, 1);
  Counter({0.5}, 1);
  auto s = Flush(101 * kSecond);
  ASSERT_TRUE(s->float_counters);
  ASSERT_EQ(s->counters.size(), 1u);
  EXPECT_EQ(s->counters[0].float_value, 1.0);
  EXPECT_EQ(s->counters[0].value, 1);
  EXPECT_EQ(s->Count(s->counters[0]), 1.0);
  EXPECT_DOUBLE_EQ(s->counters[0].per_second, 0.1);

  Counter({1}, 0.3);  // 3.333...
  s = Flush(102 * kSecond);
  EXPECT_DOUBLE_EQ(s->counters[0].float_value, 1 / 0.3);
  EXPECT_EQ(s->counters[0].value, 3);  // truncated, for whoever reads the integer
  EXPECT_DOUBLE_EQ(s->counters[0].per_second, 1 / 0.3 / 10);

  s = Flush(103 * kSecond);  // idle: reset to 0 until it expires
  EXPECT_EQ(s->counters[0].float_value, 0.0);
  Counter({-0.25, 0.75}, 0.5);  // packed values: (−0.25 + 0.75) / 0.5 = 1
  Counter({0.5}, 1);
  EXPECT_DOUBLE_EQ(Flush(104 * kSecond)->counters[0].float_value, 1.5);
}

TEST_P(EtsyTest, FloatCountersFromSeveralWorkers) {
  SetOptions(false, true);
  Counter({0.25}, 1, 100 * kSecond, 0);
  Flush(101 * kSecond);  // worker 0 attached from now on
  Counter({0.25}, 1, 102 * kSecond, 0);
  Counter({0.5}, 1, 102 * kSecond, 1);
  Counter({0.125}, 1, 102 * kSecond, 1);
  EXPECT_EQ(Flush(103 * kSecond, {1, 0})->counters[0].float_value, 0.875);
}

TEST_P(EtsyTest, FloatCountersSaturateAtTheIntegerLimitsInsteadOfBecomingInfinite) {
  SetOptions(false, true);
  Counter({INFINITY}, 1);
  Counter({-INFINITY}, 1);
  Counter({1}, 1e-300);
  auto s = Flush(101 * kSecond);
  EXPECT_TRUE(std::isfinite(s->counters[0].float_value));
  EXPECT_EQ(s->counters[0].float_value, 9223372036854775808.0);
  EXPECT_EQ(s->counters[0].value, INT64_MAX);
}

TEST_P(EtsyTest, WithFloatCountersOffEachLineIsTruncated) {
  SetOptions(false, false);
  Counter({0.5}, 1);
  Counter({0.5}, 1);
  Counter({1}, 0.3);
  auto s = Flush(101 * kSecond);
  EXPECT_FALSE(s->float_counters);
  EXPECT_EQ(s->counters[0].value, 3);  // 0 + 0 + 3
  EXPECT_EQ(s->counters[0].float_value, 0.0);
  EXPECT_EQ(s->Count(s->counters[0]), 3.0);
}

TEST_P(EtsyTest, FloatCountersInTheForwardersState) {
  SetOptions(false, true);
  Counter({0.5}, 1);
  Counter({1}, 0.4);
  worker(0).map.TakeReceivedIds();
  agg().Merge(worker(0).map);
  MetricMap out = agg().TakeState();
  ASSERT_EQ(out.counters.size(), 1u);
  EXPECT_DOUBLE_EQ(FloatCount(out.counters.entries()[0].value.value), 3.0);
}

TEST_P(EtsyTest, ForwardedCountersWithAndWithoutTheirFraction) {
  SetOptions(false, true);
  pipeline::Pipeline ingest_pipeline(&popts_);
  MetricMap ingest_map;
  pipeline::AggregatedSeries a;
  a.type = MetricType::kCounter;
  a.name = "c";
  a.counter = 2;  // an older forwarder (or gostatsd): the integer only
  ASSERT_TRUE(ingest_pipeline.ReceiveAggregated(a, "", 100 * kSecond, ingest_map));
  a.counter = 1;  // a cstatsd forwarder with float-counters: the truncation and the fraction
  a.has_float_counter = true;
  a.float_counter = 1.75;
  ASSERT_TRUE(ingest_pipeline.ReceiveAggregated(a, "", 100 * kSecond, ingest_map));
  a.float_counter = NAN;  // refused, as a NaN value anywhere
  EXPECT_FALSE(ingest_pipeline.ReceiveAggregated(a, "", 100 * kSecond, ingest_map));
  agg().Merge(ingest_map);
  EXPECT_DOUBLE_EQ(agg().Flush(101 * kSecond, 10)->counters[0].float_value, 3.75);
}

TEST(EtsyOffTest, ForwardedFractionIsIgnoredWithFloatCountersOff) {
  pipeline::PipelineOptions popts;
  pipeline::Pipeline p(&popts);
  MetricMap map;
  pipeline::AggregatedSeries a;
  a.type = MetricType::kCounter;
  a.name = "c";
  a.counter = 1;
  a.has_float_counter = true;
  a.float_counter = 1.75;
  ASSERT_TRUE(p.ReceiveAggregated(a, "", 100 * kSecond, map));
  Aggregator agg{AggregatorOptions{}};
  agg.Merge(map);
  auto s = agg.Flush(101 * kSecond, 1);
  EXPECT_EQ(s->counters[0].value, 1);
  EXPECT_FALSE(s->float_counters);
}

TEST(FloatCounterDeltaTest, DividesByTheRateAndClamps) {
  EXPECT_EQ(FloatCounterDelta(1, 1), 1);
  EXPECT_DOUBLE_EQ(FloatCounterDelta(1, 0.3), 1 / 0.3);
  EXPECT_EQ(FloatCounterDelta(INFINITY, 1), 9223372036854775808.0);
  EXPECT_EQ(FloatCounterDelta(-INFINITY, 1), -9223372036854775808.0);
  EXPECT_EQ(FloatCount(0), 0.0);  // a reset counter is 0 as an integer and as a double
  EXPECT_EQ(FloatCount(FloatCountBits(-2.5)), -2.5);
}

}  // namespace
}  // namespace cstatsd::aggregate
