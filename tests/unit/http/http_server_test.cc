// HttpServer on a loopback socket (port 0): deep checks registered at runtime, ingestion through
// the HTTP layer (the body read as sent, never inflated), and the Run/Stop lifecycle. Without
// sockets: request framing (CheckFraming) and the connection caps and deadlines
// (ConnectionTable, on an injected clock).
#include "http/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "gostatsd.pb.h"
#include "wire/compression.h"

namespace cstatsd::http {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions o) {
    o.name = "t";
    o.host = "127.0.0.1";
    o.port = 0;
    HttpServerDeps deps;
    deps.health = health_;
    deps.ingest = ingest_;
    deps.vars = [] { return nlohmann::json{{"answer", 42}}; };
    server_ = std::make_unique<HttpServer>(std::move(o), std::move(deps));
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::shared_ptr<HealthChecks> health_ = std::make_shared<HealthChecks>();
  std::shared_ptr<IngestTarget> ingest_ =
      std::make_shared<IngestTarget>(pipeline::PipelineOptions{});
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, DeepCheckRunsTheRegisteredChecks) {
  Start(HttpServerOptions{});
  auto res = client_->Get("/deepcheck");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok":[],"failed":[]})");
  std::atomic<bool> sent{false};
  health_->AddDeepCheck("sentRecently", [&] {
    if (sent) return DeepCheckResult{true, "lastSend=2026-01-02T03:04:05Z"};
    return DeepCheckResult{false, "never sent"};
  });
  res = client_->Get("/deepcheck");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, R"({"ok":[],"failed":["sentRecently: never sent"]})");
  sent = true;
  res = client_->Get("/deepcheck");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok":["sentRecently: lastSend=2026-01-02T03:04:05Z"],"failed":[]})");
  // Liveness does not run the checks.
  sent = false;
  res = client_->Get("/healthcheck");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, IngestionReadsTheBodyAsSent) {
  HttpServerOptions o;
  o.enable_ingestion = true;
  o.enable_expvar = true;
  o.max_request_body_size = 1 << 20;
  Start(o);
  pb::RawMessageV2 msg;
  pb::RawCounterV2& c = (*(*msg.mutable_counters())["c"].mutable_tagmap())["k"];
  c.set_value(9);
  auto z = wire::Compress(wire::Compression::kZlib, msg.SerializeAsString(), 6);
  ASSERT_TRUE(z.ok());
  auto res = client_->Post("/v2/raw", {{"Content-Encoding", "deflate"}}, *z,
                           "multipart/form-data; boundary=x");  // Content-Type is ignored
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body, "");
  // A corrupt deflate body is a decompression failure (400), not httplib's own inflate error.
  res = client_->Post("/v2/raw", {{"Content-Encoding", "deflate"}}, "not deflate",
                      "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  // Beyond the limit as sent: 413 (read and dropped: up to 4 times the limit, the connection
  // stays usable).
  res = client_->Post("/v2/raw", std::string((1 << 20) + 1, 'x'), "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  // gzip is not one of gostatsd's encodings (httplib would have inflated it).
  res = client_->Post("/v2/raw", {{"Content-Encoding", "gzip"}}, *z, "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);

  const IngestCounters& n = server_->counters();
  EXPECT_EQ(n.success.load(), 1u);
  EXPECT_EQ(n.failure_decompress.load(), 1u);
  EXPECT_EQ(n.failure_too_large.load(), 1u);
  EXPECT_EQ(n.failure_encoding.load(), 1u);
  MetricMap& m = ingest_->SwapForFlush();
  ASSERT_EQ(m.counters.size(), 1u);
  EXPECT_EQ(m.counters.entries()[0].value.value, 9);

  res = client_->Get("/expvar");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["cstatsd"]["answer"], 42);
  EXPECT_TRUE(j["cmdline"].is_array());
}

TEST(HttpServerLifecycleTest, StopBeforeRunEndsRunAtOnce) {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  HttpServer server(o, HttpServerDeps{});
  ASSERT_TRUE(server.Bind().ok());
  server.Stop();
  std::thread t([&] { server.Run(); });
  EXPECT_TRUE(server.WaitStopped(std::chrono::seconds(10)));
  t.join();
}

TEST(HttpServerLifecycleTest, BindingATakenPortNamesTheKey) {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  HttpServer first(o, HttpServerDeps{});
  ASSERT_TRUE(first.Bind().ok());
  o.name = "second";
  o.port = first.port();
  o.address = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(o, HttpServerDeps{});
  const Status s = second.Bind();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("http.second.address: cannot listen on"), std::string::npos)
      << s.message();
}

// metrics-reuse-port: a new process binds the HTTP port while the old one runs
// (docs/restarts.md); the old listener (without reuse_port) refuses that, as above.
TEST(HttpServerLifecycleTest, ReusePortLetsASecondServerBindForAProcessHandOver) {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.reuse_port = true;
  HttpServer first(o, HttpServerDeps{});
  ASSERT_TRUE(first.Bind().ok());
  o.port = first.port();
  o.address = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(o, HttpServerDeps{});
  const Status s = second.Bind();
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(second.port(), first.port());
}

using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

TEST(CheckFramingTest, AcceptsWhatClientsSend) {
  Framing f = CheckFraming({{"Host", "x"}, {"Content-Length", "12"}}, 100);
  EXPECT_EQ(f.status, 0);
  EXPECT_EQ(f.content_length, 12);
  EXPECT_FALSE(f.chunked);
  f = CheckFraming({{"transfer-encoding", "Chunked"}}, 100);
  EXPECT_EQ(f.status, 0);
  EXPECT_TRUE(f.chunked);
  f = CheckFraming({{"content-length", " 0 "}}, 100);  // optional whitespace around the value
  EXPECT_EQ(f.status, 0);
  EXPECT_EQ(f.content_length, 0);
  f = CheckFraming({{"Content-Length", "7"}, {"Content-Length", "7"}}, 100);  // the same twice
  EXPECT_EQ(f.status, 0);
  EXPECT_EQ(f.content_length, 7);
  f = CheckFraming({{"Host", "x"}}, 100);
  EXPECT_EQ(f.status, 0);
  EXPECT_EQ(f.content_length, -1);
}

TEST(CheckFramingTest, RefusesEveryAmbiguousOrBadLength) {
  const std::pair<Headers, int> cases[] = {
      {{{"Content-Length", "abc"}}, 400},
      {{{"Content-Length", "-1"}}, 400},
      {{{"Content-Length", "+5"}}, 400},
      {{{"Content-Length", ""}}, 400},
      {{{"Content-Length", "1 2"}}, 400},
      {{{"Content-Length", "5, 5"}}, 400},
      {{{"Content-Length", "0x10"}}, 400},
      {{{"Content-Length", "99999999999999999999999"}}, 400},  // beyond int64
      {{{"Content-Length", "5"}, {"content-length", "6"}}, 400},
      {{{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}, 400},
      {{{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}, 400},
      {{{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}, 400},
      {{{"Transfer-Encoding", "gzip, chunked"}}, 501},
      {{{"Transfer-Encoding", "identity"}}, 501},
      {{{"Content-Length", "101"}}, 413},
  };
  for (const auto& [headers, want] : cases) {
    const Framing f = CheckFraming(headers, 100);
    EXPECT_EQ(f.status, want) << headers[0].first << ": " << headers[0].second;
    EXPECT_FALSE(f.reason.empty());
  }
}

class ConnectionTableTest : public ::testing::Test {
 protected:
  using Clock = ConnectionTable::Clock;
  using Phase = ConnectionTable::Phase;
  Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  ConnectionTable table{4, 2, std::chrono::seconds(10), std::chrono::seconds(60)};
};

TEST_F(ConnectionTableTest, CapsPerAddressAndInTotal) {
  Refusal why;
  ConnectionTable::Entry* evict = nullptr;
  ASSERT_TRUE(table.Admit("10.0.0.1", &why, &evict));
  auto* a1 = table.Add("10.0.0.1", 5, t0);
  ASSERT_TRUE(table.Admit("10.0.0.1", &why, &evict));
  auto* a2 = table.Add("10.0.0.1", 6, t0 + std::chrono::seconds(1));
  EXPECT_FALSE(table.Admit("10.0.0.1", &why, &evict));
  EXPECT_EQ(why, Refusal::kMaxConnectionsPerIp);
  EXPECT_TRUE(table.Admit("10.0.0.2", &why, &evict));  // another address is not refused
  EXPECT_EQ(evict, nullptr);
  auto* b = table.Add("10.0.0.2", 7, t0 + std::chrono::seconds(2));
  auto* c = table.Add("10.0.0.3", 8, t0 + std::chrono::seconds(3));
  table.Remove(a1);  // a closed connection frees its place in both counts
  EXPECT_EQ(table.from("10.0.0.1"), 1);
  EXPECT_TRUE(table.Admit("10.0.0.1", &why, &evict));
  EXPECT_EQ(evict, nullptr);
  EXPECT_EQ(table.size(), 3u);
  // Full: the connection waiting longest for its headers makes room; one with a request in
  // progress never does.
  table.Add("10.0.0.5", 9, t0 + std::chrono::seconds(4));
  ConnectionTable::Enter(a2, Phase::kBody, t0 + std::chrono::seconds(5));
  ASSERT_TRUE(table.Admit("10.0.0.4", &why, &evict));
  EXPECT_EQ(evict, b);
  EXPECT_TRUE(b->cut);
  ASSERT_TRUE(table.Admit("10.0.0.4", &why, &evict));
  EXPECT_EQ(evict, c);  // b is being closed already
  ConnectionTable::Enter(table.Add("10.0.0.6", 10, t0), Phase::kWorking, t0);
  for (int i = 0; i < 2; ++i) table.Admit("10.0.0.4", &why, &evict);  // the rest in kHead
  EXPECT_FALSE(table.Admit("10.0.0.4", &why, &evict));
  EXPECT_EQ(why, Refusal::kMaxConnections);
  EXPECT_EQ(evict, nullptr);
}

TEST_F(ConnectionTableTest, HeaderDeadlineIsNotRestartedByTraffic) {
  auto* slow = table.Add("10.0.0.1", 5, t0);
  auto* quick = table.Add("10.0.0.2", 6, t0);
  ConnectionTable::Enter(quick, Phase::kBody, t0 + std::chrono::seconds(1));  // headers read
  EXPECT_TRUE(table.Expired(t0 + std::chrono::seconds(10)).empty());
  auto cut = table.Expired(t0 + std::chrono::seconds(10) + std::chrono::milliseconds(1));
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].first, slow);
  EXPECT_EQ(cut[0].second, Refusal::kHeaderTimeout);
  EXPECT_TRUE(table.Expired(t0 + std::chrono::seconds(11)).empty());  // reported once
  // The body's deadline runs from the start of the request, not from the end of the headers.
  cut = table.Expired(t0 + std::chrono::seconds(61));
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].first, quick);
  EXPECT_EQ(cut[0].second, Refusal::kRequestTimeout);
}

TEST_F(ConnectionTableTest, OurWorkIsNotTheClientsTime) {
  auto* e = table.Add("10.0.0.1", 5, t0);
  ConnectionTable::Enter(e, Phase::kBody, t0 + std::chrono::seconds(5));
  ConnectionTable::Enter(e, Phase::kWorking, t0 + std::chrono::seconds(50));
  EXPECT_TRUE(table.Expired(t0 + std::chrono::hours(1)).empty());  // ingestion threads busy
  // Answering: a fresh request-timeout.
  ConnectionTable::Enter(e, Phase::kBody, t0 + std::chrono::hours(1));
  EXPECT_TRUE(table.Expired(t0 + std::chrono::hours(1) + std::chrono::seconds(59)).empty());
  // Answered: the next request's head has header-timeout from the end of the answer.
  e->head_started = true;
  ConnectionTable::Enter(e, Phase::kHead, t0 + std::chrono::hours(2));
  EXPECT_FALSE(e->head_started);
  EXPECT_TRUE(table.Expired(t0 + std::chrono::hours(2) + std::chrono::seconds(10)).empty());
  EXPECT_EQ(table.Expired(t0 + std::chrono::hours(2) + std::chrono::seconds(11)).size(), 1u);
}

TEST_F(ConnectionTableTest, AShorterRequestTimeoutAlsoBoundsTheHead) {
  ConnectionTable t(4, 2, std::chrono::seconds(30), std::chrono::seconds(5));
  t.Add("10.0.0.1", 5, t0);
  auto cut = t.Expired(t0 + std::chrono::seconds(6));
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].second, Refusal::kRequestTimeout);
}

TEST(RefusalTest, Names) {
  EXPECT_EQ(RefusalName(Refusal::kMaxConnections), "max-connections");
  EXPECT_EQ(RefusalName(Refusal::kMaxConnectionsPerIp), "max-connections-per-ip");
  EXPECT_EQ(RefusalName(Refusal::kBadHead), "bad-head");
  EXPECT_EQ(RefusalName(Refusal::kBadFraming), "bad-framing");
  EXPECT_EQ(RefusalName(Refusal::kHeaderTimeout), "header-timeout");
  EXPECT_EQ(RefusalName(Refusal::kRequestTimeout), "request-timeout");
}

}  // namespace
}  // namespace cstatsd::http
