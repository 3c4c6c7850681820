// HttpForwarder with several aggregators (docs/forwarder.md#sharding, docs/forwarder.md#health)
// against local cpp-httplib servers: every series goes whole to the ring's choice; an aggregator
// that fails leaves the ring and the payload it failed is re-routed to the others, nothing lost or
// counted twice; it is probed and rejoins; events go to one aggregator each.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "forward/http_forwarder.h"
#include "gostatsd.pb.h"
#include "pipeline/pipeline.h"
#include "unit/support/fake_http_server.h"

namespace cstatsd::forward {
namespace {

using namespace std::chrono_literals;
using cstatsd::testing::FakeHttpServer;
using cstatsd::testing::RecordedRequest;

constexpr int kSeries = 300;

// An aggregator that answers 500 while `down`.
struct Aggregator {
  std::atomic<bool> down{false};
  FakeHttpServer server{[this](const httplib::Request&, httplib::Response& res) {
    res.status = down.load() ? 500 : 202;
  }};
};

// "name|tagsKey" of every series in the accepted /v2/raw bodies.
std::multiset<std::string> Series(const std::vector<RecordedRequest>& reqs) {
  std::multiset<std::string> out;
  for (const RecordedRequest& r : reqs) {
    if (r.path != "/v2/raw" || r.status != 202) continue;
    pb::RawMessageV2 m;  // cpp-httplib has inflated the deflate body already
    EXPECT_TRUE(m.ParseFromString(r.body));
    for (const auto& [name, t] : m.counters()) {
      for (const auto& [key, raw] : t.tagmap()) out.insert(name + "|" + key);
    }
  }
  return out;
}

class ShardedForwarderTest : public ::testing::Test {
 protected:
  void Start(int threshold = 1) {
    ForwarderOptions o;
    for (auto& a : aggs_) o.api_endpoints.push_back(a.server.url());
    o.endpoint_failure_threshold = threshold;
    o.max_request_elapsed_time = 20s;
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
  MetricMap Map() {
    MetricMap m;
    for (int i = 0; i < kSeries; ++i) {
      const std::string name = "requests." + std::to_string(i);
      ParsedMetric p;
      p.type = MetricType::kCounter;
      p.name = name;
      p.values = {1};
      p.tags = {"env:prod"};
      pipeline_.Receive(p, "", 1, m);
    }
    return m;
  }
  std::multiset<std::string> AllSeries(size_t* at_most_one_each = nullptr) {
    std::multiset<std::string> all;
    size_t busy = 0;
    for (auto& a : aggs_) {
      auto s = Series(a.server.requests());
      if (!s.empty()) ++busy;
      all.insert(s.begin(), s.end());
    }
    if (at_most_one_each != nullptr) *at_most_one_each = busy;
    return all;
  }
  const EndpointStatus& StatusOf(const std::vector<EndpointStatus>& all, const Aggregator& a) {
    for (const auto& s : all) {
      if (s.url == a.server.url()) return s;
    }
    ADD_FAILURE() << "no status for " << a.server.url();
    return all.front();
  }

  Aggregator aggs_[3];
  pipeline::PipelineOptions popts_;
  pipeline::Pipeline pipeline_{&popts_};
  std::unique_ptr<HttpForwarder> fwd_;
  std::thread loop_;
};

TEST_F(ShardedForwarderTest, EverySeriesGoesWholeToOneAggregator) {
  Start();
  fwd_->SendMetrics(Map());
  fwd_->SendMetrics(Map());  // a second flush: each series to the same aggregator again
  ASSERT_TRUE(fwd_->Stop(std::chrono::steady_clock::now() + 20s));
  std::map<std::string, std::set<int>> where;
  for (int i = 0; i < 3; ++i) {
    const auto reqs = aggs_[i].server.requests();
    EXPECT_EQ(reqs.size(), 2u) << "one request per flush per aggregator";
    for (const auto& s : Series(reqs)) where[s].insert(i);
    // Each holds about a third (binomial, σ ≈ 8 of 100).
    EXPECT_NEAR(static_cast<double>(Series(reqs).size()), 2.0 * kSeries / 3, 60.0);
  }
  ASSERT_EQ(where.size(), static_cast<size_t>(kSeries));
  for (const auto& [series, at] : where) EXPECT_EQ(at.size(), 1u) << series;
  EXPECT_EQ(AllSeries().size(), 2u * kSeries);
}

TEST_F(ShardedForwarderTest, AFailingAggregatorsSeriesAreReRoutedNotLost) {
  aggs_[1].down = true;
  Start(/*threshold=*/1);
  fwd_->SendMetrics(Map());
  ASSERT_TRUE(fwd_->Stop(std::chrono::steady_clock::now() + 20s));
  const auto all = AllSeries();
  EXPECT_EQ(all.size(), static_cast<size_t>(kSeries));                          // nothing lost
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());  // nor twice
  EXPECT_TRUE(Series(aggs_[1].server.requests()).empty());
  const auto totals = fwd_->EndpointTotals();
  const EndpointStatus& b = StatusOf(totals, aggs_[1]);
  EXPECT_FALSE(b.up);
  EXPECT_GE(b.counts.failures, 1u);
  EXPECT_GT(b.counts.rerouted_series, 50u);  // its share, about 100
  EXPECT_EQ(b.counts.dropped_series, 0u);
  uint64_t dropped = 0;
  for (const auto& s : totals) dropped += s.counts.dropped_series;
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(fwd_->Totals().dropped, 0u);
}

TEST_F(ShardedForwarderTest, ItStaysOutUntilItAnswersAProbeThenGetsItsSeriesBack) {
  aggs_[2].down = true;
  Start(/*threshold=*/1);
  fwd_->SendMetrics(Map());
  // Out of the ring; the next flushes send it nothing but probes.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (StatusOf(fwd_->EndpointTotals(), aggs_[2]).up &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_FALSE(StatusOf(fwd_->EndpointTotals(), aggs_[2]).up);
  const size_t before = aggs_[2].server.requests().size();
  fwd_->SendMetrics(Map());
  aggs_[2].down = false;
  // Flushes (empty ones too) send the probes that are due (1 s after it left, then 2 s, ...).
  while (!StatusOf(fwd_->EndpointTotals(), aggs_[2]).up &&
         std::chrono::steady_clock::now() < deadline) {
    fwd_->SendMetrics(MetricMap{});
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(StatusOf(fwd_->EndpointTotals(), aggs_[2]).up);
  // Between leaving and rejoining it got probes only: empty messages.
  const auto reqs = aggs_[2].server.requests();
  for (size_t i = before; i < reqs.size(); ++i) EXPECT_TRUE(reqs[i].body.empty()) << i;
  fwd_->SendMetrics(Map());
  ASSERT_TRUE(fwd_->Stop(std::chrono::steady_clock::now() + 20s));
  EXPECT_GT(Series(aggs_[2].server.requests()).size(), 50u);  // its share again
}

TEST_F(ShardedForwarderTest, EventsGoToOneAggregatorEach) {
  Start();
  for (int i = 0; i < 6; ++i) {
    Event e;
    e.title = "deploy " + std::to_string(i);
    fwd_->SendEvent(e);
  }
  ASSERT_TRUE(fwd_->Stop(std::chrono::steady_clock::now() + 20s));
  size_t events = 0;
  for (auto& a : aggs_) {
    size_t here = 0;
    for (const auto& r : a.server.requests()) here += r.path == "/v2/event";
    EXPECT_EQ(here, 2u);  // in turn
    events += here;
  }
  EXPECT_EQ(events, 6u);
}

}  // namespace
}  // namespace cstatsd::forward
