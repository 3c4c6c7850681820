// The load generator (docs/performance.md#loader): exact per-type counts in count mode, the line
// format, datagram packing up to buffer-size, name and tag cardinalities, and the sequential mode
// that covers every series.
#include "loader/generator.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

namespace cstatsd::loader {
namespace {

LoadSpec Spec() {
  LoadSpec s;
  s.types[static_cast<int>(LineType::kCounter)].count = 700;
  s.types[static_cast<int>(LineType::kGauge)].count = 200;
  s.types[static_cast<int>(LineType::kSet)].count = 50;
  s.types[static_cast<int>(LineType::kTimer)].count = 50;
  for (auto& t : s.types) t.name_cardinality = 10;
  return s;
}

TEST(GeneratorTest, CountModeSendsExactlyEachTypesCount) {
  LoadSpec spec = Spec();
  spec.buffer_size = 200;
  Generator g(spec, 42);
  Datagram d;
  uint64_t per_type[4] = {0, 0, 0, 0}, datagrams = 0;
  while (g.NextDatagram(d)) {
    ++datagrams;
    EXPECT_LE(d.bytes.size(), spec.buffer_size);
    for (int t = 0; t < 4; ++t) per_type[t] += d.lines[t];
    // The counts the datagram claims are the lines it holds, by their type suffix.
    uint32_t seen[4] = {0, 0, 0, 0};
    std::string_view rest = d.bytes;
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      const std::string_view type = line.substr(line.rfind('|') + 1);
      if (type == "c") ++seen[0];
      if (type == "g") ++seen[1];
      if (type == "s") ++seen[2];
      if (type == "ms") ++seen[3];
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    for (int t = 0; t < 4; ++t) EXPECT_EQ(seen[t], d.lines[t]) << d.bytes;
  }
  EXPECT_EQ(per_type[0], 700u);
  EXPECT_EQ(per_type[1], 200u);
  EXPECT_EQ(per_type[2], 50u);
  EXPECT_EQ(per_type[3], 50u);
  EXPECT_GT(datagrams, 1u);
  EXPECT_LT(datagrams, 1000u);  // several lines a datagram
  EXPECT_FALSE(g.NextDatagram(d));
}

TEST(GeneratorTest, LinesFollowGostatsdsLoader) {
  LoadSpec spec;
  spec.types[0].count = 1;
  spec.types[0].name_cardinality = 1;
  spec.types[0].tag_cardinalities = {3, 2};
  spec.buffer_size = 1;
  Generator g(spec, 1);
  Datagram d;
  ASSERT_TRUE(g.NextDatagram(d));
  // <prefix><type><suffix with the name index>:<1 + rand[0, 0]>|c|#tag0:<x>,tag1:<y>
  EXPECT_TRUE(d.bytes.starts_with("loadtest.counter.0:1|c|#tag0:")) << d.bytes;
  EXPECT_NE(d.bytes.find(",tag1:"), std::string::npos) << d.bytes;
  EXPECT_EQ(spec.MaxSeries(), 6u);
}

TEST(GeneratorTest, ALineLongerThanTheBufferStillGoesAlone) {
  LoadSpec spec;
  spec.types[0].count = 3;
  spec.buffer_size = 5;
  Generator g(spec, 1);
  Datagram d;
  int datagrams = 0;
  while (g.NextDatagram(d)) {
    ++datagrams;
    EXPECT_EQ(d.total_lines(), 1u);
  }
  EXPECT_EQ(datagrams, 3);
}

TEST(GeneratorTest, BudgetCutsADatagramShort) {
  LoadSpec spec = Spec();
  spec.buffer_size = 1400;
  Generator g(spec, 3);
  Datagram d;
  ASSERT_TRUE(g.NextDatagram(d, 4));
  EXPECT_EQ(d.total_lines(), 4u);
}

TEST(GeneratorTest, SequentialNamesCoverEverySeries) {
  LoadSpec spec;
  spec.types[0].count = 1;
  spec.types[0].name_cardinality = 500;
  spec.buffer_size = 1400;
  Generator g(spec, 9);
  g.set_unbounded(true);
  g.set_sequential(true);
  std::set<std::string> names;
  Datagram d;
  uint64_t lines = 0;
  while (lines < 500 && g.NextDatagram(d, 500 - lines)) {
    lines += d.total_lines();
    std::string_view rest = d.bytes;
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      names.emplace(line.substr(0, line.find(':')));
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
  }
  EXPECT_EQ(names.size(), 500u);  // 500 lines, 500 different names
}

TEST(GeneratorTest, UnboundedDrawsTypesInProportion) {
  LoadSpec spec = Spec();
  Generator g(spec, 5);
  g.set_unbounded(true);
  std::string line;
  LineType type;
  int counters = 0;
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(g.NextLine(line, type));
    if (type == LineType::kCounter) ++counters;
  }
  EXPECT_GT(counters, 6500);  // 70 % expected
  EXPECT_LT(counters, 7500);
}

}  // namespace
}  // namespace cstatsd::loader
