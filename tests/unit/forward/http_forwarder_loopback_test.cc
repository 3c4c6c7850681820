// HttpForwarder against a local cpp-httplib server (docs/forwarder.md#what-is-sent): request line
// and headers, the body decompressed and decoded, retries of a 500, fast-fail of a 400, the retry
// budget, an unreachable aggregator, events, dynamic headers, the counters and the deep check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

#include "forward/http_forwarder.h"
#include "gostatsd.pb.h"
#include "pipeline/pipeline.h"
#include "unit/support/fake_http_server.h"
#include "wire/compression.h"

namespace cstatsd::forward {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using cstatsd::testing::FakeHttpServer;

class HttpForwarderTest : public ::testing::Test {
 protected:
  void Start(ForwarderOptions o) {
    if (o.api_endpoint.empty()) o.api_endpoint = server_.url();
    auto f = HttpForwarder::Create(o, transport::TransportOptions{});
    ASSERT_TRUE(f.ok()) << f.error();
    fwd_ = std::move(*f);
    loop_ = std::thread([this] { fwd_->Run(); });
  }
  void TearDown() override {
    if (fwd_) {
      fwd_->Stop(std::chrono::steady_clock::now() + 10s);
      loop_.join();
    }
  }
  // Waits until nothing is pending (bounded); the counters are final then.
  void Settle() { ASSERT_TRUE(fwd_->Stop(std::chrono::steady_clock::now() + 20s)); }

  MetricMap SampleMap(std::vector<std::string_view> tags = {"region:eu"}) {
    MetricMap m;
    ParsedMetric p;
    p.type = MetricType::kCounter;
    p.name = "hits";
    p.values = {4};
    p.rate = 0.5;
    p.tags = tags;
    pipeline_.Receive(p, "10.0.0.9", 1, m);
    return m;
  }

  static pb::RawMessageV2 Decode(const cstatsd::testing::RecordedRequest& r, wire::Compression c) {
    // cpp-httplib has inflated a deflate body already (see fake_http_server.h).
    auto plain = c == wire::Compression::kZlib
                     ? wire::Decompressed{r.body, wire::DecompressError::kNone, ""}
                     : wire::Decompress(c, r.body, 1 << 20);
    EXPECT_EQ(plain.error, wire::DecompressError::kNone) << plain.message;
    pb::RawMessageV2 msg;
    EXPECT_TRUE(msg.ParseFromString(plain.data));
    return msg;
  }

  FakeHttpServer server_;
  pipeline::PipelineOptions popts_;
  pipeline::Pipeline pipeline_{&popts_};
  std::unique_ptr<HttpForwarder> fwd_;
  std::thread loop_;
};

TEST_F(HttpForwarderTest, PostsCompressedRawMessageWithHeaders) {
  ForwarderOptions o;
  o.custom_headers = {{"X-Team", "metrics"}};
  Start(o);
  EXPECT_EQ(fwd_->SentRecentlyCheck().second, "sentRecently: never sent");
  EXPECT_FALSE(fwd_->LastSuccessfulSend().has_value());
  fwd_->SendMetrics(SampleMap());
  auto reqs = server_.WaitFor(1);
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v2/raw");
  EXPECT_EQ(r.Header("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(r.Header("User-Agent"), "gostatsd (http forwarder)");
  EXPECT_EQ(r.Header("Content-Encoding"), "deflate");
  EXPECT_EQ(r.Header("X-Team"), "metrics");
  const auto msg = Decode(r, wire::Compression::kZlib);
  const auto& c = msg.counters().at("hits").tagmap().at("region:eu,s:10.0.0.9");
  EXPECT_EQ(c.value(), 8);
  EXPECT_EQ(c.hostname(), "10.0.0.9");
  Settle();
  const ForwarderStats s = fwd_->TakeStats();
  EXPECT_EQ(s.created, 1u);
  EXPECT_EQ(s.sent, 1u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.invalid, 0u);
  EXPECT_GE(s.post_latency_max_ms, 0);
  EXPECT_GE(s.post_latency_sum_ms, s.post_latency_max_ms);
  EXPECT_TRUE(fwd_->LastSuccessfulSend().has_value());
  EXPECT_TRUE(fwd_->SentRecentlyCheck().first);
  EXPECT_THAT(fwd_->SentRecentlyCheck().second, StartsWith("sentRecently: lastSend="));
  // Deltas: a second read is zero.
  EXPECT_EQ(fwd_->TakeStats().sent, 0u);
}

TEST_F(HttpForwarderTest, Lz4AndNoCompression) {
  for (auto c : {wire::Compression::kLz4, wire::Compression::kNone}) {
    SCOPED_TRACE(std::string(wire::ContentEncoding(c)));
    FakeHttpServer server;
    ForwarderOptions o;
    o.api_endpoint = server.url();
    o.compression = c;
    auto f = HttpForwarder::Create(o, transport::TransportOptions{});
    ASSERT_TRUE(f.ok());
    std::thread loop([&] { (*f)->Run(); });
    (*f)->SendMetrics(SampleMap());
    auto reqs = server.WaitFor(1);
    (*f)->Stop(std::chrono::steady_clock::now() + 10s);
    loop.join();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].Header("Content-Encoding"), wire::ContentEncoding(c));
    EXPECT_EQ(Decode(reqs[0], c).counters().at("hits").tagmap().begin()->second.value(), 8);
  }
}

TEST_F(HttpForwarderTest, A500IsRetriedAndSent) {
  server_.Script({500, 202});
  Start({});
  fwd_->SendMetrics(SampleMap());
  Settle();
  EXPECT_EQ(server_.requests().size(), 2u);
  const ForwarderStats s = fwd_->TakeStats();
  EXPECT_EQ(s.created, 1u);
  EXPECT_EQ(s.retried, 1u);
  EXPECT_EQ(s.sent, 1u);
  EXPECT_EQ(s.dropped, 0u);
}

TEST_F(HttpForwarderTest, A400WithFastFailIsDroppedAtOnce) {
  server_.Script({400, 202});
  ForwarderOptions o;
  o.fast_fail_on_non_retryable_errors = true;
  Start(o);
  fwd_->SendMetrics(SampleMap());
  Settle();
  EXPECT_EQ(server_.requests().size(), 1u);
  const ForwarderStats s = fwd_->TakeStats();
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(s.sent, 0u);
  EXPECT_FALSE(fwd_->LastSuccessfulSend().has_value());
}

TEST_F(HttpForwarderTest, A400WithoutFastFailIsRetriedUntilTheBudget) {
  server_.Script(std::vector<int>(100, 400));
  ForwarderOptions o;
  o.max_request_elapsed_time = 300ms;
  Start(o);
  fwd_->SendMetrics(SampleMap());
  Settle();
  const ForwarderStats s = fwd_->TakeStats();
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_GE(s.retried, 1u);
  EXPECT_EQ(s.sent, 0u);
  EXPECT_EQ(server_.requests().size(), s.retried + 1);
}

TEST_F(HttpForwarderTest, AnUnreachableAggregatorIsRetriedThenDropped) {
  ForwarderOptions o;
  o.api_endpoint = "http://127.0.0.1:" + std::to_string(cstatsd::testing::UnusedPort());
  o.max_request_elapsed_time = 300ms;
  Start(o);
  fwd_->SendMetrics(SampleMap());
  Settle();
  const ForwarderStats s = fwd_->TakeStats();
  EXPECT_GE(s.retried, 1u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(s.sent, 0u);
}

TEST_F(HttpForwarderTest, EventsGoOneByOneToV2Event) {
  Start({});
  Event e;
  e.title = "t1";
  e.source = "1.2.3.4";
  fwd_->SendEvent(e);
  e.title = "t2";
  fwd_->SendEvent(e);
  auto reqs = server_.WaitFor(2);
  ASSERT_EQ(reqs.size(), 2u);
  std::set<std::string> titles;
  for (const auto& r : reqs) {
    EXPECT_EQ(r.path, "/v2/event");
    EXPECT_EQ(r.Header("Content-Encoding"), "deflate");
    pb::EventV2 ev;  // the body was inflated by cpp-httplib
    ASSERT_TRUE(ev.ParseFromString(r.body));
    EXPECT_EQ(ev.hostname(), "1.2.3.4");
    EXPECT_EQ(ev.sourceip(), "1.2.3.4");
    titles.insert(ev.title());
  }
  EXPECT_EQ(titles, (std::set<std::string>{"t1", "t2"}));
}

TEST_F(HttpForwarderTest, DynamicHeadersSplitRequests) {
  ForwarderOptions o;
  o.dynamic_headers = {"region"};
  Start(o);
  MetricMap m = SampleMap({"region:eu"});
  ParsedMetric p;
  p.type = MetricType::kGauge;
  p.name = "g";
  p.values = {1};
  p.tags = {"region:us"};
  pipeline_.Receive(p, "", 1, m);
  fwd_->SendMetrics(m);
  auto reqs = server_.WaitFor(2);
  ASSERT_EQ(reqs.size(), 2u);
  std::set<std::string> regions;
  for (const auto& r : reqs) regions.insert(r.Header("Region"));
  EXPECT_EQ(regions, (std::set<std::string>{"eu", "us"}));
  Settle();
  EXPECT_EQ(fwd_->TakeStats().created, 2u);
}

TEST_F(HttpForwarderTest, AnEmptyMapSendsNothing) {
  Start({});
  fwd_->SendMetrics(MetricMap{});
  Settle();
  EXPECT_TRUE(server_.requests().empty());
  EXPECT_EQ(fwd_->TakeStats().created, 0u);
}

TEST_F(HttpForwarderTest, WhenSentWithNothingPendingRunsAtOnce) {
  Start({});
  bool ran = false;
  fwd_->WhenSent([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST_F(HttpForwarderTest, WhenSentWaitsForEveryEarlierRequestRetriesIncluded) {
  Start({});
  server_.Script({503});  // the metrics request is retried once
  fwd_->SendMetrics(SampleMap());
  Event e;
  e.title = "deploy";
  fwd_->SendEvent(e);
  std::promise<ForwarderStats> at_callback;
  fwd_->WhenSent([&] { at_callback.set_value(fwd_->TakeStats()); });
  auto f = at_callback.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  const ForwarderStats s = f.get();
  EXPECT_EQ(s.sent, 2u);  // both delivered before the callback ran
  EXPECT_EQ(s.retried, 1u);
  EXPECT_EQ(server_.WaitFor(3).size(), 3u);
}

TEST_F(HttpForwarderTest, WhenSentRunsForARequestGivenUp) {
  ForwarderOptions o;
  o.max_request_elapsed_time = -1ns;  // never retry: a 400 gives up at once
  Start(o);
  server_.Script({400, 503, 503, 503});
  fwd_->SendMetrics(SampleMap());
  std::promise<void> first;
  fwd_->WhenSent([&] { first.set_value(); });
  ASSERT_EQ(first.get_future().wait_for(20s), std::future_status::ready);
  EXPECT_EQ(fwd_->TakeStats().dropped, 1u);
}

}  // namespace
}  // namespace cstatsd::forward
