#include "state/state_format.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>

namespace cstatsd::state {
namespace {

SeriesKeyRef Key(MetricType type, std::string_view name, std::string_view tags = "",
                 std::string_view source = "") {
  return SeriesKeyRef::Adopt(
      SeriesKey::Create(type, name, tags, source, SeriesKey::Hash(type, name, tags, source)));
}

// A flush with one of everything, raw values and a timestamped point of each kind.
snapshot::SnapshotPtr FullSnapshot() {
  auto s = std::make_shared<snapshot::FlushSnapshot>();
  s->flush_time_ns = 1700000000123456789;
  s->flush_seconds = 10.5;
  s->has_raw_values = true;
  s->percentile_names =
      std::make_shared<std::vector<std::string>>(std::vector<std::string>{"upper_90", "mean_90"});
  s->counters.push_back({Key(MetricType::kCounter, "c", "a:b", "host1"), 42, 4.0, 0});
  s->gauges.push_back({Key(MetricType::kGauge, "g", "x:y"), -1.25, 1700000000000000000});
  s->set_members = {"alice", "bob"};
  s->sets.push_back({Key(MetricType::kSet, "s"), 2, 0, 2});
  s->percentiles.push_back({(*s->percentile_names)[1], 3.5});
  s->percentiles.push_back({(*s->percentile_names)[0], 9});
  s->buckets.push_back({10, 1});
  s->buckets.push_back({std::numeric_limits<double>::infinity(), 3});
  s->timer_values = {1, 2, 9};
  snapshot::TimerPoint t;
  t.key = Key(MetricType::kTimer, "t", "gsd_histogram:10");
  t.kind = TimerKind::kDistribution;
  t.count = 3;
  t.count_per_second = 0.3;
  t.min = 1;
  t.max = 9;
  t.mean = 4;
  t.median = 2;
  t.stddev = 3.5;
  t.sum = 12;
  t.sum_squares = 86;
  t.percentiles_begin = 0;
  t.percentiles_end = 2;
  t.buckets_begin = 0;
  t.buckets_end = 2;
  t.values_begin = 0;
  t.values_end = 3;
  s->timers.push_back(t);
  s->timed_counters.push_back({Key(MetricType::kCounter, "tc"), 7, 0.7, 1699999990});
  s->timed_gauges.push_back({Key(MetricType::kGauge, "tg"), 0.5, 1699999991});
  return s;
}

State FullState() {
  State st;
  st.written_ns = 1700000001000000000;
  st.gauges.push_back(
      {Key(MetricType::kGauge, "room.temp", "floor:2", "10.0.0.1"), 21.5, 1700000000500000000});
  st.gauges.push_back({Key(MetricType::kGauge, "queue.depth"), 0, 1690000000000000000});
  st.undelivered.push_back({{"graphite", "datadog"}, FullSnapshot()});
  return st;
}

void ExpectSameKey(const SeriesKeyRef& a, const SeriesKeyRef& b) {
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->name(), b->name());
  EXPECT_EQ(a->tags(), b->tags());
  EXPECT_EQ(a->source(), b->source());
  EXPECT_EQ(a->hash(), b->hash());
}

TEST(StateFormatTest, RoundTripKeepsEverything) {
  const State in = FullState();
  const std::string bytes = Encode(in);
  ASSERT_EQ(bytes.substr(0, 8), kMagic);
  Result<State> out = Decode(bytes);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out->written_ns, in.written_ns);
  ASSERT_EQ(out->gauges.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ExpectSameKey(out->gauges[i].key, in.gauges[i].key);
    EXPECT_EQ(out->gauges[i].value, in.gauges[i].value);
    EXPECT_EQ(out->gauges[i].last_ns, in.gauges[i].last_ns);
  }
  ASSERT_EQ(out->undelivered.size(), 1u);
  EXPECT_EQ(out->undelivered[0].backends, (std::vector<std::string>{"graphite", "datadog"}));
  const snapshot::FlushSnapshot& a = *in.undelivered[0].snapshot;
  const snapshot::FlushSnapshot& b = *out->undelivered[0].snapshot;
  EXPECT_EQ(b.flush_time_ns, a.flush_time_ns);
  EXPECT_EQ(b.flush_seconds, a.flush_seconds);
  EXPECT_TRUE(b.has_raw_values);
  ASSERT_EQ(b.counters.size(), 1u);
  ExpectSameKey(b.counters[0].key, a.counters[0].key);
  EXPECT_EQ(b.counters[0].value, 42);
  EXPECT_EQ(b.counters[0].per_second, 4.0);
  ASSERT_EQ(b.gauges.size(), 1u);
  EXPECT_EQ(b.gauges[0].value, -1.25);
  EXPECT_EQ(b.gauges[0].last_ns, a.gauges[0].last_ns);
  ASSERT_EQ(b.sets.size(), 1u);
  EXPECT_EQ(b.sets[0].cardinality, 2u);
  std::vector<std::string> members;
  for (const auto& m : b.MembersOf(b.sets[0])) members.push_back(m);
  EXPECT_EQ(members, (std::vector<std::string>{"alice", "bob"}));
  ASSERT_EQ(b.timers.size(), 1u);
  const snapshot::TimerPoint& t = b.timers[0];
  ExpectSameKey(t.key, a.timers[0].key);
  EXPECT_EQ(t.kind, TimerKind::kDistribution);
  EXPECT_EQ(t.count, 3);
  EXPECT_EQ(t.sum_squares, 86);
  EXPECT_EQ(t.stddev, 3.5);
  std::vector<std::pair<std::string, double>> pct;
  for (const auto& p : b.PercentilesOf(t)) pct.emplace_back(std::string(p.name), p.value);
  EXPECT_EQ(pct, (std::vector<std::pair<std::string, double>>{{"mean_90", 3.5}, {"upper_90", 9}}));
  std::vector<double> les, values;
  for (const auto& bk : b.BucketsOf(t)) les.push_back(bk.le);
  for (double v : b.ValuesOf(t)) values.push_back(v);
  EXPECT_EQ(les, (std::vector<double>{10, std::numeric_limits<double>::infinity()}));
  EXPECT_EQ(values, (std::vector<double>{1, 2, 9}));
  ASSERT_EQ(b.timed_counters.size(), 1u);
  EXPECT_EQ(b.timed_counters[0].timestamp, 1699999990);
  EXPECT_EQ(b.timed_counters[0].value, 7);
  ASSERT_EQ(b.timed_gauges.size(), 1u);
  EXPECT_EQ(b.timed_gauges[0].value, 0.5);
  // The same bytes again: the encoding is deterministic.
  EXPECT_EQ(Encode(*out), bytes);
}

TEST(StateFormatTest, EmptyStateRoundTrips) {
  Result<State> out = Decode(Encode(State{}));
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_TRUE(out->gauges.empty());
  EXPECT_TRUE(out->undelivered.empty());
}

// Rewrites the header's checksum after the body was changed, so the body parser is reached.
void Reseal(std::string& bytes) {
  const uint64_t sum = XXH3_64bits(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes);
  std::memcpy(bytes.data() + 24, &sum, 8);
}

TEST(StateFormatTest, EveryTruncationIsRefused) {
  const std::string bytes = Encode(FullState());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<State> out = Decode(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(out.ok()) << "accepted the first " << n << " of " << bytes.size() << " bytes";
  }
  EXPECT_NE(Decode(bytes.substr(0, 10)).error().find("shorter than the header"), std::string::npos);
  EXPECT_NE(Decode(bytes.substr(0, bytes.size() - 1)).error().find("truncated"), std::string::npos);
}

TEST(StateFormatTest, BadMagicIsRefused) {
  std::string bytes = Encode(FullState());
  bytes[0] = 'X';
  EXPECT_EQ(Decode(bytes).error(), "not a state file (magic)");
}

TEST(StateFormatTest, OtherVersionIsRefused) {
  std::string bytes = Encode(FullState());
  const uint32_t v = kVersion + 1;
  std::memcpy(bytes.data() + 8, &v, 4);
  EXPECT_NE(Decode(bytes).error().find("unsupported version 2"), std::string::npos);
}

TEST(StateFormatTest, ChangedByteFailsTheChecksum) {
  std::string bytes = Encode(FullState());
  bytes[bytes.size() / 2] ^= 0x40;
  EXPECT_EQ(Decode(bytes).error(), "checksum mismatch");
}

TEST(StateFormatTest, TrailingBytesAreRefused) {
  std::string bytes = Encode(FullState()) + "x";
  EXPECT_NE(Decode(bytes).error().find("length mismatch"), std::string::npos);
  // Inside the checked length too.
  bytes = Encode(State{});
  bytes += "junk";
  const uint64_t len = bytes.size() - kHeaderBytes;
  std::memcpy(bytes.data() + 16, &len, 8);
  Reseal(bytes);
  EXPECT_NE(Decode(bytes).error().find("4 bytes after the body"), std::string::npos);
}

TEST(StateFormatTest, HugeCountIsRefusedWithoutAllocating) {
  // A valid header and checksum around a body that claims 2^32-1 gauges in 12 bytes.
  State st;
  std::string bytes = Encode(st);
  const uint32_t huge = UINT32_MAX;
  std::memcpy(bytes.data() + kHeaderBytes + 8, &huge, 4);  // after written_ns
  Reseal(bytes);
  Result<State> out = Decode(bytes);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().find("gauge count 4294967295 exceeds"), std::string::npos) << out.error();
}

TEST(StateFormatTest, HugeStringLengthIsRefused) {
  State st;
  st.gauges.push_back({Key(MetricType::kGauge, "g"), 1, 2});
  std::string bytes = Encode(st);
  const uint32_t huge = 0x7fffffff;
  std::memcpy(bytes.data() + kHeaderBytes + 12, &huge, 4);  // the gauge name's length
  Reseal(bytes);
  Result<State> out = Decode(bytes);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error(), "bad body: body truncated");
}

TEST(StateFormatTest, PercentileIndexOutOfRangeIsRefused) {
  State st;
  st.undelivered.push_back({{"stdout"}, FullSnapshot()});
  std::string bytes = Encode(st);
  // The first percentile's name index: find "mean_90"'s index 1 followed by 3.5.
  double v = 3.5;
  std::string needle(4, '\0');
  needle[0] = 1;
  needle.append(reinterpret_cast<const char*>(&v), 8);
  const size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 7;
  Reseal(bytes);
  EXPECT_NE(Decode(bytes).error().find("percentile name index 7 out of range"), std::string::npos);
}

}  // namespace
}  // namespace cstatsd::state
