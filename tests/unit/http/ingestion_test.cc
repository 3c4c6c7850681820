// Ingestion of the forwarding protocol v2 (spec §5): bodies decoded into series through the
// pipeline, the status of every bad input class (§5.1, decision 11), and the counters of
// http.incoming (§4.7). No sockets: HandleIngest is the request logic without the HTTP layer.
#include "http/ingestion.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "gostatsd.pb.h"
#include "wire/compression.h"

namespace cstatsd::http {
namespace {

constexpr int64_t kNow = 1700000000000000000;
constexpr size_t kLimit = size_t{64} << 20;

std::string ReadTestData(const std::string& name) {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "testdata" / name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A series of a map, found by its name, tags and source.
template <typename V>
const V* Find(const SeriesTable<V>& table, std::string_view name, std::string_view tags,
              std::string_view source) {
  for (const auto& e : table.entries()) {
    if (e.key->name() == name && e.key->tags() == tags && e.key->source() == source) {
      return &e.value;
    }
  }
  return nullptr;
}

class IngestionTest : public ::testing::Test {
 protected:
  IngestResult Post(IngestKind kind, std::string_view data, std::string_view encoding = {},
                    size_t limit = kLimit) {
    IngestBody body;
    body.has_encoding = !encoding.empty();
    body.encoding = encoding;
    body.data = data;
    return HandleIngest(kind, body, limit, kNow, target(), counters_);
  }
  IngestTarget& target() {
    if (!target_) target_ = std::make_unique<IngestTarget>(options_);
    return *target_;
  }
  MetricMap& Flushed() { return target().SwapForFlush(); }

  pipeline::PipelineOptions options_;
  std::unique_ptr<IngestTarget> target_;
  IngestCounters counters_;
};

TEST_F(IngestionTest, ProtocEncodedMessageDecodesToItsSeries) {
  options_.default_tags = {"env:prod"};
  const std::string body = ReadTestData("raw_message.bin");
  ASSERT_FALSE(body.empty());
  const IngestResult r = Post(IngestKind::kRaw, body);
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.failure, IngestFailure::kNone);
  MetricMap& m = Flushed();

  ASSERT_EQ(m.counters.size(), 2u);
  const CounterAgg* home = Find(m.counters, "requests", "env:prod,route:home", "web-1");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->value, 5000000000);  // an int64 beyond 32 bits, added as is
  EXPECT_EQ(home->last_ns, kNow);      // receipt time
  const CounterAgg* api = Find(m.counters, "requests", "env:prod,route:api", "web-1");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->value, -3);

  const GaugeAgg* g = Find(m.gauges, "queue.depth", "env:prod,q:jobs", "web-2");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->value, 12.5);

  // Tags sorted, no Hostname: no source.
  const TimerAgg* t = Find(m.timers, "latency", "a,b,env:prod", "");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->values, (std::vector<double>{10, 30, 20}));
  EXPECT_EQ(t->sampled_count, 40);  // SampleCount, not the number of values

  const SetAgg* s = Find(m.sets, "users", "env:prod", "web-3");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->members, (SetMembers{"alice", "bob"}));

  EXPECT_EQ(counters_.success.load(), 1u);
  EXPECT_EQ(counters_.metrics.load(), 5u);
}

TEST_F(IngestionTest, ProtocEncodedEventKeepsEveryField) {
  options_.default_tags = {"env:prod"};
  std::vector<Event> events;
  target().SetEventSink([&](Event&& e) { events.push_back(std::move(e)); });
  EXPECT_EQ(Post(IngestKind::kEvent, ReadTestData("event.bin")).status, 202);
  ASSERT_EQ(events.size(), 1u);
  const Event& e = events[0];
  EXPECT_EQ(e.title, "deploy");
  EXPECT_EQ(e.text, "version 42");
  EXPECT_EQ(e.date_happened, 1700000000);
  EXPECT_EQ(e.source, "web-1");  // Hostname; SourceIP is ignored
  EXPECT_EQ(e.aggregation_key, "deploys");
  EXPECT_EQ(e.source_type_name, "ci");
  EXPECT_EQ(e.tags, (std::vector<std::string>{"team:core", "env:prod"}));
  EXPECT_EQ(e.priority, EventPriority::kLow);
  EXPECT_EQ(e.alert_type, EventAlertType::kSuccess);
  EXPECT_EQ(counters_.events.load(), 1u);
  EXPECT_EQ(counters_.success.load(), 1u);
}

TEST_F(IngestionTest, UnknownEventEnumValuesAreNormalAndInfo) {
  pb::EventV2 msg;
  msg.set_title("t");
  msg.set_priority(static_cast<pb::EventV2::EventPriority>(7));
  msg.set_type(static_cast<pb::EventV2::AlertType>(42));
  std::vector<Event> events;
  target().SetEventSink([&](Event&& e) { events.push_back(std::move(e)); });
  EXPECT_EQ(Post(IngestKind::kEvent, msg.SerializeAsString()).status, 202);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].priority, EventPriority::kNormal);
  EXPECT_EQ(events[0].alert_type, EventAlertType::kInfo);
}

TEST_F(IngestionTest, TagsKeyIsIgnoredAndSeriesAreRekeyedFromTagsAndHostname) {
  pb::RawMessageV2 msg;
  auto& tag_map = *(*msg.mutable_counters())["c"].mutable_tagmap();
  // Two inner keys that this server's rules make one series: the values add up.
  for (const char* key : {"x,s:h", "anything"}) {
    pb::RawCounterV2& c = tag_map[key];
    c.add_tags("b");
    c.add_tags("a");
    c.add_tags("a");
    c.set_hostname("h");
    c.set_value(2);
  }
  EXPECT_EQ(Post(IngestKind::kRaw, msg.SerializeAsString()).status, 202);
  MetricMap& m = Flushed();
  ASSERT_EQ(m.counters.size(), 1u);
  const CounterAgg* c = Find(m.counters, "c", "a,b", "h");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->value, 4);
  EXPECT_EQ(counters_.metrics.load(), 2u);
}

TEST_F(IngestionTest, HostTagsStayTagsEvenWithIgnoreHost) {
  // The forwarder has already decided the source (its Hostname field).
  options_.ignore_host = true;
  pb::RawMessageV2 msg;
  pb::RawGaugeV2& g = (*(*msg.mutable_gauges())["g"].mutable_tagmap())["k"];
  g.add_tags("host:other");
  g.set_hostname("h");
  g.set_value(1);
  EXPECT_EQ(Post(IngestKind::kRaw, msg.SerializeAsString()).status, 202);
  EXPECT_NE(Find(Flushed().gauges, "g", "host:other", "h"), nullptr);
}

TEST_F(IngestionTest, RequestsAccumulateUntilTheFlushTakesTheMap) {
  pb::RawMessageV2 msg;
  pb::RawTimerV2& t = (*(*msg.mutable_timers())["t"].mutable_tagmap())[""];
  t.add_values(1);
  t.set_samplecount(10);
  pb::RawSetV2& s = (*(*msg.mutable_sets())["s"].mutable_tagmap())[""];  // no members
  (void)s;
  const std::string body = msg.SerializeAsString();
  EXPECT_EQ(Post(IngestKind::kRaw, body).status, 202);
  EXPECT_EQ(Post(IngestKind::kRaw, body).status, 202);
  MetricMap& first = Flushed();
  const TimerAgg* timer = Find(first.timers, "t", "", "");
  ASSERT_NE(timer, nullptr);
  EXPECT_EQ(timer->values, (std::vector<double>{1, 1}));
  EXPECT_EQ(timer->sampled_count, 20);
  const SetAgg* set = Find(first.sets, "s", "", "");
  ASSERT_NE(set, nullptr);  // the series exists with no member (cardinality 0)
  EXPECT_TRUE(set->members.empty());
  // What arrives after the swap goes to the other map.
  EXPECT_EQ(Post(IngestKind::kRaw, body).status, 202);
  EXPECT_EQ(Find(first.timers, "t", "", "")->values.size(), 2u);
  MetricMap& second = Flushed();
  EXPECT_NE(&second, &first);
  EXPECT_EQ(Find(second.timers, "t", "", "")->values, (std::vector<double>{1}));
}

TEST_F(IngestionTest, CompressedBodies) {
  const std::string body = ReadTestData("raw_message.bin");
  for (auto [c, encoding] :
       {std::pair{wire::Compression::kZlib, "deflate"}, std::pair{wire::Compression::kLz4, "lz4"},
        std::pair{wire::Compression::kNone, "identity"}}) {
    auto compressed = wire::Compress(c, body, 6);
    ASSERT_TRUE(compressed.ok());
    EXPECT_EQ(Post(IngestKind::kRaw, *compressed, encoding).status, 202) << encoding;
  }
  EXPECT_EQ(counters_.success.load(), 3u);
  const CounterAgg* home = Find(Flushed().counters, "requests", "route:home", "web-1");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->value, 15000000000);
}

TEST_F(IngestionTest, UnknownEncodingIs400Encoding) {
  const std::string body = ReadTestData("raw_message.bin");
  for (const char* encoding : {"gzip", "br", "Deflate", "deflate, lz4", "x"}) {
    const IngestResult r = Post(IngestKind::kRaw, body, encoding);
    EXPECT_EQ(r.status, 400) << encoding;
    EXPECT_EQ(r.failure, IngestFailure::kEncoding) << encoding;
  }
  EXPECT_EQ(counters_.failure_encoding.load(), 5u);
  EXPECT_EQ(counters_.success.load(), 0u);
  EXPECT_TRUE(Flushed().empty());
}

TEST_F(IngestionTest, CorruptCompressedBodiesAre400Decompress) {
  const std::string body = ReadTestData("raw_message.bin");
  auto z = wire::Compress(wire::Compression::kZlib, body, 6);
  auto l = wire::Compress(wire::Compression::kLz4, body, 0);
  ASSERT_TRUE(z.ok() && l.ok());
  const std::vector<std::pair<std::string, const char*>> cases = {
      {body, "deflate"},                         // not compressed at all
      {z->substr(0, z->size() / 2), "deflate"},  // truncated stream
      {body, "lz4"},
      {l->substr(0, l->size() - 3), "lz4"},
      {"", "deflate"},
  };
  for (const auto& [data, encoding] : cases) {
    const IngestResult r = Post(IngestKind::kRaw, data, encoding);
    EXPECT_EQ(r.status, 400) << encoding << " " << data.size();
    EXPECT_EQ(r.failure, IngestFailure::kDecompress) << encoding << " " << data.size();
  }
  EXPECT_EQ(counters_.failure_decompress.load(), cases.size());
}

TEST_F(IngestionTest, BadProtobufIs400Unmarshal) {
  const std::string body = ReadTestData("raw_message.bin");
  const std::vector<std::string> cases = {
      body.substr(0, body.size() - 5),             // truncated inside a nested message
      std::string("\x0a\xff\xff\xff\xff\x0f", 6),  // a length beyond the body
      std::string("\xff", 1),                      // a tag with no end
      std::string("\x0f", 1),                      // field 1 with wire type 7 (invalid)
  };
  for (const auto& data : cases) {
    const IngestResult r = Post(IngestKind::kRaw, data);
    EXPECT_EQ(r.status, 400) << data.size();
    EXPECT_EQ(r.failure, IngestFailure::kUnmarshal) << data.size();
    EXPECT_EQ(Post(IngestKind::kEvent, data).status, 400);
  }
  EXPECT_EQ(counters_.failure_unmarshal.load(), 2 * cases.size());
  EXPECT_TRUE(Flushed().empty());
}

TEST_F(IngestionTest, RandomBodiesNeverCrash) {
  std::mt19937 rng(12345);
  size_t answered = 0;
  for (int i = 0; i < 500; ++i) {
    std::string data(rng() % 300, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    for (const char* encoding : {"", "deflate", "lz4"}) {
      const IngestResult r = Post(i % 2 ? IngestKind::kRaw : IngestKind::kEvent, data, encoding);
      EXPECT_TRUE(r.status == 202 || r.status == 400) << r.status;
      ++answered;
    }
  }
  const uint64_t counted = counters_.success + counters_.failure_decompress +
                           counters_.failure_unmarshal + counters_.failure_encoding;
  EXPECT_EQ(counted, answered);
}

// `total` bytes of zeros as one zlib stream, built without deflating them all: after a full
// flush the compressor starts afresh, so every further 1 MiB block of zeros compresses to the
// same bytes; the trailer carries the Adler-32 of the whole.
std::string DeflatedZeros(size_t total) {
  constexpr size_t kBlock = 1 << 20;
  const std::string zeros(kBlock, '\0');
  z_stream zs{};
  EXPECT_EQ(deflateInit(&zs, 9), Z_OK);
  auto run = [&](int flush, bool feed) {
    std::string out;
    char buf[1 << 14];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    zs.avail_in = feed ? static_cast<uInt>(kBlock) : 0;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof(buf);
      deflate(&zs, flush);
      out.append(buf, sizeof(buf) - zs.avail_out);
    } while (zs.avail_out == 0 || zs.avail_in > 0);
    return out;
  };
  std::string out = run(Z_FULL_FLUSH, true);  // header + first block
  const std::string block = run(Z_FULL_FLUSH, true);
  for (size_t n = kBlock; n < total; n += kBlock) out += block;
  std::string end = run(Z_FINISH, false);
  deflateEnd(&zs);
  uLong adler = adler32(0, nullptr, 0);
  const uLong block_adler = adler32(1, reinterpret_cast<const Bytef*>(zeros.data()), kBlock);
  for (size_t n = 0; n < total; n += kBlock) adler = adler32_combine(adler, block_adler, kBlock);
  end.resize(end.size() - 4);
  for (int shift = 24; shift >= 0; shift -= 8) end.push_back(static_cast<char>(adler >> shift));
  return out + end;
}

TEST(DeflatedZerosTest, IsAValidStreamOfThatManyZeros) {
  const std::string z = DeflatedZeros(size_t{8} << 20);
  const wire::Decompressed d = wire::Decompress(wire::Compression::kZlib, z, size_t{16} << 20);
  ASSERT_EQ(d.error, wire::DecompressError::kNone) << d.message;
  EXPECT_EQ(d.data, std::string(size_t{8} << 20, '\0'));
}

TEST_F(IngestionTest, DecompressionBombIs413) {
  const std::string bomb = DeflatedZeros(size_t{1} << 30);
  EXPECT_LT(bomb.size(), size_t{2} << 20);
  const IngestResult r = Post(IngestKind::kRaw, bomb, "deflate");  // 64 MiB limit
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.failure, IngestFailure::kTooLarge);

  auto lz4 = wire::Compress(wire::Compression::kLz4, std::string(8 << 20, '\0'), 0);
  ASSERT_TRUE(lz4.ok());
  EXPECT_EQ(Post(IngestKind::kRaw, *lz4, "lz4", 1 << 20).status, 413);
  EXPECT_EQ(counters_.failure_too_large.load(), 2u);
}

TEST_F(IngestionTest, OversizedBodiesAre413AndReadFailuresAre500) {
  const std::string body = ReadTestData("raw_message.bin");
  EXPECT_EQ(Post(IngestKind::kRaw, body, {}, body.size() - 1).status, 413);
  EXPECT_EQ(Post(IngestKind::kRaw, body, {}, body.size()).status, 202);  // exactly at the limit
  // Decompressed beyond the limit although small as sent.
  auto z = wire::Compress(wire::Compression::kZlib, body, 9);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(Post(IngestKind::kRaw, *z, "deflate", body.size() - 1).status, 413);

  IngestBody too_large;
  too_large.too_large = true;  // the HTTP layer stopped reading at the limit
  EXPECT_EQ(HandleIngest(IngestKind::kRaw, too_large, kLimit, kNow, target(), counters_).status,
            413);
  IngestBody broken;
  broken.read_failed = true;
  broken.data = body;
  const IngestResult r = HandleIngest(IngestKind::kRaw, broken, kLimit, kNow, target(), counters_);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.failure, IngestFailure::kRead);
  EXPECT_EQ(counters_.failure_too_large.load(), 3u);
  EXPECT_EQ(counters_.failure_read.load(), 1u);
  EXPECT_EQ(counters_.success.load(), 1u);
}

TEST(IngestFailureNameTest, NamesOfTheFailureTag) {
  EXPECT_EQ(IngestFailureName(IngestFailure::kRead), "read");
  EXPECT_EQ(IngestFailureName(IngestFailure::kDecompress), "decompress");
  EXPECT_EQ(IngestFailureName(IngestFailure::kEncoding), "encoding");
  EXPECT_EQ(IngestFailureName(IngestFailure::kUnmarshal), "unmarshal");
  EXPECT_EQ(IngestFailureName(IngestFailure::kTooLarge), "too-large");
}

}  // namespace
}  // namespace cstatsd::http
