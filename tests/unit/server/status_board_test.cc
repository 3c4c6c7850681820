// The status page's data (docs/status-page.md): the bounded top-k and heavy-hitter counts, the
// board's rates, history ring, backend health and top lists from a flush snapshot, and
// /status.json's document (escaping included).
#include "server/status_board.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "server/heavy_hitters.h"
#include "server/top_k.h"

namespace cstatsd::server {
namespace {

constexpr int64_t kSecond = 1000000000;

SeriesKeyRef Key(MetricType type, std::string_view name, std::string_view tags = "",
                 std::string_view source = "") {
  return SeriesKeyRef::Adopt(
      SeriesKey::Create(type, name, tags, source, SeriesKey::Hash(type, name, tags, source)));
}

TEST(TopKTest, KeepsTheKGreatestGreatestFirst) {
  TopK<int> top(3);
  for (int v : {5, 1, 9, 7, 3, 9, 2, 8}) top.Offer(v);
  EXPECT_EQ(top.Sorted(), (std::vector<int>{9, 9, 8}));
}

TEST(TopKTest, FewerThanKAndZero) {
  TopK<int> top(5);
  top.Offer(2);
  top.Offer(4);
  EXPECT_EQ(top.Sorted(), (std::vector<int>{4, 2}));
  TopK<int> none(0);
  none.Offer(1);
  EXPECT_TRUE(none.Sorted().empty());
}

TEST(TopKTest, MatchesASortOverRandomInput) {
  std::mt19937 rng(7);
  std::vector<int> all;
  TopK<int> top(10);
  for (int i = 0; i < 10000; ++i) {
    all.push_back(static_cast<int>(rng() % 100000));
    top.Offer(all.back());
  }
  std::sort(all.rbegin(), all.rend());
  all.resize(10);
  EXPECT_EQ(top.Sorted(), all);
}

TEST(HeavyHittersTest, ExactWhileTheKeysFit) {
  HeavyHitters<int> h(8);
  for (int i = 0; i < 5; ++i) {
    for (int n = 0; n <= i; ++n) h.Add(100 + i, i);
  }
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h.total(), 15u);
  for (size_t i = 0; i < h.size(); ++i) {
    const auto& e = h.entry(i);
    EXPECT_EQ(e.count, static_cast<uint64_t>(e.item + 1));
    EXPECT_EQ(e.error, 0u);
  }
}

TEST(HeavyHittersTest, AFrequentKeySurvivesAFloodOfRareOnes) {
  // 64 counters; one key is 1/10 of a stream of 100,000 whose other keys are all distinct.
  HeavyHitters<int> h(64);
  uint64_t next = 1000;
  for (int i = 0; i < 100000; ++i) h.Add(i % 10 == 0 ? 42 : next++, 0);
  bool found = false;
  for (size_t i = 0; i < h.size(); ++i) {
    const auto& e = h.entry(i);
    if (e.hash != 42) continue;
    found = true;
    EXPECT_GE(e.count, 10000u);            // never below the true count
    EXPECT_LE(e.count - e.error, 10000u);  // the lower bound holds
  }
  EXPECT_TRUE(found);
  // The bounds of every key held: the counts add up to the stream.
  uint64_t sum = 0;
  for (size_t i = 0; i < h.size(); ++i) sum += h.entry(i).count;
  EXPECT_EQ(sum, 100000u);
}

StatusTotals Totals(uint64_t lines, uint64_t datagrams, uint64_t bad, uint64_t sent) {
  StatusTotals t;
  t.lines = lines;
  t.datagrams = datagrams;
  t.bad_lines = bad;
  t.drops = {{"aggregator.series_dropped", bad / 2}};
  t.backends = {{"graphite", sent, 1, 2, 3}};
  return t;
}

TEST(StatusBoardTest, RatesAreTheIntervalsDifferences) {
  StatusBoard board(1000);
  board.Record(2 * kSecond, 1.0, Totals(100, 10, 4, 0), nullptr, nullptr, 1.5);
  board.Record(4 * kSecond, 2.0, Totals(300, 30, 10, 0), nullptr, nullptr, 2.5);
  const auto v = board.View();
  EXPECT_EQ(v->unix_ms, 4000);
  EXPECT_DOUBLE_EQ(v->last.lines_per_second, 100);
  EXPECT_DOUBLE_EQ(v->last.datagrams_per_second, 10);
  EXPECT_DOUBLE_EQ(v->last.bad_lines_per_second, 3);
  EXPECT_DOUBLE_EQ(v->last.internal_drops_per_second, 1.5);  // 5 - 2 over 2 s
  EXPECT_EQ(v->bad_lines, 10u);
  EXPECT_EQ(v->internal_drops, 5u);
  EXPECT_DOUBLE_EQ(v->flush_ms_max, 2.5);
  ASSERT_EQ(v->history.size(), 2u);
  EXPECT_DOUBLE_EQ(v->history[0].lines_per_second, 100);  // the first over its 1 s
}

TEST(StatusBoardTest, ZeroIntervalMeansSinceThePreviousRecord) {
  StatusBoard board(1000);  // started at 1 s
  board.Record(5 * kSecond, 0, Totals(400, 0, 0, 0), nullptr, nullptr, 0);
  EXPECT_DOUBLE_EQ(board.View()->interval_seconds, 4);
  EXPECT_DOUBLE_EQ(board.View()->last.lines_per_second, 100);
}

TEST(StatusBoardTest, HistoryIsABoundedRingOldestFirst) {
  StatusBoard board(0, 10, 4);
  for (int i = 1; i <= 7; ++i) {
    board.Record(i * kSecond, 1.0, Totals(0, 0, 0, 0), nullptr, nullptr, i);
  }
  const auto v = board.View();
  ASSERT_EQ(v->history.size(), 4u);
  EXPECT_EQ(v->history.front().unix_ms, 4000);
  EXPECT_EQ(v->history.back().unix_ms, 7000);
  EXPECT_DOUBLE_EQ(v->flush_ms_max, 7);
}

TEST(StatusBoardTest, ABackendsLastSuccessIsTheFlushThatSawItsSentGrow) {
  StatusBoard board(0);
  board.Record(1 * kSecond, 1.0, Totals(0, 0, 0, 0), nullptr, nullptr, 0);
  EXPECT_EQ(board.View()->backends.at(0).last_success_unix_ms, 0);  // never
  board.Record(2 * kSecond, 1.0, Totals(0, 0, 0, 1), nullptr, nullptr, 0);
  board.Record(3 * kSecond, 1.0, Totals(0, 0, 0, 1), nullptr, nullptr, 0);  // no new send
  const auto v = board.View();
  EXPECT_EQ(v->backends.at(0).name, "graphite");
  EXPECT_EQ(v->backends.at(0).last_success_unix_ms, 2000);
  EXPECT_EQ(v->backends.at(0).dropped, 1u);
}

snapshot::FlushSnapshot Snapshot() {
  snapshot::FlushSnapshot s;
  s.flush_seconds = 2;
  for (int i = 0; i < 30; ++i) {  // web.hits: 30 series, rates 0..29
    s.counters.push_back({Key(MetricType::kCounter, "web.hits", "host:h" + std::to_string(i)),
                          2 * i, static_cast<double>(i)});
  }
  s.counters.push_back({Key(MetricType::kCounter, "big"), 200, 100});
  s.counters.push_back({Key(MetricType::kCounter, "capped", kOverflowTag), 90, 45});
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "db.query");
  t.count_per_second = 50;
  s.timers.push_back(t);
  s.sets.push_back({Key(MetricType::kSet, "users"), 80});  // 40/s
  for (int i = 0; i < 3; ++i) {
    s.gauges.push_back({Key(MetricType::kGauge, "web.hits", "g:" + std::to_string(i)), 1});
  }
  return s;
}

TEST(StatusBoardTest, TopSeriesByRateAcrossTypes) {
  StatusBoard board(0, 4);
  const auto snap = Snapshot();
  board.Record(kSecond, 2.0, Totals(0, 0, 0, 0), &snap, nullptr, 0);
  const auto v = board.View();
  ASSERT_EQ(v->top_series.size(), 4u);
  EXPECT_EQ(v->top_series[0].name, "big");
  EXPECT_DOUBLE_EQ(v->top_series[0].rate, 100);
  EXPECT_EQ(v->top_series[1].name, "db.query");
  EXPECT_EQ(v->top_series[1].type, MetricType::kTimer);
  EXPECT_EQ(v->top_series[2].name, "capped");  // an overflow series is a series too
  EXPECT_EQ(v->top_series[3].name, "users");
  EXPECT_DOUBLE_EQ(v->top_series[3].rate, 40);
  ASSERT_EQ(v->overflowing.size(), 1u);
  EXPECT_EQ(v->overflowing[0].name, "capped");
  EXPECT_DOUBLE_EQ(v->overflowing[0].rate, 45);
  EXPECT_EQ(v->snapshot_series, 37u);
}

TEST(StatusBoardTest, TopNamesOnlyOnceStatusJsonWasRequested) {
  StatusBoard board(0, 3);
  const auto snap = Snapshot();
  board.Record(kSecond, 2.0, Totals(0, 0, 0, 0), &snap, nullptr, 0);
  EXPECT_TRUE(board.View()->top_names.empty());
  (void)board.Json();  // a page asks: counted from the next flush on, for 10 minutes
  board.Record(2 * kSecond, 2.0, Totals(0, 0, 0, 0), &snap, nullptr, 0);
  auto v = board.View();
  ASSERT_EQ(v->top_names.size(), 3u);
  EXPECT_EQ(v->top_names[0].name, "web.hits");  // 30 counters; its 3 gauges are another name
  EXPECT_EQ(v->top_names[0].type, MetricType::kCounter);
  EXPECT_EQ(v->top_names[0].series, 30u);
  EXPECT_EQ(v->top_names[0].error, 0u);
  EXPECT_EQ(v->top_names[1].name, "web.hits");
  EXPECT_EQ(v->top_names[1].type, MetricType::kGauge);
  EXPECT_EQ(v->top_names[1].series, 3u);
  // Counted again only 10 s later; in between the last count is shown.
  const snapshot::FlushSnapshot empty;
  board.Record(3 * kSecond, 2.0, Totals(0, 0, 0, 0), &empty, nullptr, 0);
  ASSERT_EQ(board.View()->top_names.size(), 3u);
  EXPECT_EQ(board.View()->top_names[0].series, 30u);
  board.Record(12 * kSecond, 2.0, Totals(0, 0, 0, 0), &empty, nullptr, 0);
  EXPECT_TRUE(board.View()->top_names.empty());
  board.Record(11 * 60 * kSecond, 2.0, Totals(0, 0, 0, 0), &snap, nullptr, 0);
  EXPECT_TRUE(board.View()->top_names.empty());  // nobody looked for 10 minutes
}

TEST(StatusJsonTest, HoldsTheViewAndEscapesEveryName) {
  StatusView v;
  v.version = "1.2.3";
  v.unix_ms = 5000;
  v.bad_lines = 7;
  v.drops = {{"receiver.datagrams_truncated", 2}};
  v.backends = {{"stdout", 3, 1, 0, 9, 0}};
  const std::string hostile = "a<script>alert(\"x\")</script>&\\\x01\xff";
  v.top_series = {{MetricType::kSet, hostile, "t:<b>", "10.0.0.1", 2.5}};
  v.top_names = {{MetricType::kCounter, "n", 10, 2, 0}};
  v.history = {StatusSample{4000, 1, 2, 3, 4, 5, 6, 7}};
  const std::string json = StatusJson(v);
  EXPECT_EQ(json.find('<'), std::string::npos);
  EXPECT_EQ(json.find('>'), std::string::npos);
  EXPECT_EQ(json.find('&'), std::string::npos);
  const auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_EQ(j["totals"]["bad_lines"], 7);
  EXPECT_EQ(j["drops"]["receiver.datagrams_truncated"], 2);
  EXPECT_TRUE(j["backends"][0]["last_success_unix_ms"].is_null());
  EXPECT_EQ(j["backends"][0]["dropped"], 1);
  // Invalid UTF-8 becomes U+FFFD; everything else comes back as it was.
  EXPECT_EQ(j["top_series"][0]["name"], "a<script>alert(\"x\")</script>&\\\x01\xEF\xBF\xBD");
  EXPECT_EQ(j["top_series"][0]["type"], "set");
  EXPECT_EQ(j["top_series"][0]["tags"], "t:<b>");
  EXPECT_EQ(j["top_names"][0]["series"], 10);
  EXPECT_EQ(j["top_names"][0]["series_min"], 8);
  EXPECT_EQ(j["history"][0]["flush_ms"], 6);
  EXPECT_EQ(j["history"][0]["series"], 7);
}

TEST(StatusJsonTest, ItsSizeIsBoundedByKAndTheRing) {
  StatusBoard board(0, 10, 600);
  snapshot::FlushSnapshot snap;
  snap.flush_seconds = 1;
  for (int i = 0; i < 5000; ++i) {
    snap.counters.push_back(
        {Key(MetricType::kCounter, "m" + std::to_string(i % 100), std::to_string(i)), i, 1.0 * i});
  }
  for (int i = 1; i < 700; ++i) {
    board.Record(i * kSecond, 1.0, Totals(0, 0, 0, 0), nullptr, nullptr, 0);
  }
  (void)board.Json();
  board.Record(700 * kSecond, 1.0, Totals(0, 0, 0, 0), &snap, nullptr, 0);
  const auto j = nlohmann::json::parse(board.Json());
  EXPECT_EQ(j["history"].size(), 600u);
  EXPECT_EQ(j["top_series"].size(), 10u);
  EXPECT_EQ(j["top_names"].size(), 10u);
  EXPECT_EQ(j["top_names"][0]["series"], 50);
}

}  // namespace
}  // namespace cstatsd::server
