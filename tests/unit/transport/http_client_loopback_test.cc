// HttpClient against a local cpp-httplib server: what goes on the wire, retries of 5xx and of
// an unreachable server, fast-fail, the retry budget, the bounded queue, shutdown.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "transport/http_client.h"
#include "unit/support/fake_http_server.h"

namespace cstatsd::transport {
namespace {

using namespace std::chrono_literals;
using cstatsd::testing::FakeHttpServer;

class HttpClientTest : public ::testing::Test {
 protected:
  void StartClient(ClientOptions co = {}) {
    auto c = HttpClient::Create(TransportOptions{}, co);
    ASSERT_TRUE(c.ok()) << c.error();
    client_ = std::move(*c);
    loop_ = std::thread([this] { client_->Run(); });
  }
  void TearDown() override {
    if (client_) {
      client_->Shutdown();
      if (loop_.joinable()) loop_.join();
    }
  }
  // Short backoffs so that retries do not make the test slow (the schedule itself is tested
  // with a fake clock in retry_test.cc).
  static RetryOptions FastRetries(Duration budget, bool fast_fail = false) {
    RetryOptions r;
    r.max_elapsed_time = budget;
    r.fast_fail_non_retryable = fast_fail;
    r.backoff.initial_interval = 20ms;
    return r;
  }
  static HttpRequest Post(const std::string& url, std::string body = "payload") {
    HttpRequest req;
    req.url = url;
    req.headers = {{"Content-Type", "application/x-protobuf"}, {"X-Custom", "yes"}};
    req.body = std::move(body);
    return req;
  }

  FakeHttpServer server_;
  std::unique_ptr<HttpClient> client_;
  std::thread loop_;
};

TEST_F(HttpClientTest, SendsMethodPathHeadersAndBody) {
  StartClient();
  std::string body(100000, 'x');  // large enough that libcurl would send Expect: 100-continue
  body[0] = 'y';
  Outcome o = client_->SendAndWait(Post(server_.url() + "/v2/raw", body), FastRetries(5s));
  EXPECT_EQ(o.completion, Completion::kSent);
  EXPECT_EQ(o.last.status, 202);
  EXPECT_EQ(o.attempts, 1);
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/v2/raw");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(reqs[0].Header("X-Custom"), "yes");
  EXPECT_EQ(reqs[0].Header("Expect"), "");
  EXPECT_EQ(reqs[0].body, body);
}

TEST_F(HttpClientTest, A500IsRetriedThenSent) {
  StartClient();
  server_.Script({500, 202});
  int retries = 0;
  Outcome o = client_->SendAndWait(Post(server_.url() + "/x"), FastRetries(10s),
                                   [&](const HttpResponse& r, Duration) {
                                     EXPECT_EQ(r.status, 500);
                                     ++retries;
                                   });
  EXPECT_EQ(o.completion, Completion::kSent);
  EXPECT_EQ(o.attempts, 2);
  EXPECT_EQ(retries, 1);
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(HttpClientTest, A400WithFastFailIsDroppedAtOnce) {
  StartClient();
  server_.Script({400, 202});
  int retries = 0;
  Outcome o = client_->SendAndWait(Post(server_.url() + "/x"), FastRetries(10s, true),
                                   [&](const HttpResponse&, Duration) { ++retries; });
  EXPECT_EQ(o.completion, Completion::kGaveUp);
  EXPECT_EQ(o.last.status, 400);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(retries, 0);
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(HttpClientTest, A400WithoutFastFailIsRetriedUntilTheBudget) {
  StartClient();
  server_.Script(std::vector<int>(1000, 400));
  Outcome o = client_->SendAndWait(Post(server_.url() + "/x"), FastRetries(300ms));
  EXPECT_EQ(o.completion, Completion::kGaveUp);
  EXPECT_EQ(o.last.status, 400);
  EXPECT_GE(o.attempts, 2);
  EXPECT_EQ(server_.requests().size(), static_cast<size_t>(o.attempts));
}

TEST_F(HttpClientTest, NoRetriesWithMinusOne) {
  StartClient();
  server_.Script({503, 202});
  Outcome o = client_->SendAndWait(Post(server_.url() + "/x"), FastRetries(-1ns));
  EXPECT_EQ(o.completion, Completion::kGaveUp);
  EXPECT_EQ(o.attempts, 1);
}

TEST_F(HttpClientTest, AnUnreachableServerIsRetried) {
  StartClient();
  const int port = cstatsd::testing::UnusedPort();
  int retries = 0;
  Outcome o = client_->SendAndWait(Post("http://127.0.0.1:" + std::to_string(port) + "/x"),
                                   FastRetries(200ms), [&](const HttpResponse& r, Duration) {
                                     EXPECT_EQ(r.status, 0);
                                     EXPECT_FALSE(r.error.empty());
                                     ++retries;
                                   });
  EXPECT_EQ(o.completion, Completion::kGaveUp);
  EXPECT_EQ(o.last.status, 0);
  EXPECT_GE(o.attempts, 2);
  EXPECT_EQ(retries, o.attempts - 1);
}

TEST_F(HttpClientTest, RetryAfterIsReadAndHonoured) {
  StartClient();
  server_.Script({429, 202});
  server_.SetRetryAfter("1");
  RetryOptions r = FastRetries(10s);
  r.honour_retry_after = true;
  Duration waited{};
  Outcome o = client_->SendAndWait(Post(server_.url() + "/x"), r,
                                   [&](const HttpResponse& resp, Duration wait) {
                                     EXPECT_EQ(resp.retry_after, "1");
                                     waited = wait;
                                   });
  EXPECT_EQ(o.completion, Completion::kSent);
  EXPECT_EQ(waited, 1s);  // the header's second, not the 20 ms backoff
}

TEST_F(HttpClientTest, ConcurrentRequestsAllComplete) {
  StartClient({.max_in_flight = 4, .max_queued = 100});
  std::vector<std::future<Outcome>> outs;
  for (int i = 0; i < 20; ++i) {
    outs.push_back(std::async(std::launch::async, [&, i] {
      return client_->SendAndWait(Post(server_.url() + "/n" + std::to_string(i)), FastRetries(5s));
    }));
  }
  for (auto& f : outs) EXPECT_EQ(f.get().completion, Completion::kSent);
  EXPECT_EQ(server_.requests().size(), 20u);
  EXPECT_TRUE(client_->Drain(SteadyClock::now() + 5s));
  EXPECT_EQ(client_->outstanding(), 0u);
}

TEST(HttpClientHeaderTimeoutTest, ASlowServerHitsResponseHeaderTimeout) {
  httplib::Server slow;
  slow.Post(".*", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1500ms);
    res.status = 202;
  });
  const int port = slow.bind_to_any_port("127.0.0.1");
  std::thread server([&] { slow.listen_after_bind(); });
  TransportOptions t;
  t.response_header_timeout = 200ms;
  auto c = HttpClient::Create(t, {});
  ASSERT_TRUE(c.ok());
  std::thread loop([&] { (*c)->Run(); });
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  req.body = "x";
  RetryOptions once;
  once.max_elapsed_time = -1ns;
  Outcome o = (*c)->SendAndWait(std::move(req), once);
  EXPECT_EQ(o.completion, Completion::kGaveUp);
  EXPECT_EQ(o.last.status, 0);
  EXPECT_EQ(o.last.error, "timeout awaiting response headers");
  (*c)->Shutdown();
  loop.join();
  slow.stop();
  server.join();
}

TEST(HttpClientQueueTest, AFullQueueDropsTheOldest) {
  // No loop running yet: requests stay queued, so the overflow is deterministic.
  auto c = HttpClient::Create(TransportOptions{}, {.max_in_flight = 1, .max_queued = 2});
  ASSERT_TRUE(c.ok());
  std::vector<std::pair<int, Completion>> done;
  for (int i = 0; i < 3; ++i) {
    HttpRequest r;
    r.url = "http://127.0.0.1:1/";
    (*c)->Send(std::move(r), {},
               {[&done, i](const Outcome& o) { done.emplace_back(i, o.completion); }, nullptr});
  }
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].first, 0);
  EXPECT_EQ(done[0].second, Completion::kDropped);
  EXPECT_EQ((*c)->outstanding(), 2u);
  c->reset();  // never ran: the two left are aborted
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[1].second, Completion::kAborted);
  EXPECT_EQ(done[2].second, Completion::kAborted);
}

TEST(HttpClientShutdownTest, PendingRequestsAreAbortedAndCounted) {
  auto c = HttpClient::Create(TransportOptions{}, {});
  ASSERT_TRUE(c.ok());
  HttpClient& client = **c;
  std::thread loop([&] { client.Run(); });
  const int port = cstatsd::testing::UnusedPort();
  std::promise<Outcome> p;
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  RetryOptions forever;
  forever.max_elapsed_time = 1h;
  client.Send(std::move(r), forever, {[&](const Outcome& o) { p.set_value(o); }, nullptr});
  EXPECT_FALSE(client.Drain(SteadyClock::now() + 100ms));  // still retrying
  client.Shutdown();
  loop.join();
  Outcome o = p.get_future().get();
  EXPECT_EQ(o.completion, Completion::kAborted);
  EXPECT_EQ(client.outstanding(), 0u);
}

}  // namespace
}  // namespace cstatsd::transport
