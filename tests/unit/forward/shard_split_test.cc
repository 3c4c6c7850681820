// SplitRawMessage (docs/forwarder.md#sharding): every series of an encoded message goes whole to
// the ring's choice for the key hash the flusher's map holds for it, so a re-routed series lands
// where the next flush sends it; nothing is lost or duplicated.
#include "forward/shard_split.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "forward/raw_message.h"
#include "pipeline/pipeline.h"

namespace cstatsd::forward {
namespace {

TEST(ShardSplitTest, EachSeriesGoesToTheChoiceForItsMapKey) {
  pipeline::PipelineOptions popts;
  pipeline::Pipeline pipeline(&popts);
  MetricMap map;
  const MetricType types[] = {MetricType::kCounter, MetricType::kGauge, MetricType::kTimer,
                              MetricType::kSet};
  for (int i = 0; i < 400; ++i) {
    const std::string name = "svc.m" + std::to_string(i % 50);
    const std::string tag = "shard:" + std::to_string(i);
    ParsedMetric p;
    p.type = types[i % 4];
    p.name = name;
    p.values = {1.5};
    p.set_value = "member";
    p.tags = {tag, "env:prod"};
    pipeline.Receive(p, i % 3 == 0 ? "10.0.0.1" : "", 1, map);
  }
  const std::vector<std::string> urls = {"http://a", "http://b", "http://c"};
  const ShardRing ring(urls);
  // What the flusher's split chooses: the key hash the map holds.
  std::map<std::string, uint32_t> expected;  // type/name/tagsKey → endpoint
  auto expect = [&](const char* t, const auto& table) {
    for (const auto& e : table.entries()) {
      expected[std::string(t) + "/" + std::string(e.key->name()) + "/" + e.key->TagsKey()] =
          ring.Choose(e.key->hash());
    }
  };
  expect("c", map.counters);
  expect("g", map.gauges);
  expect("t", map.timers);
  expect("s", map.sets);
  ASSERT_EQ(expected.size(), 400u);

  pb::RawMessageV2 msg = ToRawMessage(map);
  ASSERT_EQ(CountSeries(msg), 400u);
  const auto parts = SplitRawMessage(std::move(msg), ring);
  ASSERT_EQ(parts.size(), 3u);
  std::map<std::string, uint32_t> got;
  size_t total = 0;
  for (const ShardPart& p : parts) {
    EXPECT_EQ(CountSeries(p.message), p.series);
    total += p.series;
    auto record = [&](const char* t, const auto& outer) {
      for (const auto& [name, by_tags] : outer) {
        for (const auto& [tags_key, raw] : by_tags.tagmap()) {
          EXPECT_TRUE(got.emplace(std::string(t) + "/" + name + "/" + tags_key, p.endpoint).second);
        }
      }
    };
    record("c", p.message.counters());
    record("g", p.message.gauges());
    record("t", p.message.timers());
    record("s", p.message.sets());
  }
  EXPECT_EQ(total, 400u);
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace cstatsd::forward
