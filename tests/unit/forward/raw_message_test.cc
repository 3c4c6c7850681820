// The forwarder's encoding: two workers' maps merged without aggregation
// (docs/aggregation.md#merge), encoded as RawMessageV2, serialised and decoded back with every
// field checked; dynamic-headers partitions (docs/forwarder.md#what-is-sent); events as EventV2.
#include "forward/raw_message.h"

#include <gmock/gmock.h>
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <random>

#include "aggregate/aggregator.h"
#include "pipeline/pipeline.h"

namespace cstatsd::forward {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int64_t kSecond = 1000000000;

class RawMessageTest : public ::testing::Test {
 protected:
  void Add(MetricMap& map, MetricType type, std::string_view name, std::vector<double> values,
           double rate, std::vector<std::string_view> tags, std::string_view sender,
           int64_t now = 100 * kSecond, std::string_view member = {}) {
    ParsedMetric m;
    m.type = type;
    m.name = name;
    m.values = std::move(values);
    m.rate = rate;
    m.tags = std::move(tags);
    m.set_value = member;
    pipeline_.Receive(m, sender, now, map);
  }

  // What the forwarder's flush does: merge every worker map, take the merged state.
  MetricMap Merged(std::vector<MetricMap*> maps) {
    aggregate::Aggregator agg{aggregate::AggregatorOptions{}};
    for (MetricMap* m : maps) agg.Merge(*m);
    return agg.TakeState();
  }

  static pb::RawMessageV2 RoundTrip(const pb::RawMessageV2& in) {
    std::string bytes;
    EXPECT_TRUE(in.SerializeToString(&bytes));
    pb::RawMessageV2 out;
    EXPECT_TRUE(out.ParseFromString(bytes));
    return out;
  }

  pipeline::PipelineOptions options_;
  pipeline::Pipeline pipeline_{&options_};
};

TEST_F(RawMessageTest, MergedMapEncodesEveryField) {
  MetricMap w1, w2;
  // Counters: int64 after the sample-rate division, summed across workers.
  Add(w1, MetricType::kCounter, "req", {3}, 0.5, {"b:2", "a:1"}, "10.0.0.1");  // 6
  Add(w2, MetricType::kCounter, "req", {5}, 1, {"a:1", "b:2"}, "10.0.0.1");    // 5
  Add(w2, MetricType::kCounter, "req", {1}, 1, {}, "");                        // other series
  // Gauges: the newest wins.
  Add(w1, MetricType::kGauge, "temp", {20}, 1, {}, "h1", 100 * kSecond);
  Add(w2, MetricType::kGauge, "temp", {21.5}, 1, {}, "h1", 101 * kSecond);
  // Timers: values concatenated, sample counts summed.
  Add(w1, MetricType::kTimer, "lat", {10, 20}, 0.1, {"r:x"}, "");
  Add(w2, MetricType::kTimer, "lat", {30}, 1, {"r:x"}, "");
  // Sets: united.
  Add(w1, MetricType::kSet, "users", {}, 1, {}, "h2", 100 * kSecond, "alice");
  Add(w2, MetricType::kSet, "users", {}, 1, {}, "h2", 100 * kSecond, "bob");
  Add(w2, MetricType::kSet, "users", {}, 1, {}, "h2", 100 * kSecond, "alice");

  MetricMap merged = Merged({&w1, &w2});
  const pb::RawMessageV2 msg = RoundTrip(ToRawMessage(merged));

  ASSERT_EQ(msg.counters().size(), 1u);
  const auto& req = msg.counters().at("req").tagmap();
  ASSERT_EQ(req.size(), 2u);
  // tagsKey: sorted tags joined by ',', then ",s:<source>" (docs/aggregation.md#identity).
  const auto& c1 = req.at("a:1,b:2,s:10.0.0.1");
  EXPECT_THAT(c1.tags(), ElementsAre("a:1", "b:2"));
  EXPECT_EQ(c1.hostname(), "10.0.0.1");
  EXPECT_EQ(c1.value(), 11);
  const auto& c2 = req.at("");
  EXPECT_TRUE(c2.tags().empty());
  EXPECT_EQ(c2.hostname(), "");
  EXPECT_EQ(c2.value(), 1);

  const auto& g = msg.gauges().at("temp").tagmap().at(",s:h1");  // no tags: a leading comma
  EXPECT_TRUE(g.tags().empty());
  EXPECT_EQ(g.hostname(), "h1");
  EXPECT_EQ(g.value(), 21.5);

  const auto& t = msg.timers().at("lat").tagmap().at("r:x");
  EXPECT_THAT(t.tags(), ElementsAre("r:x"));
  EXPECT_EQ(t.hostname(), "");
  EXPECT_THAT(t.values(), UnorderedElementsAre(10, 20, 30));
  EXPECT_DOUBLE_EQ(t.samplecount(), 10 + 1);  // 1/0.1 per line, + 1

  const auto& s = msg.sets().at("users").tagmap().at(",s:h2");
  EXPECT_EQ(s.hostname(), "h2");
  EXPECT_THAT(s.values(), UnorderedElementsAre("alice", "bob"));
}

TEST_F(RawMessageTest, EmptyMapGivesNoPartition) {
  MetricMap empty;
  EXPECT_TRUE(PartitionByDynamicHeaders(empty, {}).empty());
  EXPECT_TRUE(PartitionByDynamicHeaders(empty, {"region"}).empty());
}

TEST_F(RawMessageTest, WithoutDynamicHeadersOnePartition) {
  MetricMap m;
  Add(m, MetricType::kCounter, "a", {1}, 1, {"region:eu"}, "");
  Add(m, MetricType::kCounter, "b", {1}, 1, {"region:us"}, "");
  auto parts = PartitionByDynamicHeaders(m, {});
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_TRUE(parts[0].headers.empty());
  EXPECT_EQ(parts[0].series, 2u);
  EXPECT_EQ(parts[0].message.counters().size(), 2u);
}

TEST_F(RawMessageTest, DynamicHeadersPartitionByMatchedTags) {
  MetricMap m;
  Add(m, MetricType::kCounter, "a", {1}, 1, {"region:eu", "service_name:web", "x:1"}, "");
  Add(m, MetricType::kGauge, "g", {2}, 1, {"service_name:web", "region:eu"}, "h");
  Add(m, MetricType::kCounter, "b", {1}, 1, {"region:us"}, "");
  Add(m, MetricType::kTimer, "t", {1}, 1, {"other:1"}, "");
  Add(m, MetricType::kSet, "s", {}, 1, {"regional:no"}, "", 100 * kSecond, "m");
  auto parts = PartitionByDynamicHeaders(m, {"region", "service_name"});
  ASSERT_EQ(parts.size(), 3u);
  std::map<std::vector<std::pair<std::string, std::string>>, const Partition*> by_headers;
  for (const auto& p : parts) by_headers[p.headers] = &p;

  const Partition* eu_web = by_headers.at({{"Region", "eu"}, {"Service-Name", "web"}});
  EXPECT_EQ(eu_web->series, 2u);
  EXPECT_EQ(eu_web->message.counters().at("a").tagmap().size(), 1u);
  EXPECT_EQ(eu_web->message.gauges().at("g").tagmap().size(), 1u);
  // The tags stay in the message; only the headers are added.
  EXPECT_THAT(eu_web->message.counters().at("a").tagmap().begin()->second.tags(),
              ElementsAre("region:eu", "service_name:web", "x:1"));

  const Partition* us = by_headers.at({{"Region", "us"}});
  EXPECT_EQ(us->series, 1u);
  EXPECT_TRUE(us->message.counters().contains("b"));

  const Partition* none = by_headers.at({});  // no matching tag ("regional:" is not "region:")
  EXPECT_EQ(none->series, 2u);
  EXPECT_TRUE(none->message.timers().contains("t"));
  EXPECT_TRUE(none->message.sets().contains("s"));
}

// Statsd lines are bytes, but proto3 `string` fields must be UTF-8: an aggregator (cstatsd's
// C++ protobuf, gostatsd's Go protobuf) rejects a whole message with one invalid string, which
// lost every series of the flush. Invalid bytes are replaced with U+FFFD, as Go's
// strings.ToValidUTF8 does (one replacement per run of invalid bytes).

TEST_F(RawMessageTest, InvalidUtf8IsReplacedSoTheMessageParses) {
  MetricMap m;
  Add(m, MetricType::kCounter, "good", {1}, 1, {}, "10.0.0.1");
  Add(m, MetricType::kCounter, "c", {2}, 1, {"k:\xc3"}, "10.0.0.1");
  Add(m, MetricType::kCounter, "c", {3}, 1, {"k:\xc4"}, "10.0.0.1");  // same key once replaced
  Add(m, MetricType::kTimer, "t", {1, 2}, 0.5, {"k:\xc3"}, "h\xff");
  Add(m, MetricType::kTimer, "t", {3}, 1, {"k:\xc4"}, "h\xfe");
  Add(m, MetricType::kGauge, "g", {4}, 1, {}, "h\xff");
  Add(m, MetricType::kSet, "s", {}, 1, {}, "", 100 * kSecond, "\xfe\xff");
  const pb::RawMessageV2 msg = RoundTrip(ToRawMessage(m));  // parses: every string is UTF-8
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(msg.counters().at("good").tagmap().at(",s:10.0.0.1").value(), 1);
  const auto& c = msg.counters().at("c").tagmap().at("k:" + r + ",s:10.0.0.1");
  EXPECT_THAT(c.tags(), ElementsAre("k:" + r));
  EXPECT_EQ(c.value(), 5);  // both series, summed
  const auto& t = msg.timers().at("t").tagmap().at("k:" + r + ",s:h" + r);
  EXPECT_EQ(t.hostname(), "h" + r);
  EXPECT_EQ(t.samplecount(), 3);  // 1 / 0.5 (per line) + 1: added, not overwritten
  EXPECT_THAT(t.values(), UnorderedElementsAre(1, 2, 3));
  EXPECT_EQ(msg.gauges().at("g").tagmap().at(",s:h" + r).value(), 4);
  EXPECT_THAT(msg.sets().at("s").tagmap().begin()->second.values(), ElementsAre(r));

  // Dynamic headers partition on the tags as received; the message is valid all the same.
  auto parts = PartitionByDynamicHeaders(m, {"k"});
  size_t series = 0;
  for (const auto& p : parts) {
    series += p.series;
    RoundTrip(p.message);
  }
  EXPECT_EQ(series, 7u);
}

TEST(EventV2Test, InvalidUtf8IsReplaced) {
  Event e;
  e.title = "t\xff";
  e.text = "x\xc3";
  e.source = "h\xfe";
  e.aggregation_key = "\xff";
  e.source_type_name = "\xfe";
  e.tags = {"env:\xc3"};
  std::string bytes;
  ASSERT_TRUE(ToEventV2(e).SerializeToString(&bytes));
  pb::EventV2 m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(m.title(), "t" + r);
  EXPECT_EQ(m.text(), "x" + r);
  EXPECT_EQ(m.hostname(), "h" + r);
  EXPECT_EQ(m.sourceip(), "h" + r);
  EXPECT_EQ(m.aggregationkey(), r);
  EXPECT_EQ(m.sourcetypename(), r);
  EXPECT_THAT(m.tags(), ElementsAre("env:" + r));
}

TEST(EventV2Test, EveryField) {
  Event e;
  e.title = "deploy";
  e.text = "v2 is out";
  e.date_happened = 1700000000;
  e.source = "10.1.2.3";
  e.aggregation_key = "agg";
  e.source_type_name = "ci";
  e.tags = {"env:prod", "team:x"};
  e.priority = EventPriority::kLow;
  e.alert_type = EventAlertType::kWarning;
  std::string bytes;
  ASSERT_TRUE(ToEventV2(e).SerializeToString(&bytes));
  pb::EventV2 m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  EXPECT_EQ(m.title(), "deploy");
  EXPECT_EQ(m.text(), "v2 is out");
  EXPECT_EQ(m.datehappened(), 1700000000);
  EXPECT_EQ(m.hostname(), "10.1.2.3");
  EXPECT_EQ(m.sourceip(), "10.1.2.3");
  EXPECT_EQ(m.aggregationkey(), "agg");
  EXPECT_EQ(m.sourcetypename(), "ci");
  EXPECT_THAT(m.tags(), ElementsAre("env:prod", "team:x"));
  EXPECT_EQ(m.priority(), pb::EventV2::Low);
  EXPECT_EQ(m.type(), pb::EventV2::Warning);
  for (auto [alert, type] : {std::pair{EventAlertType::kInfo, pb::EventV2::Info},
                             std::pair{EventAlertType::kError, pb::EventV2::Error},
                             std::pair{EventAlertType::kSuccess, pb::EventV2::Success}}) {
    e.alert_type = alert;
    EXPECT_EQ(ToEventV2(e).type(), type);
  }
  e.priority = EventPriority::kNormal;
  EXPECT_EQ(ToEventV2(e).priority(), pb::EventV2::Normal);
}

// --- Decoding within limits ---

// The protobuf wire format by hand, for bodies protobuf's own encoder would not write.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Key(uint32_t field, uint32_t type) { return Varint((uint64_t{field} << 3) | type); }
std::string Len(uint32_t field, std::string_view bytes) {
  return Key(field, 2) + Varint(bytes.size()) + std::string(bytes);
}
std::string Fixed64(uint32_t field, double d) {
  std::string out = Key(field, 1);
  out.append(reinterpret_cast<const char*>(&d), 8);
  return out;
}
// A RawMessageV2 holding one name (field: 1 counters, 2 gauges, 3 sets, 4 timers) whose TagMap
// entries have these values (each a Raw*V2 body).
std::string Message(uint32_t field, std::string_view name, const std::vector<std::string>& series) {
  std::string tag_map;
  for (const std::string& v : series) tag_map += Len(1, Len(1, "k") + Len(2, v));
  return Len(field, Len(1, name) + Len(2, tag_map));
}

struct Decoded {
  MetricType type;
  std::string name, hostname;
  std::vector<std::string> tags;
  int64_t counter;
  double gauge, sample_count;
  std::vector<double> values;
  std::vector<std::string> members;
};

class Collect : public RawSeriesVisitor {
 public:
  void Checked(const RawSeries&) override { ++checked; }
  void Begin(size_t n) override { begun = n; }
  void Series(const RawSeries& r) override {
    out.push_back({r.type,
                   std::string(r.name),
                   std::string(r.hostname),
                   {r.tags.begin(), r.tags.end()},
                   r.counter,
                   r.gauge,
                   r.sample_count,
                   {r.timer_values.begin(), r.timer_values.end()},
                   {r.set_members.begin(), r.set_members.end()}});
  }
  size_t checked = 0;
  size_t begun = SIZE_MAX;
  std::vector<Decoded> out;
};

DecodeStatus Decode(std::string_view wire, const DecodeLimits& limits, Collect& c,
                    wire::BudgetLease* lease = nullptr) {
  return DecodeRawMessage(wire, limits, lease, c);
}

TEST_F(RawMessageTest, DecoderReadsWhatTheEncoderWrites) {
  MetricMap w;
  Add(w, MetricType::kCounter, "req", {3}, 0.5, {"b:2", "a:1"}, "10.0.0.1");
  Add(w, MetricType::kGauge, "temp", {21.5}, 1, {"room:1"}, "h2");
  Add(w, MetricType::kTimer, "lat", {1, 2, 3}, 0.5, {}, "h3");
  Add(w, MetricType::kSet, "users", {}, 1, {"x:y"}, "", 100 * kSecond, "alice");
  std::string bytes;
  ASSERT_TRUE(ToRawMessage(w).SerializeToString(&bytes));
  Collect c;
  const DecodeStatus st = Decode(bytes, DecodeLimits{}, c);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(st.series, 4u);
  EXPECT_EQ(c.checked, 4u);
  EXPECT_EQ(c.begun, 4u);
  ASSERT_EQ(c.out.size(), 4u);
  std::map<std::string, const Decoded*> by_name;
  for (const Decoded& d : c.out) by_name[d.name] = &d;
  const Decoded& req = *by_name.at("req");
  EXPECT_EQ(req.type, MetricType::kCounter);
  EXPECT_EQ(req.counter, 6);
  EXPECT_EQ(req.hostname, "10.0.0.1");
  EXPECT_THAT(req.tags, UnorderedElementsAre("a:1", "b:2"));
  EXPECT_EQ(by_name.at("temp")->gauge, 21.5);
  EXPECT_EQ(by_name.at("temp")->type, MetricType::kGauge);
  EXPECT_THAT(by_name.at("lat")->values, ElementsAre(1, 2, 3));
  EXPECT_EQ(by_name.at("lat")->sample_count,
            ToRawMessage(w).timers().at("lat").tagmap().begin()->second.samplecount());
  EXPECT_THAT(by_name.at("users")->members, ElementsAre("alice"));
  EXPECT_EQ(by_name.at("users")->type, MetricType::kSet);
}

TEST(DecodeRawMessageTest, ProtobufSemanticsFieldOrderMergeAndUnknownFields) {
  // The name after the TagMap, an unknown field in every message, the value sent twice (merged:
  // tags appended, the last scalar wins), a timer's values both packed and one by one, and
  // negative counters (10-byte varints).
  const std::string counter1 = Len(1, "a:1") + Key(9, 0) + Varint(7) + Key(3, 0) + Varint(5);
  const std::string counter2 = Len(1, "b:2") + Len(2, "host") + Key(3, 0) + Varint(uint64_t(-3));
  const std::string tag_map =
      Len(1, Len(2, counter1) + Fixed64(15, 1.0) + Len(1, "ignored") + Len(2, counter2));
  std::string wire = Len(1, Len(2, tag_map) + Len(1, "cnt")) + Key(99, 5) + "abcd";
  std::string packed;
  for (double d : {1.5, 2.5}) packed.append(reinterpret_cast<const char*>(&d), 8);
  wire += Message(4, "tim", {Len(4, packed) + Fixed64(4, 3.5) + Fixed64(3, 2)});
  Collect c;
  const DecodeStatus st = Decode(wire, DecodeLimits{}, c);
  ASSERT_TRUE(st.ok()) << st.message;
  ASSERT_EQ(c.out.size(), 2u);
  EXPECT_EQ(c.out[0].name, "cnt");
  EXPECT_THAT(c.out[0].tags, ElementsAre("a:1", "b:2"));
  EXPECT_EQ(c.out[0].hostname, "host");
  EXPECT_EQ(c.out[0].counter, -3);
  EXPECT_THAT(c.out[1].values, ElementsAre(1.5, 2.5, 3.5));
  EXPECT_EQ(c.out[1].sample_count, 2);

  // Protobuf agrees.
  pb::RawMessageV2 m;
  ASSERT_TRUE(m.ParseFromString(wire));
  const auto& raw = m.counters().at("cnt").tagmap().at("ignored");
  EXPECT_THAT(raw.tags(), ElementsAre("a:1", "b:2"));
  EXPECT_EQ(raw.value(), -3);
  EXPECT_THAT(m.timers().at("tim").tagmap().at("k").values(), ElementsAre(1.5, 2.5, 3.5));
}

TEST(DecodeRawMessageTest, UnknownGroupsAreSkippedAsProtobufDoes) {
  const std::string good = Message(1, "ok", {Key(3, 0) + Varint(1)});
  // Nested groups inside a series, at the top level, and an unknown field in a group.
  const std::string series =
      Key(7, 3) + Key(8, 3) + Key(8, 4) + Key(1, 2) + Varint(0) + Key(7, 4) + Key(3, 0) + Varint(4);
  for (const std::string& wire : {good + Key(20, 3) + Key(20, 4), Message(1, "g", {series})}) {
    Collect c;
    EXPECT_TRUE(Decode(wire, DecodeLimits{}, c).ok()) << testing::PrintToString(wire);
    pb::RawMessageV2 m;
    EXPECT_TRUE(m.ParseFromString(wire));
  }
  for (const std::string& bad : {good + Key(20, 3) + Key(21, 4),  // ends another group
                                 good + Key(20, 4)}) {            // ends none
    Collect c;
    EXPECT_EQ(Decode(bad, DecodeLimits{}, c).error, DecodeError::kMalformed);
    pb::RawMessageV2 m;
    EXPECT_FALSE(m.ParseFromString(bad));
  }
}

// Random mutations of a valid body: the decoder accepts exactly what protobuf accepts.
TEST_F(RawMessageTest, DecoderAcceptsWhatProtobufAcceptsUnderMutation) {
  MetricMap w;
  Add(w, MetricType::kCounter, "req", {3}, 1, {"b:2", "a:1"}, "10.0.0.1");
  Add(w, MetricType::kGauge, "temp", {21.5}, 1, {"room:1"}, "h2");
  Add(w, MetricType::kTimer, "lat", {1, 2, 3}, 1, {"x"}, "h3");
  Add(w, MetricType::kSet, "users", {}, 1, {"x:y"}, "", 100 * kSecond, "al\xc3\xa9");
  std::string valid;
  ASSERT_TRUE(ToRawMessage(w).SerializeToString(&valid));
  google::protobuf::LogSilencer quiet;  // protobuf logs each invalid UTF-8 string
  std::mt19937 rng(14);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string m = valid;
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0 && !m.empty(); --k) {
      const size_t at = rng() % m.size();
      switch (rng() % 4) {
        case 0:
          m[at] = static_cast<char>(rng());
          break;
        case 1:
          m[at] = static_cast<char>(m[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          m.insert(at, 1, static_cast<char>(rng()));
          break;
        default:
          m.erase(at, 1 + rng() % 4);
          break;
      }
    }
    Collect c;
    const bool ours = Decode(m, DecodeLimits{}, c).ok();
    pb::RawMessageV2 parsed;
    const bool theirs = parsed.ParseFromString(m);
    ASSERT_EQ(ours, theirs) << testing::PrintToString(m);
    accepted += ours;
  }
  EXPECT_GT(accepted, 1000);  // the mutations exercise both answers
}

TEST(DecodeRawMessageTest, MalformedBodiesDeliverNothing) {
  const std::string good = Message(1, "ok", {Key(3, 0) + Varint(1)});
  std::string packed_odd = Len(4, "1234567");  // not a whole number of doubles
  for (const std::string& bad : {
           good + Message(1, "x", {Len(1, "\xff\xfe")}),      // tag not UTF-8
           good + Message(2, "\xc3", {}),                     // name not UTF-8
           good + Message(1, "x", {Len(2, "h\x80")}),         // hostname not UTF-8
           good + Message(4, "x", {packed_odd}),              // bad packed doubles
           good + Key(1, 3),                                  // a group, no end
           good + Key(0, 0) + Varint(1),                      // field 0
           good + Len(1, "abc").substr(0, 3),                 // truncated
           good + Key(1, 2) + Varint(uint64_t{1} << 40),      // length past the end
           good + Key(5, 0) + std::string(11, '\xff'),        // varint of 11 bytes
           good + Message(3, "s", {Len(3, "\xe0\x80\x80")}),  // overlong member
       }) {
    Collect c;
    const DecodeStatus st = Decode(bad, DecodeLimits{}, c);
    EXPECT_EQ(st.error, DecodeError::kMalformed) << testing::PrintToString(bad);
    EXPECT_TRUE(c.out.empty());
    EXPECT_EQ(c.begun, SIZE_MAX);
    pb::RawMessageV2 m;
    EXPECT_FALSE(m.ParseFromString(bad)) << testing::PrintToString(bad);  // protobuf agrees
  }
  Collect c;
  EXPECT_TRUE(Decode("", DecodeLimits{}, c).ok());  // an empty message has no series
  EXPECT_EQ(c.begun, 0u);
}

// Each limit: exactly at it passes, one beyond it refuses the whole message before delivering.
struct LimitCase {
  const char* name;
  size_t DecodeLimits::*limit;
  DecodeError error;
  std::function<std::string(size_t n)> body;  // a message with n of the limited thing
};

class DecodeLimitTest : public ::testing::TestWithParam<LimitCase> {};

TEST_P(DecodeLimitTest, AtTheLimitPassesBeyondItNothingIsDelivered) {
  const LimitCase& lc = GetParam();
  for (size_t limit : {size_t{0}, size_t{1}, size_t{5}, size_t{300}}) {
    DecodeLimits limits;
    limits.*lc.limit = limit;
    Collect at;
    const DecodeStatus ok = Decode(lc.body(limit), limits, at);
    EXPECT_TRUE(ok.ok()) << lc.name << " " << limit << ": " << ok.message;
    Collect beyond;
    const DecodeStatus st = Decode(lc.body(limit + 1), limits, beyond);
    EXPECT_EQ(st.error, lc.error) << lc.name << " " << limit;
    EXPECT_FALSE(st.message.empty());
    EXPECT_TRUE(beyond.out.empty()) << lc.name;
    EXPECT_EQ(beyond.begun, SIZE_MAX);
  }
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    EveryLimit, DecodeLimitTest,
    ::testing::Values(
        LimitCase{"series", &DecodeLimits::max_series, DecodeError::kSeries,
                  [](size_t n) {
                    // Half counters under one name, half gauges under another.
                    std::vector<std::string> a(n / 2, Key(3, 0) + Varint(1));
                    std::vector<std::string> b(n - n / 2, Fixed64(3, 1));
                    return Message(1, "a", a) + Message(2, "b", b);
                  }},
        LimitCase{"tags", &DecodeLimits::max_tags, DecodeError::kTags,
                  [](size_t n) {
                    // Empty tags, split over two copies of the value (merged into one series).
                    return Message(
                        1, "c",
                        {Repeat(Len(1, ""), n / 2) + Len(2, "h") + Repeat(Len(1, ""), n - n / 2)});
                  }},
        LimitCase{"tag length", &DecodeLimits::max_tag_length, DecodeError::kTagLength,
                  [](size_t n) { return Message(2, "g", {Len(1, std::string(n, 't'))}); }},
        LimitCase{"member length", &DecodeLimits::max_tag_length, DecodeError::kTagLength,
                  [](size_t n) { return Message(3, "s", {Len(3, std::string(n, 'm'))}); }},
        LimitCase{"name length", &DecodeLimits::max_name_length, DecodeError::kNameLength,
                  [](size_t n) { return Message(1, std::string(n, 'n'), {""}); }},
        LimitCase{"hostname length", &DecodeLimits::max_name_length, DecodeError::kNameLength,
                  [](size_t n) { return Message(1, "", {Len(2, std::string(n, 'h'))}); }},
        LimitCase{"packed timer values", &DecodeLimits::max_timer_values, DecodeError::kTimerValues,
                  [](size_t n) { return Message(4, "t", {Len(4, std::string(8 * n, '\0'))}); }},
        LimitCase{"timer values one by one", &DecodeLimits::max_timer_values,
                  DecodeError::kTimerValues,
                  [](size_t n) { return Message(4, "t", {Repeat(Fixed64(4, 1), n)}); }},
        LimitCase{"set members", &DecodeLimits::max_set_members, DecodeError::kSetMembers,
                  [](size_t n) { return Message(3, "s", {Repeat(Len(3, "m"), n)}); }},
        LimitCase{"set members of a request", &DecodeLimits::max_request_set_members,
                  DecodeError::kRequestSetMembers,
                  [](size_t n) {
                    // Split over two sets, each within a per-set limit.
                    return Message(3, "a", {Repeat(Len(3, "m"), n / 2)}) +
                           Message(3, "b", {Repeat(Len(3, "m"), n - n / 2)});
                  }}),
    [](const auto& test_info) {  // not `info`: the macro's own parameter has that name
      std::string name = test_info.param.name;
      std::replace(name.begin(), name.end(), ' ', '_');
      return name;
    });

TEST(DecodeRawMessageTest, ScratchIsTakenFromTheBudget) {
  const std::string wire = Message(4, "t", {Len(4, std::string(8 * 100000, '\0'))});
  std::atomic<uint64_t> in_flight{0};
  {
    wire::BudgetLease lease(&in_flight, 100000);  // less than 800 KB of values
    Collect c;
    EXPECT_EQ(Decode(wire, DecodeLimits{}, c, &lease).error, DecodeError::kOverBudget);
    EXPECT_TRUE(c.out.empty());
  }
  EXPECT_EQ(in_flight.load(), 0u);
  wire::BudgetLease lease(&in_flight, 1 << 20);
  Collect c;
  EXPECT_TRUE(Decode(wire, DecodeLimits{}, c, &lease).ok());
  EXPECT_GE(in_flight.load(), 800000u);
}

TEST(DecodeRawMessageTest, BombOfEmptyTagsStopsAtTheLimitWithoutGrowing) {
  // The body: one counter, millions of empty tags (2 bytes each on the wire).
  const std::string wire = Message(1, "bomb", {Repeat(Len(1, ""), 4'000'000)});
  DecodeLimits limits;
  limits.max_tags = 1000;
  std::atomic<uint64_t> in_flight{0};
  wire::BudgetLease lease(&in_flight, uint64_t{1} << 30);
  Collect c;
  EXPECT_EQ(Decode(wire, limits, c, &lease).error, DecodeError::kTags);
  EXPECT_LE(lease.held(), 1024 * sizeof(std::string_view));  // the tags' scratch only
}

TEST(DecodeEventTest, FieldsAndLimits) {
  Event e;
  e.title = "deploy";
  e.text = "v2";
  e.date_happened = -5;
  e.source = "h1";
  e.aggregation_key = "agg";
  e.source_type_name = "ci";
  e.tags = {"a:1", "b"};
  e.priority = EventPriority::kLow;
  e.alert_type = EventAlertType::kError;
  std::string bytes;
  ASSERT_TRUE(ToEventV2(e).SerializeToString(&bytes));
  Event out;
  ASSERT_TRUE(DecodeEvent(bytes, DecodeLimits{}, out).ok());
  EXPECT_EQ(out, e);

  DecodeLimits limits;
  limits.max_tags = 2;
  EXPECT_TRUE(DecodeEvent(bytes, limits, out).ok());
  limits.max_tags = 1;
  EXPECT_EQ(DecodeEvent(bytes, limits, out).error, DecodeError::kTags);
  limits = DecodeLimits{};
  limits.max_tag_length = 2;
  EXPECT_EQ(DecodeEvent(bytes, limits, out).error, DecodeError::kTagLength);
  limits = DecodeLimits{};
  limits.max_name_length = 1;
  EXPECT_EQ(DecodeEvent(bytes, limits, out).error, DecodeError::kNameLength);
  // 10 million empty tags: refused at the limit, not collected.
  limits = DecodeLimits{};
  limits.max_tags = 1000;
  EXPECT_EQ(DecodeEvent(Repeat(Len(7, ""), 10'000'000), limits, out).error, DecodeError::kTags);
  EXPECT_EQ(DecodeEvent(bytes + Key(3, 0), limits, out).error, DecodeError::kMalformed);
  EXPECT_EQ(DecodeEvent(Len(1, "\xff"), limits, out).error, DecodeError::kMalformed);
  // Unknown enum values read as the defaults.
  ASSERT_TRUE(DecodeEvent(Key(9, 0) + Varint(7) + Key(10, 0) + Varint(9), limits, out).ok());
  EXPECT_EQ(out.priority, EventPriority::kNormal);
  EXPECT_EQ(out.alert_type, EventAlertType::kInfo);
}

// --- Timer kinds (docs/forwarder.md#schema: RawTimerV2.Kind, field 100) ---

class KindCollect : public RawSeriesVisitor {
 public:
  void Series(const RawSeries& r) override {
    kinds[std::string(r.name)] = r.timer_kind;
    values[std::string(r.name)] = {r.timer_values.begin(), r.timer_values.end()};
  }
  std::map<std::string, TimerKind> kinds;
  std::map<std::string, std::vector<double>> values;
};

void AddTimer(pipeline::Pipeline& p, MetricMap& map, std::string_view name, TimerKind kind,
              double value) {
  ParsedMetric m;
  m.type = MetricType::kTimer;
  m.timer_kind = kind;
  m.name = name;
  m.values = {value};
  p.Receive(m, "", 100 * kSecond, map);
}

TEST_F(RawMessageTest, TimerKindIsWrittenOnlyForHistogramAndReadBack) {
  MetricMap w1, w2;
  AddTimer(pipeline_, w1, "ms", TimerKind::kMs, 1);
  AddTimer(pipeline_, w2, "d", TimerKind::kDistribution, 6);
  AddTimer(pipeline_, w1, "h", TimerKind::kHistogram, 2);
  AddTimer(pipeline_, w2, "h", TimerKind::kHistogram, 3);
  AddTimer(pipeline_, w1, "mixed", TimerKind::kHistogram, 4);
  AddTimer(pipeline_, w2, "mixed", TimerKind::kMs, 5);  // ms on another worker: ms
  const pb::RawMessageV2 msg = ToRawMessage(Merged({&w1, &w2}));
  const auto kind_of = [&](const std::string& name) {
    return msg.timers().at(name).tagmap().at("").kind();
  };
  EXPECT_EQ(kind_of("ms"), pb::RawTimerV2::Ms);
  EXPECT_EQ(kind_of("h"), pb::RawTimerV2::Histogram);
  EXPECT_EQ(kind_of("mixed"), pb::RawTimerV2::Ms);
  EXPECT_EQ(kind_of("d"), pb::RawTimerV2::Distribution);

  // Ms is not written: an ms timer's bytes are those gostatsd writes (fields 1-4 only), and a
  // Histogram one adds field 100 (varint tag a0 06) = 1, a Distribution one = 2.
  for (const auto& [name, tag_map] : msg.timers()) {
    const pb::RawTimerV2& raw = tag_map.tagmap().at("");
    pb::RawTimerV2 without = raw;
    without.clear_kind();
    const std::string bytes = raw.SerializeAsString();
    if (raw.kind() == pb::RawTimerV2::Ms) {
      EXPECT_EQ(bytes, without.SerializeAsString()) << name;
    } else {
      EXPECT_EQ(bytes,
                without.SerializeAsString() + "\xa0\x06" + static_cast<char>(name == "d" ? 2 : 1))
          << name;
    }
  }

  // Protobuf reads it back, and so does the decoder.
  const pb::RawMessageV2 back = RoundTrip(msg);
  EXPECT_EQ(back.timers().at("h").tagmap().at("").kind(), pb::RawTimerV2::Histogram);
  KindCollect c;
  ASSERT_TRUE(DecodeRawMessage(msg.SerializeAsString(), DecodeLimits{}, nullptr, c).ok());
  EXPECT_EQ(c.kinds.at("ms"), TimerKind::kMs);
  EXPECT_EQ(c.kinds.at("h"), TimerKind::kHistogram);
  EXPECT_EQ(c.kinds.at("mixed"), TimerKind::kMs);
  EXPECT_EQ(c.kinds.at("d"), TimerKind::kDistribution);
  EXPECT_THAT(c.values.at("h"), UnorderedElementsAre(2, 3));
}

TEST(DecodeRawMessageTest, TimerKindAbsentUnknownOrMistypedIsMs) {
  std::string packed;
  for (double d : {1.5, 2.5}) packed.append(reinterpret_cast<const char*>(&d), 8);
  const std::string timer = Fixed64(3, 1) + Len(4, packed);  // gostatsd's fields only
  const std::string kind_h = Key(100, 0) + Varint(1);
  const std::string wire =
      Message(4, "old", {timer}) +                                      // absent: ms
      Message(4, "h", {timer + kind_h}) +                               // Histogram
      Message(4, "first", {kind_h + timer}) +                           // any position
      Message(4, "unknown", {timer + Key(100, 0) + Varint(7)}) +        // a later kind: ms
      Message(4, "last", {timer + kind_h + Key(100, 0) + Varint(0)}) +  // the last one wins
      // One TagMap entry whose value comes twice: merged, as protobuf does.
      Len(4, Len(1, "merged") + Len(2, Len(1, Len(1, "k") + Len(2, kind_h) + Len(2, timer)))) +
      Message(4, "mistyped", {timer + Len(100, "x")}) +         // wrong type: unknown
      Message(1, "counter", {Key(3, 0) + Varint(2) + kind_h});  // not a timer: skipped
  KindCollect c;
  const DecodeStatus st = DecodeRawMessage(wire, DecodeLimits{}, nullptr, c);
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(c.kinds.at("old"), TimerKind::kMs);
  EXPECT_THAT(c.values.at("old"), ElementsAre(1.5, 2.5));
  EXPECT_EQ(c.kinds.at("h"), TimerKind::kHistogram);
  EXPECT_EQ(c.kinds.at("first"), TimerKind::kHistogram);
  EXPECT_EQ(c.kinds.at("unknown"), TimerKind::kMs);
  EXPECT_EQ(c.kinds.at("last"), TimerKind::kMs);
  EXPECT_EQ(c.kinds.at("merged"), TimerKind::kHistogram);
  EXPECT_THAT(c.values.at("merged"), ElementsAre(1.5, 2.5));
  EXPECT_EQ(c.kinds.at("mistyped"), TimerKind::kMs);
  EXPECT_EQ(c.kinds.at("counter"), TimerKind::kMs);

  // Protobuf agrees on each.
  pb::RawMessageV2 m;
  ASSERT_TRUE(m.ParseFromString(wire));
  const auto kind_of = [&](const std::string& name) {
    return m.timers().at(name).tagmap().at("k").kind();
  };
  EXPECT_EQ(kind_of("old"), pb::RawTimerV2::Ms);
  EXPECT_EQ(kind_of("h"), pb::RawTimerV2::Histogram);
  EXPECT_EQ(kind_of("last"), pb::RawTimerV2::Ms);
  EXPECT_EQ(kind_of("merged"), pb::RawTimerV2::Histogram);
  EXPECT_EQ(kind_of("mistyped"), pb::RawTimerV2::Ms);
  EXPECT_EQ(TimerKindFromWire(static_cast<uint64_t>(kind_of("unknown"))), TimerKind::kMs);
}

// A forwarder's timers through the wire into an aggregator: both kinds from two forwarders (or
// an old one that sends no kind) are ms, in either order of arrival.
TEST_F(RawMessageTest, ForwardedKindsMergeAsLinesDo) {
  MetricMap w1, w2;
  AddTimer(pipeline_, w1, "t", TimerKind::kHistogram, 1);
  AddTimer(pipeline_, w1, "h", TimerKind::kHistogram, 1);
  AddTimer(pipeline_, w2, "t", TimerKind::kMs, 2);
  AddTimer(pipeline_, w2, "h", TimerKind::kHistogram, 2);
  const std::string from1 = ToRawMessage(Merged({&w1})).SerializeAsString();
  const std::string from2 = ToRawMessage(Merged({&w2})).SerializeAsString();
  const std::vector<std::vector<std::string>> orders = {{from1, from2}, {from2, from1}};
  for (const auto& bodies : orders) {
    aggregate::Aggregator agg{aggregate::AggregatorOptions{}};
    for (const std::string& body : bodies) {
      MetricMap received;
      struct Receive : RawSeriesVisitor {
        pipeline::Pipeline* p = nullptr;
        MetricMap* out = nullptr;
        void Series(const RawSeries& r) override {
          pipeline::AggregatedSeries s;
          s.type = r.type;
          s.name = r.name;
          s.timer_values = r.timer_values.data();
          s.timer_count = r.timer_values.size();
          s.sample_count = r.sample_count;
          s.timer_kind = r.timer_kind;
          p->ReceiveAggregated(s, r.hostname, 100 * kSecond, *out);
        }
      } visitor;
      visitor.p = &pipeline_;
      visitor.out = &received;
      ASSERT_TRUE(DecodeRawMessage(body, DecodeLimits{}, nullptr, visitor).ok());
      agg.Merge(received);
    }
    const auto snap = agg.Flush(100 * kSecond, 1);
    ASSERT_EQ(snap->timers.size(), 2u);
    for (const auto& t : snap->timers) {
      EXPECT_EQ(t.kind, t.key->name() == "h" ? TimerKind::kHistogram : TimerKind::kMs)
          << t.key->name();
      EXPECT_EQ(t.count, 2);
    }
  }
}

TEST(DecodeErrorNameTest, Names) {
  EXPECT_EQ(DecodeErrorName(DecodeError::kSeries), "series");
  EXPECT_EQ(DecodeErrorName(DecodeError::kTagLength), "tag-length");
  EXPECT_EQ(DecodeErrorName(DecodeError::kOverBudget), "over-budget");
}

// float-counters through the forwarder (docs/forwarder.md#schema): RawCounterV2.FloatValue
// (field 100) carries the fraction, Value the truncated count for gostatsd.
class FloatCounterWireTest : public ::testing::Test {
 protected:
  void SetUp() override { options_.float_counters = true; }

  MetricMap MergedFloat(double value, double rate) {
    MetricMap w;
    ParsedMetric m;
    m.type = MetricType::kCounter;
    m.name = "req";
    m.values = {value};
    m.rate = rate;
    pipeline_.Receive(m, "10.0.0.1", 100 * kSecond, w);
    aggregate::AggregatorOptions ao;
    ao.float_counters = true;
    aggregate::Aggregator agg{ao};
    agg.Merge(w);
    return agg.TakeState();
  }

  pipeline::PipelineOptions options_;
  pipeline::Pipeline pipeline_{&options_};
};

// What the decoder hands the ingestion pipeline for each counter.
struct CounterCollect : RawSeriesVisitor {
  void Series(const RawSeries& r) override {
    counter = r.counter;
    has_float = r.has_float_counter;
    float_counter = r.float_counter;
    ++n;
  }
  int64_t counter = 0;
  bool has_float = false;
  double float_counter = 0;
  int n = 0;
};

TEST_F(FloatCounterWireTest, BothFieldsAreWrittenAndRead) {
  const MetricMap merged = MergedFloat(1, 0.3);  // 3.333...
  const pb::RawMessageV2 msg = ToRawMessage(merged, true);
  const pb::RawCounterV2& raw = msg.counters().at("req").tagmap().begin()->second;
  EXPECT_EQ(raw.value(), 3);  // what gostatsd reads
  EXPECT_DOUBLE_EQ(raw.floatvalue(), 1 / 0.3);
  std::string bytes;
  ASSERT_TRUE(msg.SerializeToString(&bytes));
  CounterCollect c;
  ASSERT_TRUE(DecodeRawMessage(bytes, DecodeLimits{}, nullptr, c).ok());
  ASSERT_EQ(c.n, 1);
  EXPECT_EQ(c.counter, 3);
  EXPECT_TRUE(c.has_float);
  EXPECT_DOUBLE_EQ(c.float_counter, 1 / 0.3);
  pb::RawMessageV2 parsed;  // protobuf's own parser reads the same
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.counters().at("req").tagmap().begin()->second.floatvalue(), raw.floatvalue());

  // Into an aggregator with float-counters: the fraction; without: the integer.
  for (bool on : {true, false}) {
    pipeline::PipelineOptions po;
    po.float_counters = on;
    pipeline::Pipeline p(&po);
    MetricMap in;
    pipeline::AggregatedSeries a;
    a.type = MetricType::kCounter;
    a.name = "req";
    a.counter = c.counter;
    a.has_float_counter = c.has_float;
    a.float_counter = c.float_counter;
    ASSERT_TRUE(p.ReceiveAggregated(a, "10.0.0.1", 100 * kSecond, in));
    aggregate::AggregatorOptions ao;
    ao.float_counters = on;
    aggregate::Aggregator agg{ao};
    agg.Merge(in);
    const auto snap = agg.Flush(101 * kSecond, 1);
    ASSERT_EQ(snap->counters.size(), 1u);
    EXPECT_DOUBLE_EQ(snap->Count(snap->counters[0]), on ? 1 / 0.3 : 3.0);
  }
}

TEST_F(FloatCounterWireTest, AFractionBelowOneIsSentInTheNewFieldOnly) {
  const pb::RawMessageV2 msg = ToRawMessage(MergedFloat(0.5, 1), true);
  const pb::RawCounterV2& raw = msg.counters().at("req").tagmap().begin()->second;
  EXPECT_EQ(raw.value(), 0);
  EXPECT_EQ(raw.floatvalue(), 0.5);
}

TEST_F(RawMessageTest, WithoutFloatCountersTheBytesAreGostatsds) {
  // An integer counter map: no field 100, whatever the value, so the message is gostatsd's.
  MetricMap w;
  Add(w, MetricType::kCounter, "req", {3}, 0.5, {}, "10.0.0.1");
  const pb::RawMessageV2 msg = ToRawMessage(Merged({&w}));
  const pb::RawCounterV2& raw = msg.counters().at("req").tagmap().begin()->second;
  EXPECT_EQ(raw.value(), 6);
  EXPECT_EQ(raw.floatvalue(), 0);
  std::string bytes;
  ASSERT_TRUE(msg.SerializeToString(&bytes));
  CounterCollect c;
  ASSERT_TRUE(DecodeRawMessage(bytes, DecodeLimits{}, nullptr, c).ok());
  EXPECT_EQ(c.counter, 6);
  EXPECT_FALSE(c.has_float);  // an older forwarder's counter: only Value
}

}  // namespace
}  // namespace cstatsd::forward
