// BlockingHttpClient (the blocking face of the HTTP client) against the shared fake server on
// 127.0.0.1: what goes on the wire, bodies and their cap, headers, streaming, Abort() and a
// caller's cancellation, timeouts and an unreachable server.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "transport/blocking_http_client.h"
#include "unit/support/fake_http_server.h"

namespace cstatsd::transport {
namespace {

using namespace std::chrono_literals;
using cstatsd::testing::FakeHttpServer;

// Answers /body with "hello world", /big with 100 KiB, /stream with three chunks, /slow after
// 1 s (on a thread of the server), anything else with 404 and a short body.
void Serve(const httplib::Request& req, httplib::Response& res) {
  res.set_header("X-Answer", " forty-two ");
  if (req.path == "/body") {
    res.set_content("hello world", "text/plain");
  } else if (req.path == "/echo") {
    res.set_content(req.method + " " + req.body + " " + req.get_header_value("X-Custom"),
                    "text/plain");
  } else if (req.path == "/big") {
    res.set_content(std::string(100 << 10, 'x'), "text/plain");
  } else if (req.path == "/stream") {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset >= 3) {
        sink.done();
        return true;
      }
      const char c = static_cast<char>('a' + offset);
      sink.write(&c, 1);
      return true;
    });
  } else if (req.path == "/slow") {
    std::this_thread::sleep_for(1s);
    res.set_content("late", "text/plain");
  } else {
    res.status = 404;
    res.set_content("not here", "text/plain");
  }
}

class BlockingHttpClientTest : public ::testing::Test {
 protected:
  HttpRequest Get(const std::string& path) const {
    HttpRequest r;
    r.method = "GET";
    r.url = server_.url() + path;
    return r;
  }

  FakeHttpServer server_{Serve};
  BlockingHttpClient client_;
};

TEST_F(BlockingHttpClientTest, GetsTheBody) {
  const BlockingResponse r = client_.Do(Get("/body"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.body, "hello world");
  EXPECT_TRUE(r.headers.empty());  // not asked for
}

TEST_F(BlockingHttpClientTest, SendsMethodHeadersAndBody) {
  HttpRequest req = Get("/echo");
  req.method = "PUT";
  req.body = "payload";
  req.headers = {{"X-Custom", "yes"}};
  const BlockingResponse r = client_.Do(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "PUT payload yes");
  const auto got = server_.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Header("Expect"), "");  // never 100-continue
}

TEST_F(BlockingHttpClientTest, KeepsHeadersInLowerCase) {
  CallOptions call;
  call.keep_headers = true;
  const BlockingResponse r = client_.Do(Get("/body"), call);
  ASSERT_TRUE(r.headers.count("x-answer"));
  EXPECT_EQ(r.headers.at("x-answer"), "forty-two");
}

TEST_F(BlockingHttpClientTest, AnErrorStatusIsAResponse) {
  const BlockingResponse r = client_.Do(Get("/missing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.body, "not here");
}

TEST_F(BlockingHttpClientTest, ABodyOverTheCapIsAnError) {
  CallOptions call;
  call.max_body = 1024;
  const BlockingResponse r = client_.Do(Get("/big"), call);
  EXPECT_EQ(r.error, "response body larger than 1024 bytes");
  EXPECT_EQ(r.body.size(), 1024u);
  // The connection is still good for the next request.
  EXPECT_EQ(client_.Do(Get("/body")).body, "hello world");
}

TEST_F(BlockingHttpClientTest, StreamsChunksAndTicks) {
  std::string got;
  int ticks = 0;
  CallOptions call;
  call.on_data = [&](std::string_view d) {
    got.append(d);
    return true;
  };
  call.tick = [&] { ++ticks; };
  const BlockingResponse r = client_.Do(Get("/stream"), call);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(got, "abc");
  EXPECT_EQ(r.body, "");
  EXPECT_GE(ticks, 1);
}

TEST_F(BlockingHttpClientTest, TheSinkCanEndAStream) {
  CallOptions call;
  call.on_data = [](std::string_view) { return false; };
  const BlockingResponse r = client_.Do(Get("/stream"), call);
  EXPECT_TRUE(r.ended_by_caller);
  EXPECT_EQ(r.error, "");
}

TEST_F(BlockingHttpClientTest, AStreamsErrorBodyIsKept) {
  CallOptions call;
  bool called = false;
  call.on_data = [&](std::string_view) { return called = true; };
  const BlockingResponse r = client_.Do(Get("/missing"), call);
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(called);
  EXPECT_EQ(r.body, "not here");
}

TEST_F(BlockingHttpClientTest, TimeoutEndsTheRequest) {
  CallOptions call;
  call.timeout = 200ms;
  const BlockingResponse r = client_.Do(Get("/slow"), call);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(BlockingHttpClientTest, CancelledEndsTheRequest) {
  std::atomic<int> polls{0};
  CallOptions call;
  call.cancelled = [&] { return ++polls > 2; };
  const BlockingResponse r = client_.Do(Get("/slow"), call);
  EXPECT_TRUE(r.aborted);
  EXPECT_EQ(r.error, "aborted");
}

TEST_F(BlockingHttpClientTest, AbortEndsTheAbortableOnly) {
  client_.Abort();
  EXPECT_TRUE(client_.aborted());
  const BlockingResponse r = client_.Do(Get("/body"));
  EXPECT_TRUE(r.aborted);
  EXPECT_EQ(r.error, "aborted");
  EXPECT_TRUE(server_.requests().empty());  // not sent at all
  CallOptions call;
  call.abortable = false;
  EXPECT_EQ(client_.Do(Get("/body"), call).body, "hello world");
}

TEST(BlockingHttpClientUnreachableTest, NoServerIsAnError) {
  BlockingHttpClient client;
  HttpRequest req;
  req.method = "GET";
  req.url = "http://127.0.0.1:" + std::to_string(cstatsd::testing::UnusedPort()) + "/";
  CallOptions call;
  call.timeout = 5s;
  const BlockingResponse r = client.Do(req, call);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(r.aborted);
}

}  // namespace
}  // namespace cstatsd::transport
