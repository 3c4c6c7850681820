// BackendRunner with a real HTTP client against a loopback listener that never answers: the
// shutdown deadline abandons the request in flight (a socket test, so `loopback`, not `unit`).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/backend_runner.h"
#include "transport/http_client.h"

namespace cstatsd::server {
namespace {

snapshot::SnapshotPtr Snap(int64_t t) {
  auto s = std::make_shared<snapshot::FlushSnapshot>();
  s->flush_time_ns = t;
  return s;
}

// An HTTP backend whose request never gets an answer: a listener accepts the connection (the
// kernel's backlog) and never reads.
class SilentHttpBackend : public backends::Backend {
 public:
  explicit SilentHttpBackend(int port) {
    transport::TransportOptions t;
    t.client_timeout = std::chrono::seconds(60);
    client_ = transport::HttpClient::Create(t).value();
    url_ = "http://127.0.0.1:" + std::to_string(port) + "/";
  }
  std::string_view Name() const override { return "silent"; }
  transport::HttpClient* http_client() override { return client_.get(); }
  Status SendMetrics(const snapshot::FlushSnapshot&) override {
    transport::HttpRequest req;
    req.url = url_;
    req.body = "x";
    const transport::Outcome o = client_->SendAndWait(req, transport::RetryOptions{}, nullptr);
    if (o.completion == transport::Completion::kSent) return {};
    return Status::Error("not sent");
  }
  Status SendEvent(const Event&) override { return {}; }

 private:
  std::unique_ptr<transport::HttpClient> client_;
  std::string url_;
};

// At the shutdown deadline the queued flush is dropped and the request in flight abandoned; the
// thread then returns and is joined, so Stop says the runner may be destroyed (the server used
// to keep every such runner alive forever, which LeakSanitizer reported).
TEST(BackendRunnerTest, AbandonedRequestsLetTheThreadBeJoined) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  auto owned = std::make_unique<SilentHttpBackend>(ntohs(addr.sin_port));
  SilentHttpBackend* b = owned.get();
  BackendRunner r(std::move(owned), /*queue_size=*/3, /*event_queue_size=*/10);
  r.Start();
  r.EnqueueMetrics(Snap(1));  // hangs waiting for an answer
  r.EnqueueMetrics(Snap(2));  // queued behind it
  EXPECT_TRUE(r.Stop(std::chrono::milliseconds(200)));
  EXPECT_EQ(b->stats().dropped.load(), 2u);  // the queued one and the abandoned one
  EXPECT_EQ(b->stats().sent.load(), 0u);
  close(listener);
}

}  // namespace
}  // namespace cstatsd::server
